"""The event store as the projections read it: SpinLedger's events, in notification order, decoded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Sequence
from uuid import UUID

from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, Mapper, Tracking, UUIDAsHex
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

APPLICATION = "SpinLedger"  # the name the ledger records under: its tables and its tracking entries


@dataclass(frozen=True)
class Page:
    events: list[tuple[Any, Tracking]]
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

    def head(self) -> int:
        """The newest notification id (0 when there is none)."""
        return self.recorder.max_notification_id() or 0

    def read(self, after: int, up_to: int, limit: int, topics: Sequence[str] = (), decoded: bool = True) -> Page:
        """Events of ``topics`` after ``after`` up to ``up_to``, at most ``limit`` of them: domain events, or
        the store's notifications as they are when ``decoded`` is false.

        Notification ids are committed in order (the event store locks its table while it inserts), so
        everything up to a head that was read is final: a page read to ``up_to`` may skip the gaps.
        """
        notifications = self.recorder.select_notifications(
            start=after, limit=limit, stop=up_to, topics=list(topics), inclusive_of_start=False
        )
        events = [(self.mapper.to_domain_event(n) if decoded else n, Tracking(APPLICATION, n.id)) for n in notifications]
        position = notifications[-1].id if len(notifications) == limit else up_to
        return Page(events, position)


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
