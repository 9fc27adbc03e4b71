"""The PostgreSQL event store: the eventsourcing recorder, plus reading many streams in one round trip."""

from __future__ import annotations

import functools
import logging
from contextlib import contextmanager
from typing import Any, Iterator, Sequence
from uuid import UUID

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.utils import retry
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg import sql

from app.database import eventsourcing_env
from domain.clock import Clock, RandomBytes
from domain.ledger import SpinLedger

logger = logging.getLogger(__name__)

# Serialises schema creation when several processes start at once.
SCHEMA_LOCK_KEY = 0x5350494E  # "SPIN"
# Serialises the reservation of spins on promotions' budgets across server processes.
APPEND_LOCK_KEY = 0x41574152  # "AWAR"
# How long a write waits for a table or advisory lock before it fails (and the client retries).
LOCK_TIMEOUT_SECONDS = 5


class SpinledgerRecorder(PostgresApplicationRecorder):
    """Adds ``read_streams`` (many streams, from a known version or the latest snapshot, in one query)."""

    def __init__(self, datastore, *, events_table_name: str = "stored_events") -> None:  # type: ignore[no-untyped-def]
        super().__init__(datastore, events_table_name=events_table_name)
        snapshots_table = events_table_name.removesuffix("_events") + "_snapshots"
        schema = sql.Identifier(self.datastore.schema)
        self._read_streams_statement = sql.SQL(
            "SELECT x.* FROM unnest(%(ids)s::uuid[], %(after)s::bigint[]) AS w(originator_id, after_version)"
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
        ).format(schema=schema, snapshots=sql.Identifier(snapshots_table), events=sql.Identifier(events_table_name)).as_bytes()
        append_function = sql.Identifier(events_table_name + "_append")
        # Both statements are rendered once, here: psycopg renders a composed statement again at every execute.
        self._append_statement = sql.SQL("SELECT notification_id FROM {schema}.{function}(%s, %s, %s, %s)").format(
            schema=schema, function=append_function
        ).as_bytes()
        self.sql_create_statements.append(
            sql.SQL(
                "CREATE OR REPLACE FUNCTION {schema}.{function}("
                "ids uuid[], versions bigint[], topics text[], states bytea[])"
                " RETURNS TABLE (notification_id bigint) LANGUAGE plpgsql AS $$"
                " BEGIN"
                "  SET LOCAL lock_timeout = '{timeout}s';"
                # Notification ids become visible in commit order only if writers take turns (see the library).
                "  LOCK TABLE {schema}.{events} IN EXCLUSIVE MODE;"
                "  NOTIFY {channel};"
                "  RETURN QUERY INSERT INTO {schema}.{events} AS t (originator_id, originator_version, topic, state)"
                "   SELECT * FROM unnest(ids, versions, topics, states) RETURNING t.notification_id;"
                " END $$"
            ).format(
                schema=schema,
                function=append_function,
                timeout=sql.Literal(self.datastore.lock_timeout),
                events=sql.Identifier(events_table_name),
                channel=sql.Identifier(self.channel_name),
            )
        )

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        """Appends events as the library does (lock the table, notify, insert, in one transaction).

        One round trip, through a server-side function with binary parameters. (The library's own
        path pipelines its statements, and psycopg's pipeline stalled on large writes over a Unix socket.)
        """
        if not stored_events:
            return None
        params = [
            [e.originator_id for e in stored_events],
            [e.originator_version for e in stored_events],
            [e.topic for e in stored_events],
            [e.state for e in stored_events],
        ]
        with self.datastore.get_connection() as conn, conn.cursor(binary=True) as curs:
            curs.execute(self._append_statement, params, prepare=True)
            return [row["notification_id"] for row in curs.fetchall()]

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def read_streams(self, after_versions: dict[UUID, int]) -> dict[UUID, list[StoredEvent]]:
        params = {"ids": list(after_versions), "after": list(after_versions.values())}
        with self.datastore.get_connection() as conn, conn.cursor(binary=True) as curs:
            curs.execute(self._read_streams_statement, params, prepare=True)
            rows = curs.fetchall()
        streams: dict[UUID, list[StoredEvent]] = {}
        # A stream's latest snapshot (if newer than the known version) first, then its events after it.
        for row in sorted(rows, key=lambda r: (r["kind"], r["originator_version"])):
            streams.setdefault(row["originator_id"], []).append(
                StoredEvent(
                    originator_id=row["originator_id"],
                    originator_version=row["originator_version"],
                    topic=row["topic"],
                    state=bytes(row["state"]),
                )
            )
        return streams


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
        "CREATE_TABLE": "y",
    }


@contextmanager
def schema_lock(database_url: str) -> Iterator[None]:
    """Held while tables are created, so concurrent starts don't race on ``CREATE ... IF NOT EXISTS``."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", [SCHEMA_LOCK_KEY])
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", [SCHEMA_LOCK_KEY])


@contextmanager
def advisory_lock(datastore: PostgresDatastore, key: int, timeout_seconds: int) -> Iterator[None]:
    """A session-level advisory lock on a pooled connection; waiting longer than the timeout fails."""
    with datastore.get_connection() as conn:
        # The timeout is set in the same round trip as the lock is asked for.
        conn.execute("SELECT set_config('lock_timeout', %s, false), pg_advisory_lock(%s)", [f"{timeout_seconds}s", key], prepare=True)
        try:
            yield
        finally:
            try:
                conn.execute("SELECT pg_advisory_unlock(%s)", [key], prepare=True)
            except Exception:
                conn.close()  # never hand the pool a connection that may still hold the lock
                raise


def open_ledger(
    database_url: str, clock: Clock, random_bytes: RandomBytes, *, pool_size: int = 8, max_overflow: int = 8
) -> SpinLedger:
    with schema_lock(database_url):
        env = ledger_env(database_url, pool_size=pool_size, max_overflow=max_overflow)
        ledger = SpinLedger(env, clock=clock, random_bytes=random_bytes)
    ledger.append_lock = functools.partial(advisory_lock, ledger.recorder.datastore, APPEND_LOCK_KEY, LOCK_TIMEOUT_SECONDS)
    return ledger
