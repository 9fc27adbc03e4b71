"""The event store as the projections read it: SpinLedger's events, in notification order, decoded."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple
from uuid import UUID

from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, Mapper, Tracking, UUIDAsHex
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg import sql
from psycopg.rows import tuple_row

APPLICATION = "SpinLedger"  # the name the ledger records under: its tables and its tracking entries


class RawEvent(NamedTuple):
    """An event in the form the store holds it, for the views that keep or forward that form itself."""

    id: int  # its notification id
    originator_id: str  # its stream's UUID, as text
    originator_version: int
    topic: str
    state: bytes  # the transcoder's JSON


@dataclass(frozen=True)
class EventBatch:
    """Events read for a projection, each with its tracking record."""

    events: list[tuple[Any, Tracking]]
    position: int  # everything up to here has been read (the events, and the gaps between them)


class EventsRead(NamedTuple):
    events: list[Any]  # domain events, or ``RawEvent``s
    ids: list[int]  # their notification ids, in the same order
    position: int  # everything up to here has been read (the events, and the gaps between them)


def transcoder() -> JSONTranscoder:
    transcoding = JSONTranscoder()
    for kind in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoding.register(kind)
    return transcoding


class EventSource:
    def __init__(self, datastore: PostgresDatastore):
        self.recorder = PostgresApplicationRecorder(datastore, events_table_name=f"{APPLICATION.lower()}_events")
        self.mapper: Mapper[UUID] = Mapper(transcoder=transcoder())
        events = sql.Identifier(self.recorder.events_table_name)
        columns = "notification_id, originator_id::text, originator_version, topic, state"
        range_and_limit = "notification_id > %(after)s AND notification_id <= %(up_to)s ORDER BY notification_id LIMIT %(limit)s"
        self._select_stored = sql.SQL(f"SELECT {columns} FROM {{}} WHERE {range_and_limit}").format(events)
        self._select_stored_topics = sql.SQL(f"SELECT {columns} FROM {{}} WHERE topic = ANY(%(topics)s) AND {range_and_limit}").format(events)

    def head(self) -> int:
        """The newest notification id (0 when there is none)."""
        return self.recorder.max_notification_id() or 0

    def read(self, after: int, up_to: int, limit: int, topics: Sequence[str] = (), decoded: bool = True) -> EventBatch:
        """Events of ``topics`` after ``after`` up to ``up_to``, at most ``limit`` of them: domain events, or
        ``RawEvent``s when ``decoded`` is false.

        Notification ids are committed in order (the event store locks its table while it inserts), so
        everything up to a head that was read is final: a page read to ``up_to`` may skip the gaps.
        """
        read = self.read_events(after, up_to, limit, topics, decoded)
        return EventBatch([(event, Tracking(APPLICATION, id_)) for event, id_ in zip(read.events, read.ids, strict=True)], read.position)

    def read_events(self, after: int, up_to: int, limit: int, topics: Sequence[str] = (), decoded: bool = True) -> EventsRead:
        """As ``read``, without a ``Tracking`` for each event: the library's, a frozen dataclass, is slow to make,
        and making one per event took a sixth of a rebuild's reading thread."""
        stored = self.read_stored(after, up_to, limit, topics)
        events = [self.mapper.to_domain_event(n) for n in stored] if decoded else stored  # type: ignore[arg-type]
        position = stored[-1].id if len(stored) == limit else up_to
        return EventsRead(events, [n.id for n in stored], position)

    def read_stored(self, after: int, up_to: int, limit: int, topics: Sequence[str] = ()) -> list[RawEvent]:
        """The library's ``select_notifications``, without its row dictionaries and UUID objects: the mapper
        decodes these as it does the library's (making the ids UUIDs), and the views that keep or forward the
        stored form (the event index, the webhook outbox) take them as they are."""
        params = {"after": after, "up_to": up_to, "limit": limit, "topics": list(topics)}
        with self.recorder.datastore.get_connection() as conn, conn.cursor(binary=True, row_factory=tuple_row) as cursor:
            cursor.execute(self._select_stored_topics if topics else self._select_stored, params, prepare=True)
            return [RawEvent._make(row) for row in cursor.fetchall()]


def plain(value: Any) -> Any:
    """A JSON-ready copy: money as two-decimal strings, instants as ISO-8601, ids as strings."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value
