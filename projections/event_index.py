"""The event index for compliance: one row per event, with its position, type, stream, version, time, the
player, promotion and award it concerns, and the event itself as JSONB.

Only some events name their player or promotion; the view remembers, per stream, what its first event
said (``event_index_streams``), so that every later event of the stream is indexed under them too. An
award's events are indexed under the award; a spin or a block of an award's under it too.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from domain.ids import event_id_for
from projections.source import plain
from projections.view import BatchProjection, View

STATE_FIELDS_LEFT_OUT = ("originator_id", "originator_version", "timestamp", "originator_topic")


def payload(event: Any) -> dict[str, Any]:
    return plain({k: v for k, v in vars(event).items() if k not in STATE_FIELDS_LEFT_OUT})


def named_entities(event: Any) -> dict[str, Any]:
    """The player, promotion and award an event names itself."""
    kind = type(event).__qualname__.split(".")[0]
    found = {"player_id": getattr(event, "player_id", None), "promo_id": getattr(event, "promo_id", None), "award_id": None}
    if kind == "Award":
        found["award_id"] = str(event.originator_id)
    elif kind == "Player" and hasattr(event, "award_id"):
        found["award_id"] = event.award_id
    elif kind == "Player" and hasattr(event, "spin"):
        found["award_id"] = event.spin.get("award_id")
    return found


class EventIndexView(View):
    name = "event_index"
    tables = ("event_index", "event_index_streams")
    indexes = ("event_index_player", "event_index_promo", "event_index_award", "event_index_type", "event_index_time")
    ddl = """
        CREATE TABLE IF NOT EXISTS {p}event_index (
            position bigint PRIMARY KEY,
            event_id uuid NOT NULL,
            type text NOT NULL,
            stream_id uuid NOT NULL,
            version bigint NOT NULL,
            occurred_at timestamptz NOT NULL,
            player_id text,
            promo_id text,
            award_id text,
            payload jsonb NOT NULL
        );
        CREATE INDEX IF NOT EXISTS {p}event_index_player ON {p}event_index (player_id, position);
        CREATE INDEX IF NOT EXISTS {p}event_index_promo ON {p}event_index (promo_id, position);
        CREATE INDEX IF NOT EXISTS {p}event_index_award ON {p}event_index (award_id, position);
        CREATE INDEX IF NOT EXISTS {p}event_index_type ON {p}event_index (type, position);
        CREATE INDEX IF NOT EXISTS {p}event_index_time ON {p}event_index (occurred_at, position);
        CREATE TABLE IF NOT EXISTS {p}event_index_streams (
            stream_id uuid PRIMARY KEY,
            player_id text,
            promo_id text
        )
    """

    def write(self, cursor: Cursor[DictRow], events: list[Any], positions: list[int]) -> None:
        streams = list({event.originator_id for event in events})
        known: dict[UUID, dict[str, Any]] = {
            row["stream_id"]: row
            for row in cursor.execute(
                f"SELECT * FROM {self.table('event_index_streams')} WHERE stream_id = ANY(%s)", [streams]
            ).fetchall()
        }
        new_streams: dict[UUID, dict[str, Any]] = {}
        rows = []
        for event, position in zip(events, positions):
            named = named_entities(event)
            remembered = known.get(event.originator_id) or new_streams.get(event.originator_id) or {}
            entities = {k: named[k] or remembered.get(k) for k in ("player_id", "promo_id", "award_id")}
            if event.originator_id not in known and event.originator_id not in new_streams and (named["player_id"] or named["promo_id"]):
                new_streams[event.originator_id] = {"player_id": named["player_id"], "promo_id": named["promo_id"]}
            rows.append((
                position, event_id_for(event.originator_id, event.originator_version),
                type(event).__name__, event.originator_id, event.originator_version, event.timestamp,
                entities["player_id"], entities["promo_id"], entities["award_id"], Jsonb(payload(event)),
            ))
        if new_streams:
            ids = list(new_streams)
            cursor.execute(
                f"""INSERT INTO {self.table("event_index_streams")} SELECT * FROM unnest(%s::uuid[], %s::text[], %s::text[])
                    ON CONFLICT (stream_id) DO NOTHING""",
                [ids, *[[new_streams[i][k] for i in ids] for k in ("player_id", "promo_id")]],
            )
        columns = list(zip(*rows))
        cursor.execute(
            f"""INSERT INTO {self.table("event_index")} SELECT * FROM unnest(%s::bigint[], %s::uuid[], %s::text[], %s::uuid[],
                %s::bigint[], %s::timestamptz[], %s::text[], %s::text[], %s::text[], %s::jsonb[])""",
            [list(column) for column in columns],
        )


class EventIndexProjection(BatchProjection):
    name = "event_index"
    topics: tuple[str, ...] = ()  # every event
