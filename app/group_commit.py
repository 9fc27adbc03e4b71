"""Group commit: concurrent callers' items are decided and saved together.

The event store writes one transaction at a time, so a process that saves each award alone is
bounded by that; a process that saves whatever has queued up while the previous group was being
written is not. Callers hand their items to a few committer threads and wait for their own results,
in order; a group runs in a copy of its oldest caller's context (its context variables). With two committers, one group can be decided while the previous one is being written; with
one, groups are larger.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections import deque
from typing import Callable, Generic, Sequence, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class _Entry(Generic[T, R]):
    __slots__ = ("items", "results", "error", "done", "context")

    def __init__(self, items: Sequence[T]):
        self.items = items
        self.context = contextvars.copy_context()
        self.results: list[R] = []
        self.error: Exception | None = None
        self.done = threading.Event()


class GroupCommit(Generic[T, R]):
    def __init__(self, process: Callable[[list[T]], list[R]], max_items: int, committers: int = 2):
        self._process = process
        self._max_items = max_items
        self._committers = committers
        self._ready = threading.Condition()
        self._queue: deque[_Entry[T, R]] = deque()
        self._threads: list[threading.Thread] = []
        self._closed = False

    def submit(self, items: Sequence[T]) -> list[R]:
        entry: _Entry[T, R] = _Entry(items)
        with self._ready:
            if self._closed:
                raise RuntimeError("closed")
            if not self._threads:  # started on first use: after a server forks its workers, not before
                self._start()
            self._queue.append(entry)
            self._ready.notify()
        entry.done.wait()
        if entry.error is not None:
            raise entry.error
        return entry.results

    def close(self) -> None:
        """Lets the committers finish what is queued, then stop."""
        with self._ready:
            if self._closed:
                return
            self._closed = True
            self._ready.notify_all()
        for thread in self._threads:
            thread.join(timeout=10)

    def _start(self) -> None:
        for number in range(self._committers):
            thread = threading.Thread(target=self._commit_forever, name=f"group-commit-{number}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _commit_forever(self) -> None:
        while (group := self._next_group()) is not None:
            self._commit(group)
            # The callers just answered run first (under gevent, a sleep of 0 lets every ready greenlet run):
            # otherwise they would run while the next group waits on a lock it holds, holding it up for others.
            time.sleep(0)

    def _next_group(self) -> list[_Entry[T, R]] | None:
        with self._ready:
            while not self._queue:
                if self._closed:
                    return None
                self._ready.wait()
            group = [self._queue.popleft()]
            count = len(group[0].items)
            while self._queue and count + len(self._queue[0].items) <= self._max_items:
                count += len(self._queue[0].items)
                group.append(self._queue.popleft())
            return group

    def _commit(self, group: list[_Entry[T, R]]) -> None:
        try:
            # Decided in the context of the group's oldest caller: what its request set there (its deadline for the
            # database, app.database_gate) bounds the group's waits as it would bound its own.
            results = group[0].context.run(self._process, [item for entry in group for item in entry.items])
            position = 0
            for entry in group:
                entry.results = results[position : position + len(entry.items)]
                position += len(entry.items)
        except Exception as error:  # every caller of the group learns of it; the committer carries on
            for entry in group:
                entry.error = error
        for entry in group:
            entry.done.set()
