"""The PostgreSQL event store: the eventsourcing recorder, plus reading many streams in one round trip."""

from __future__ import annotations

import functools
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Sequence, TypeVar
from uuid import UUID

import psycopg
from eventsourcing.persistence import IntegrityError, InterfaceError, OperationalError, StoredEvent
from eventsourcing.utils import retry
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg import sql
from psycopg.rows import tuple_row

from app.database import eventsourcing_env
from domain.clock import Clock, RandomBytes
from domain.ledger import BudgetClaim, SpinLedger

T = TypeVar("T")

# Serialises the reservation of spins on promotions' budgets across server processes.
APPEND_LOCK_KEY = 0x41574152  # "AWAR"
# How long a write waits for a table or advisory lock before it fails (and the client retries).
LOCK_TIMEOUT_SECONDS = 5


class SpinledgerRecorder(PostgresApplicationRecorder):
    """Adds ``read_streams`` (many streams, from a known version or the latest snapshot, in one query) and
    ``locked_append`` (a lock held from a read to an append, each taking one round trip)."""

    def __init__(self, datastore, *, events_table_name: str = "stored_events") -> None:  # type: ignore[no-untyped-def]
        super().__init__(datastore, events_table_name=events_table_name)
        snapshots_table = events_table_name.removesuffix("_events") + "_snapshots"
        schema = sql.Identifier(self.datastore.schema)
        events = sql.Identifier(events_table_name)
        read = sql.SQL(
            "SELECT x.* FROM unnest({ids}, {after}) AS w(originator_id, after_version)"
            " LEFT JOIN LATERAL (SELECT s.originator_version AS version FROM {schema}.{snapshots} s"
            "  WHERE s.originator_id = w.originator_id AND s.originator_version > w.after_version"
            "  ORDER BY s.originator_version DESC LIMIT 1) latest ON true"
            " CROSS JOIN LATERAL ("
            "  (SELECT s.originator_id, s.originator_version, s.topic, s.state, 0 AS kind FROM {schema}.{snapshots} s"
            "   WHERE s.originator_id = w.originator_id AND s.originator_version = latest.version)"
            "  UNION ALL"
            "  (SELECT e.originator_id, e.originator_version, e.topic, e.state, 1 AS kind FROM {schema}.{events} e"
            "   WHERE e.originator_id = w.originator_id"
            "   AND e.originator_version > GREATEST(w.after_version, COALESCE(latest.version, 0)))) x"
        )
        tables = {"schema": schema, "snapshots": sql.Identifier(snapshots_table), "events": events}
        append_function = sql.Identifier(events_table_name + "_append")
        lock_and_read_function = sql.Identifier(events_table_name + "_lock_and_read")
        append_and_unlock_function = sql.Identifier(events_table_name + "_append_and_unlock")
        append_reserving_function = sql.Identifier(events_table_name + "_append_reserving")
        # The statements are rendered once, here: psycopg renders a composed statement again at every execute.
        # Their arrays go in binary: psycopg's text form of an array escapes every element with a regex.
        self._read_streams_statement = read.format(ids=sql.SQL("%(ids)b::uuid[]"), after=sql.SQL("%(after)b::bigint[]"), **tables).as_bytes()
        self._lock_and_read_statement = sql.SQL(
            "SELECT * FROM {schema}.{function}(%(key)s, %(ids)b::uuid[], %(after)b::bigint[])"
        ).format(schema=schema, function=lock_and_read_function).as_bytes()
        self._append_statement = sql.SQL(
            "SELECT notification_id FROM {schema}.{function}(%b::uuid[], %b::bigint[], %b::text[], %b::bytea[])"
        ).format(schema=schema, function=append_function).as_bytes()
        self._append_and_unlock_statement = sql.SQL(
            "SELECT notification_id FROM {schema}.{function}(%b::uuid[], %b::bigint[], %b::text[], %b::bytea[], %b::bigint)"
        ).format(schema=schema, function=append_and_unlock_function).as_bytes()
        self._append_reserving_statement = sql.SQL(
            "SELECT * FROM {schema}.{function}(%b::bigint, %b::uuid[], %b::bigint[], %b::text[], %b::bytea[],"
            " %b::uuid[], %b::bigint[], %b::bigint[], %b::text)"
        ).format(schema=schema, function=append_reserving_function).as_bytes()

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        """Appends events as the library does (lock the table, notify, insert, in one transaction).

        One round trip, through a server-side function with binary parameters. (The library's own
        path pipelines its statements, and psycopg's pipeline stalled on large writes over a Unix socket.)
        """
        if not stored_events:
            return None
        with self.datastore.get_connection() as conn:
            return _append(conn, self._append_statement, _columns(stored_events))

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def read_streams(self, after_versions: dict[UUID, int]) -> dict[UUID, list[StoredEvent]]:
        with self.datastore.get_connection() as conn:
            return _read(conn, self._read_streams_statement, {"ids": list(after_versions), "after": list(after_versions.values())})

    def append_reserving(
        self, key: int, stored_events: Sequence[StoredEvent], claims: Sequence[BudgetClaim], reservation_topic: str
    ) -> dict[UUID, int] | None:
        """Appends an award group's events without the advisory lock ``key``, in one round trip, if each promotion
        it reserves spins on has recorded since it was read nothing but reservations within the claim's room.

        Returns the version each claimed promotion's reservation was recorded at: after the others', so perhaps
        later than the one it was made with. Returns None, and appends nothing, when a claim no longer holds; a
        stream that another writer appended to first raises ``IntegrityError``, as for any append. Tried once:
        the caller falls back on the lock for whatever fails (a retry could wait out the lock timeout ten times).

        The claims are checked on the states' JSON: for a store whose states are compressed or encrypted, the
        wiring does not use this append.
        """
        params = [
            key, *_columns(stored_events), [c.promotion_id for c in claims], [c.read_version for c in claims],
            [c.room for c in claims], reservation_topic,
        ]
        with self.datastore.get_connection() as conn, conn.cursor(binary=True, row_factory=tuple_row) as curs:
            curs.execute(self._append_reserving_statement, params, prepare=True)
            rows = curs.fetchall()
        if not rows:
            return None
        claimed = {c.promotion_id for c in claims}
        return {originator_id: version for originator_id, version in rows if originator_id in claimed}

    @contextmanager
    def locked_append(self, key: int) -> Iterator[LockedAppend]:
        """A pooled connection for reading and appending under the advisory lock ``key``, taken by the first
        read and let go of by the append (or when the block is left without one)."""
        with self.datastore.get_connection() as conn:
            session = LockedAppend(self, conn, key)
            try:
                yield session
            finally:
                session.release()


