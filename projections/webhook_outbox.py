"""The webhook outbox, a projection: the follower that fills it: it reads the event store like a projection (its position is
written in the same transaction as the deliveries it enqueues, so each event is enqueued exactly once)
and adds one delivery per event and live subscription that asked for the event's type.

A delivery's body is fixed when it is enqueued, and its id (the ``Webhook-Id``) is the ``uuid5`` of the
subscription and the event: every attempt sends the same bytes under the same id.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eventsourcing.utils import get_topic
from psycopg import Cursor
from psycopg.rows import DictRow

from domain.event_types import EVENT_CLASSES
from domain.ids import event_id_text
from projections.event_index import unwrapped
from projections.source import RawEvent
from projections.view import BatchProjection, View

PENDING, DELIVERED, DEAD, CANCELLED = "pending", "delivered", "dead", "cancelled"
OUTBOX_LOCK_KEY = 0x5E1D_0B0C  # held by the outbox while it writes a batch, and by a new subscription

# The events a subscription may ask for: what marketing and finance act on, not every player's spin.
WEBHOOK_EVENT_TYPES = (
    "FreeSpinsAwarded",
    "GoldCoinsAwarded",
    "AwardCancelled",
    "AwardExpired",
    "AwardExpiringSoon",
    "AwardSpinPlayed",
    "ExpiredAwardUseAttempted",
    "BlockCompleted",
    "PromotionEnded",
    "SelfExclusionStarted",
    "ReconciliationCompleted",
    "DriftAlertRaised",
)


def delivery_body(event: RawEvent, position: int) -> tuple[str, str, str]:
    """The event's id, type and the JSON body every attempt to deliver it sends."""
    payload = unwrapped(event.state)
    state = json.loads(payload)
    event_type = event.topic.rsplit(".", 1)[-1]
    event_id = event_id_text(event.originator_id, event.originator_version)
    body = json.dumps(
        {
            "event_id": event_id,
            "type": event_type,
            "position": position,
            "stream_id": event.originator_id,
            "version": event.originator_version,
            "occurred_at": state["timestamp"],
            "data": state,
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return event_id, event_type, body


class OutboxView(View):
    name = "webhook_outbox"
    tables = ("webhook_deliveries",)
    indexes = ()

    def __init__(self, *args: Any, now: Callable[[], datetime] = lambda: datetime.now(UTC), **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._now = now  # the service's clock: a delivery is due from when it is enqueued

    def prepare(self, events: list[RawEvent], positions: list[int]) -> list[_Prepared]:
        """The batch's delivery bodies, made before its transaction opens, for the event types a live subscription
        asks for (as read just before): the transaction then only locks, reads the subscriptions and inserts, and is
        never left idle while Python formats thousands of bodies."""
        wanted = self._wanted_types()
        return [
            _Prepared(event, delivery_body(event, number) if _type_name(event) in wanted else None)
            for event, number in zip(events, positions, strict=True)
        ]

    def _wanted_types(self) -> set[str]:
        with self.datastore.get_connection() as conn:
            rows = conn.execute("SELECT DISTINCT unnest(event_types) AS type FROM webhook_subscriptions WHERE deleted_at IS NULL").fetchall()
        return {row["type"] for row in rows}

    def write(self, cursor: Cursor[DictRow], events: list[_Prepared], positions: list[int]) -> None:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [OUTBOX_LOCK_KEY])
        subscriptions = cursor.execute("SELECT id, event_types, from_position FROM webhook_subscriptions WHERE deleted_at IS NULL").fetchall()
        if not subscriptions:
            return
        now = self._now()
        rows: list[tuple[Any, ...]] = []
        for item, position in zip(events, positions, strict=True):
            type_name = _type_name(item.event)
            wanted = [s for s in subscriptions if position > s["from_position"] and type_name in s["event_types"]]
            if not wanted:
                continue
            # A subscription made since the bodies were: the few bodies it adds are made here.
            event_id, event_type, body = item.delivery or delivery_body(item.event, position)
            rows += [(uuid.uuid5(s["id"], event_id), s["id"], event_id, event_type, position, body) for s in wanted]
        if rows:
            columns = list(zip(*rows, strict=True))
            cursor.execute(
                """INSERT INTO webhook_deliveries (id, subscription_id, event_id, event_type, position, body, status,
                                                   created_at, retrying_since, next_attempt_at)
                   SELECT id, sub, event_id, event_type, position, body, %s, %s, %s, %s
                   FROM unnest(%s::uuid[], %s::uuid[], %s::uuid[], %s::text[], %s::bigint[], %s::text[])
                        AS d(id, sub, event_id, event_type, position, body)
                   ON CONFLICT (id) DO NOTHING""",
                [PENDING, now, now, now, *[list(column) for column in columns]],
            )


@dataclass(frozen=True)
class _Prepared:
    event: RawEvent
    delivery: tuple[str, str, str] | None  # event id, type and body; None when no subscription wanted its type


def _type_name(event: RawEvent) -> str:
    return event.topic.rsplit(".", 1)[-1]


class OutboxProjection(BatchProjection):
    name = "webhook_outbox"
    topics = tuple(get_topic(cls) for name in WEBHOOK_EVENT_TYPES for cls in EVENT_CLASSES[name])
    decoded = False  # it sends the stored form, as the event index holds it
