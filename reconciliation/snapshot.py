"""One consistent snapshot of the database, read as several streams of rows at once.

The run's own transaction exports its snapshot; each stream is a connection of its own that imports it and
reads through a server-side cursor, in batches fetched by a thread of its own one batch ahead: PostgreSQL
produces the next batch while Python folds this one, instead of each waiting for the other. A stream holds
at most ``AHEAD + 2`` batches (queued, being handed over, being read), so memory stays flat however many
rows there are. Leaving the ``Snapshot``'s block closes every stream it opened, finished or not (a run that
fails midway leaves no thread, connection or old snapshot behind).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterator
from typing import Any

import psycopg
from psycopg import IsolationLevel, sql
from psycopg.rows import dict_row, tuple_row

FETCH = 5000
AHEAD = 1
_END = object()


class Snapshot:
    def __init__(self, database_url: str, conn: psycopg.Connection[Any]) -> None:
        """``conn``: the run's repeatable-read transaction, whose snapshot every stream reads."""
        self._database_url = database_url
        row = conn.execute("SELECT pg_export_snapshot()").fetchone()
        assert row is not None
        self._snapshot_id: str = row[0]
        self._streams: list[Generator[Any, None, None]] = []

    def __enter__(self) -> Snapshot:
        return self

    def __exit__(self, *exc_info: object) -> None:
        for stream in self._streams:
            stream.close()  # runs the generator's finally, which stops its fetcher

    def rows(self, query: sql.SQL | sql.Composed) -> Iterator[tuple[Any, ...]]:
        """The rows of ``query`` as of the snapshot, as tuples, streamed."""
        return self._stream(query, tuple_row)

    def dicts(self, query: sql.SQL | sql.Composed) -> Iterator[dict[str, Any]]:
        """The rows of ``query`` as of the snapshot, as dictionaries by column name, streamed."""
        return self._stream(query, dict_row)

    def _stream(self, query: sql.SQL | sql.Composed, row_factory: Any) -> Iterator[Any]:
        stream = self._batches(query, row_factory)
        self._streams.append(stream)
        return stream

    def _batches(self, query: sql.SQL | sql.Composed, row_factory: Any) -> Generator[Any, None, None]:
        batches: queue.Queue[Any] = queue.Queue(maxsize=AHEAD)
        stop = threading.Event()
        fetcher = threading.Thread(target=self._fetch, args=(query, row_factory, batches, stop), name="reconciliation-fetch", daemon=True)
        fetcher.start()
        try:
            while (batch := batches.get()) is not _END:
                if isinstance(batch, BaseException):
                    raise batch
                yield from batch
        finally:  # also when the reader stops early: the fetcher stops too, and closes its connection
            stop.set()
            fetcher.join()

    def _fetch(self, query: sql.SQL | sql.Composed, row_factory: Any, batches: queue.Queue[Any], stop: threading.Event) -> None:
        def hand_over(item: Any) -> bool:
            while not stop.is_set():
                try:
                    batches.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        try:
            with psycopg.connect(self._database_url, row_factory=row_factory) as conn:
                conn.isolation_level = IsolationLevel.REPEATABLE_READ
                conn.read_only = True
                conn.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(self._snapshot_id)))
                conn.execute("SET LOCAL idle_in_transaction_session_timeout = 0")  # it waits while its reader is busy
                with conn.cursor(name="reconciliation_stream", binary=True) as cursor:
                    cursor.execute(query)
                    while batch := cursor.fetchmany(FETCH):
                        if not hand_over(batch):
                            return
            hand_over(_END)
        except BaseException as error:  # the reader raises it
            hand_over(error)
