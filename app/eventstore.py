"""The PostgreSQL event store: the eventsourcing recorder, plus reading many streams in one round trip."""

from __future__ import annotations

from typing import Any, Sequence
from uuid import UUID

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.utils import retry
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg import sql
from psycopg.rows import tuple_row

from app.database import eventsourcing_env
from app.regions import Iso3166
from domain.clock import Clock, RandomBytes
from domain.application import Batching, EachAlone, SpinLedger
from domain.award_decision import BudgetClaim
from domain.streams import StateCache


# How long a write waits for a table or advisory lock before it fails (and the client retries).
LOCK_TIMEOUT_SECONDS = 5


class SpinledgerRecorder(PostgresApplicationRecorder):
    """The library's recorder, plus ``read_streams`` (many streams, from a known version or the latest snapshot, in
    one query) and one append function for every write: ``append_claiming``, which the library's ``insert_events``
    calls with no claims."""

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
        # The statements are rendered once, here: psycopg renders a composed statement again at every execute.
        # Their arrays go in binary: psycopg's text form of an array escapes every element with a regex.
        self._read_streams_statement = read.format(ids=sql.SQL("%(ids)b::uuid[]"), after=sql.SQL("%(after)b::bigint[]"), **tables).as_bytes()
        self._append_statement = sql.SQL(
            "SELECT * FROM {schema}.{function}(%b::uuid[], %b::bigint[], %b::text[], %b::bytea[], %b::uuid[], %b::bigint[], %b::bigint[], %b::text)"
        ).format(schema=schema, function=append_function).as_bytes()
        # The function itself is defined by the schema migrations (app/schema/migrations/0002_one_append_function.sql).

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        """Appends events as the library does (lock the table, notify, insert, in one transaction), through the one
        append function. (The library's own path pipelines its statements, and psycopg's pipeline stalled on large
        writes over a Unix socket.)"""
        if not stored_events:
            return None
        rows = self._append(stored_events, (), "")
        return [notification_id for _, _, notification_id in rows]

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def read_streams(self, after_versions: dict[UUID, int]) -> dict[UUID, list[StoredEvent]]:
        with self.datastore.get_connection() as conn, conn.cursor(binary=True, row_factory=tuple_row) as curs:
            curs.execute(self._read_streams_statement, {"ids": list(after_versions), "after": list(after_versions.values())}, prepare=True)
            rows = curs.fetchall()
        streams: dict[UUID, list[StoredEvent]] = {}
        # A stream's latest snapshot (if newer than the known version) first, then its events after it.
        for originator_id, version, topic, state, _kind in sorted(rows, key=lambda r: (r[4], r[1])):
            streams.setdefault(originator_id, []).append(
                StoredEvent(originator_id=originator_id, originator_version=version, topic=topic, state=bytes(state))
            )
        return streams

    def append_claiming(self, stored_events: Sequence[StoredEvent], claims: Sequence[BudgetClaim], reservation_topic: str) -> dict[UUID, int] | None:
        """See ``domain.streams.StreamStore``. Tried once: a database failure is the caller's to retry (what was
        recorded, or not, is read again first). The claims are checked on the states' JSON: a store whose states are
        compressed or encrypted is refused at start."""
        rows = self._append(stored_events, claims, reservation_topic)
        if not rows:
            return None
        claimed = {c.promotion_id for c in claims}
        return {originator_id: version for originator_id, version, _ in rows if originator_id in claimed}

    def _append(self, stored_events: Sequence[StoredEvent], claims: Sequence[BudgetClaim], reservation_topic: str) -> list[tuple[UUID, int, int]]:
        params = [
            [e.originator_id for e in stored_events], [e.originator_version for e in stored_events],
            [e.topic for e in stored_events], [e.state for e in stored_events],
            [c.promotion_id for c in claims], [c.read_version for c in claims], [c.room for c in claims], reservation_topic,
        ]
        with self.datastore.get_connection() as conn, conn.cursor(binary=True, row_factory=tuple_row) as curs:
            curs.execute(self._append_statement, params, prepare=True)
            return curs.fetchall()


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
    database_url: str, clock: Clock, random_bytes: RandomBytes, *, pool_size: int = 8, max_overflow: int = 8,
    cache: StateCache | None = None, batching: Batching = EachAlone,
) -> SpinLedger:
    env = ledger_env(database_url, pool_size=pool_size, max_overflow=max_overflow)
    ledger = SpinLedger(env, clock=clock, random_bytes=random_bytes, regions=Iso3166(), cache=cache, batching=batching)
    if ledger.mapper.compressor is not None or ledger.mapper.cipher is not None:
        ledger.close()
        raise RuntimeError("the append checks budget claims on the events' JSON: compression and encryption are not supported")
    return ledger
