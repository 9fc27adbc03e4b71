"""Group commit: concurrent callers' items are decided and saved together, by one caller at a time.

The event store writes one transaction at a time, so a process that saves each award alone is
bounded by that; a process that saves whatever has queued up while the previous group was being
written is not. Each caller still gets exactly its own results back, in order.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Callable, Generic, Sequence, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class _Entry(Generic[T, R]):
    __slots__ = ("items", "results", "error", "finished", "wake")

    def __init__(self, items: Sequence[T]):
        self.items = items
        self.results: list[R] = []
        self.error: BaseException | None = None
        self.finished = False
        self.wake = threading.Event()


class GroupCommit(Generic[T, R]):
    def __init__(self, process: Callable[[list[T]], list[R]], max_items: int):
        self._process = process
        self._max_items = max_items
        self._lock = threading.Lock()
        self._queue: deque[_Entry[T, R]] = deque()
        self._busy = False

    def submit(self, items: Sequence[T]) -> list[R]:
        entry: _Entry[T, R] = _Entry(items)
        with self._lock:
            self._queue.append(entry)
            leads = not self._busy
            self._busy = True
        if not leads:
            entry.wake.wait()
        if not entry.finished:  # it is this caller's turn to lead
            self._lead()
        if entry.error is not None:
            raise entry.error
        return entry.results

    def _lead(self) -> None:
        with self._lock:
            group = [self._queue.popleft()]  # the leader's own entry is always first in the queue
            count = len(group[0].items)
            while self._queue and count + len(self._queue[0].items) <= self._max_items:
                count += len(self._queue[0].items)
                group.append(self._queue.popleft())
        try:
            results = self._process([item for entry in group for item in entry.items])
            position = 0
            for entry in group:
                entry.results = results[position : position + len(entry.items)]
                position += len(entry.items)
        except Exception as error:  # every caller of the group learns of it
            for entry in group:
                entry.error = error
        with self._lock:
            for entry in group:
                entry.finished = True
            successor = self._queue[0] if self._queue else None
            if successor is None:
                self._busy = False
        for entry in group:
            entry.wake.set()
        if successor is not None:
            successor.wake.set()