def _columns(stored_events: Sequence[StoredEvent]) -> list[list[Any]]:
    return [
        [e.originator_id for e in stored_events],
        [e.originator_version for e in stored_events],
        [e.topic for e in stored_events],
        [e.state for e in stored_events],
    ]


def _append(conn: psycopg.Connection[Any], statement: bytes, params: list[Any]) -> list[int]:
    with conn.cursor(binary=True) as curs:
        curs.execute(statement, params, prepare=True)
        return [row["notification_id"] for row in curs.fetchall()]


def _read(conn: psycopg.Connection[Any], statement: bytes, params: dict[str, Any]) -> dict[UUID, list[StoredEvent]]:
    with conn.cursor(binary=True, row_factory=tuple_row) as curs:
        curs.execute(statement, params, prepare=True)
        rows = curs.fetchall()
    streams: dict[UUID, list[StoredEvent]] = {}
    # A stream's latest snapshot (if newer than the known version) first, then its events after it.
    for originator_id, version, topic, state, _kind in sorted(rows, key=lambda r: (r[4], r[1])):
        streams.setdefault(originator_id, []).append(
            StoredEvent(originator_id=originator_id, originator_version=version, topic=topic, state=bytes(state))
        )
    return streams


class LockedAppend:
    """Reads and an append on one connection, under a session's advisory lock.

    The first read takes the lock in its own round trip; a successful append lets go of it in its own. A
    statement that fails leaves the lock's state unknown, so the connection is closed (which lets go of it)
    rather than returned to the pool.
    """

    def __init__(self, recorder: SpinledgerRecorder, conn: psycopg.Connection[Any], key: int):
        self._recorder = recorder
        self._conn = conn
        self._key = key
        self._locked = False

    def read_streams(self, after_versions: dict[UUID, int]) -> dict[UUID, list[StoredEvent]]:
        params = {"ids": list(after_versions), "after": list(after_versions.values())}
        if self._locked:
            return self._guarded(lambda: _read(self._conn, self._recorder._read_streams_statement, params))
        self._locked = True  # from here on, unknown until the statement succeeds
        return self._guarded(lambda: _read(self._conn, self._recorder._lock_and_read_statement, {"key": self._key, **params}))

    def insert_events(self, stored_events: Sequence[StoredEvent]) -> Sequence[int]:
        if not self._locked:
            raise RuntimeError("append under the lock before reading under it")
        try:
            rows = _append(self._conn, self._recorder._append_and_unlock_statement, [*_columns(stored_events), self._key])
        except psycopg.IntegrityError as conflict:  # failed cleanly, the lock still held: the caller reads again
            raise IntegrityError(str(conflict)) from conflict
        except BaseException:
            self._conn.close()
            raise
        self._locked = False
        return rows

    def release(self) -> None:
        if not self._locked or self._conn.closed:
            return
        try:
            self._conn.execute("SELECT pg_advisory_unlock(%s)", [self._key], prepare=True)
            self._locked = False
        except BaseException:
            self._conn.close()  # never hand the pool a connection that may still hold the lock
            raise

    def _guarded(self, statement: Callable[[], T]) -> T:
        try:
            return statement()
        except BaseException:
            self._conn.close()
            raise


def ledger_env(database_url: str, *, pool_size: int, max_overflow: int) -> dict[str, str]:
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "APPLICATION_RECORDER_TOPIC": f"{SpinledgerRecorder.__module__}:{SpinledgerRecorder.__qualname__}",
        **eventsourcing_env(database_url),
        "POSTGRES_POOL_SIZE": str(pool_size),
        "POSTGRES_MAX_OVERFLOW": str(max_overflow),
        "POSTGRES_LOCK_TIMEOUT": str(LOCK_TIMEOUT_SECONDS),
        "POSTGRES_CONNECT_TIMEOUT": "5",
        # No ping per checkout: a broken pooled connection fails its statement, is discarded by the pool,
        # and the library's retry (and ours, for read_streams) takes a fresh one.
        "POSTGRES_PRE_PING": "n",
        "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "10",
        "CREATE_TABLE": "n",  # the tables and functions are the schema migrations' (app/schema)
    }


def open_ledger(
    database_url: str, clock: Clock, random_bytes: RandomBytes, *, pool_size: int = 8, max_overflow: int = 8
) -> SpinLedger:
    env = ledger_env(database_url, pool_size=pool_size, max_overflow=max_overflow)
    ledger = SpinLedger(env, clock=clock, random_bytes=random_bytes)
    ledger.append_lock = functools.partial(ledger.recorder.locked_append, APPEND_LOCK_KEY)
    if ledger.mapper.compressor is None and ledger.mapper.cipher is None:  # the claims are checked on the JSON
        ledger.append_reserving = functools.partial(ledger.recorder.append_reserving, APPEND_LOCK_KEY)
    return ledger
