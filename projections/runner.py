"""Runs the projections: each catches up in batches, then waits for a notification or the poll interval.

Supervised: a projection that fails is logged and started again from its stored position after a backoff
(1 s, doubling to at most a minute). Polling as well as listening means a lost notification costs at
most one poll interval; the stored position means a crash costs nothing but the batch in flight, which
was never committed.
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg
from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresDatastore
from psycopg import sql

from projections.source import APPLICATION, EventSource
from projections.view import BatchProjection

logger = logging.getLogger(__name__)

BATCH = 1000
WINDOW = 50_000  # notification ids read per query at most, so a sparse topic filter stays cheap


@dataclass
class Progress:
    position: int = 0
    restarts: int = 0
    last_error: str | None = None
    caught_up_at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class Prepared:
    events: list[Any]  # what ``View.prepare`` made of a page's events
    positions: list[int]  # their notification ids
    position: int  # the page's position


def position_of(projection: BatchProjection) -> int:
    return projection.view.max_tracking_id(APPLICATION) or 0


def catch_up_step(projection: BatchProjection, source: EventSource, head: int, batch: int = BATCH) -> int:
    """Applies the next page of events up to ``head``; returns the notification ids it moved past."""
    position = position_of(projection)
    if position >= head:
        return 0
    page = source.read(position, min(head, position + WINDOW), batch, projection.topics, projection.decoded)
    projection.process_batch(page.events, Tracking(APPLICATION, page.position))
    return page.position - position


def catch_up(
    projection: BatchProjection, source: EventSource, head: int | None = None, progress: Callable[[int], None] | None = None, batch: int = BATCH
) -> None:
    """Applies every event up to ``head`` (the current head by default), from the projection's stored position.

    The next page is read, decoded and prepared (``View.prepare``) in a thread of its own while the current
    one is written, so that this work overlaps the server's. For one applier at a time: a
    rebuild, or a projection no worker runs; the worker's loop steps with ``catch_up_step``.
    """
    head = source.head() if head is None else head
    pages: queue.Queue[tuple[int, Prepared] | BaseException | None] = queue.Queue(maxsize=2)
    stopping = threading.Event()

    def read_ahead() -> None:
        try:
            position = position_of(projection)
            while position < head and not stopping.is_set():
                up_to = min(head, position + WINDOW)
                read = source.read_events(position, up_to, batch, projection.topics, projection.decoded)
                prepared = Prepared(projection.view.prepare(read.events, read.ids), read.ids, read.position)
                _put(pages, (position, prepared), stopping)
                position = read.position
            _put(pages, None, stopping)
        except BaseException as error:  # handed to the applying thread, which raises it
            _put(pages, error, stopping)

    reader = threading.Thread(target=read_ahead, name=f"read-ahead-{projection.name}", daemon=True)
    # The applying thread gives up the GIL on every round trip to the server, and by default waits up to 5 ms
    # to get it back from the busy reading thread: a few such waits per batch added a third to a rebuild.
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(min(switch_interval, 0.0005))
    reader.start()
    try:
        while (item := pages.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            before, prepared = item
            projection.process_prepared(prepared.events, prepared.positions, Tracking(APPLICATION, prepared.position))
            if progress:
                progress(prepared.position - before)
    finally:
        stopping.set()
        reader.join()
        sys.setswitchinterval(switch_interval)


def _put(pages: queue.Queue[Any], item: Any, stopping: threading.Event) -> None:
    while not stopping.is_set():
        try:
            pages.put(item, timeout=0.1)
            return
        except queue.Full:
            continue


class ProjectionWorker:
    def __init__(self, datastore: PostgresDatastore, projections: list[BatchProjection], *, poll_seconds: float = 1.0, max_backoff: float = 60.0):
        self.datastore = datastore
        self.source = EventSource(datastore)
        self.projections = projections
        self.poll_seconds = poll_seconds
        self.max_backoff = max_backoff
        self.progress = {p.name: Progress() for p in projections}
        self._wake = {p.name: threading.Event() for p in projections}
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        self._threads = [threading.Thread(target=self._listen, name="projections-listen", daemon=True)]
        self._threads += [threading.Thread(target=self._run, args=(p,), name=f"projection-{p.name}", daemon=True) for p in self.projections]
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        for wake in self._wake.values():
            wake.set()
        for thread in self._threads:
            thread.join(timeout)

    def _run(self, projection: BatchProjection) -> None:
        progress, wake = self.progress[projection.name], self._wake[projection.name]
        backoff = 1.0
        while not self._stopping.is_set():
            try:
                wake.clear()
                head = self.source.head()
                while not self._stopping.is_set() and catch_up_step(projection, self.source, head):
                    pass
                progress.position = position_of(projection)
                progress.caught_up_at = time.monotonic()
                backoff = 1.0
                wake.wait(self.poll_seconds)
            except Exception as error:  # supervised: log, wait, start again from the stored position
                progress.restarts += 1
                progress.last_error = f"{type(error).__name__}: {error}"
                logger.exception("projection %s failed; restarting in %.0f s", projection.name, backoff)
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff)

    def _listen(self) -> None:
        """Wakes every projection on each NOTIFY of the events table; reconnects when the link drops."""
        channel = sql.Identifier(self.source.recorder.channel_name)
        while not self._stopping.is_set():
            try:
                params = {k: v for k, v in self.datastore.pool.kwargs.items() if k != "row_factory"}
                with psycopg.connect(**params, autocommit=True) as conn:  # its own session: LISTEN outlives a pooled checkout
                    conn.execute(sql.SQL("LISTEN {}").format(channel))
                    while not self._stopping.is_set():
                        for _ in conn.notifies(timeout=0.5, stop_after=1):
                            for wake in self._wake.values():
                                wake.set()
            except Exception:
                logger.warning("projection listener lost its connection; polling until it is back", exc_info=True)
                self._stopping.wait(1.0)
