"""The event index for compliance: one row per event, with its position, type, stream, version, time, the
player, promotion and award it concerns, and the event itself as JSONB.

Only some events name their player or promotion; the view remembers, per stream, what its first event
said (``event_index_streams``), so that every later event of the stream is indexed under them too. An
award's events are indexed under the award; a spin or a block of an award's under it too.
"""

from __future__ import annotations

import json
import re
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification
from psycopg import Cursor
from psycopg.rows import DictRow

from projections.view import BatchProjection, View

STATE_FIELDS_LEFT_OUT = ("timestamp", "originator_topic")  # the row's own columns say them
# The library's transcoder writes a value of a non-JSON type as {"_type_": ..., "_data_": "..."}; the index
# holds the value itself, as the API shows it: money as a decimal string, an instant in ISO-8601, an id as a UUID.
WRAPPED = re.compile(rb'\{"_type_":"(decimal_str|datetime_iso|uuid_hex)","_data_":"([^"]*)"\}')


def _unwrapped(match: re.Match[bytes]) -> bytes:
    kind, data = match.group(1), match.group(2)
    if kind == b"uuid_hex":
        data = str(UUID(data.decode())).encode()
    return b'"' + data + b'"'


def unwrapped(state: bytes) -> str:
    """An event's stored state, as JSON text, with every value of a non-JSON type unwrapped."""
    return WRAPPED.sub(_unwrapped, state).decode()


def named_entities(topic: str, stream_id: UUID, state: dict[str, Any]) -> dict[str, Any]:
    """The player, promotion and award an event names itself."""
    kind = topic.partition(":")[2].split(".")[0]
    found = {"player_id": state.get("player_id"), "promo_id": state.get("promo_id"), "award_id": None}
    if kind == "Award":
        found["award_id"] = str(stream_id)
    elif kind == "Player" and "award_id" in state:
        found["award_id"] = state["award_id"]
    elif kind == "Player" and isinstance(state.get("spin"), dict):
        found["award_id"] = state["spin"].get("award_id")
    return found


class EventIndexView(View):
    name = "event_index"
    tables = ("event_index", "event_index_streams")
    indexes = ("event_index_player", "event_index_promo", "event_index_award", "event_index_type", "event_index_time")
    ddl = """
        CREATE TABLE IF NOT EXISTS {p}event_index (
            position bigint PRIMARY KEY,
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

    def write(self, cursor: Cursor[DictRow], events: list[Notification], positions: list[int]) -> None:
        streams = list({event.originator_id for event in events})
        known: dict[UUID, dict[str, Any]] = {
            row["stream_id"]: row
            for row in cursor.execute(
                f"SELECT * FROM {self.table('event_index_streams')} WHERE stream_id = ANY(%s)", [streams]
            ).fetchall()
        }
        new_streams: dict[UUID, dict[str, Any]] = {}
        rows = []
        for event in events:
            text = unwrapped(event.state)
            state = json.loads(text)
            named = named_entities(event.topic, event.originator_id, state)
            remembered = known.get(event.originator_id) or new_streams.get(event.originator_id) or {}
            entities = {k: named[k] or remembered.get(k) for k in ("player_id", "promo_id", "award_id")}
            if event.originator_id not in known and event.originator_id not in new_streams and (named["player_id"] or named["promo_id"]):
                new_streams[event.originator_id] = {"player_id": named["player_id"], "promo_id": named["promo_id"]}
            rows.append((
                event.id, event.topic.rsplit(".", 1)[-1], event.originator_id, event.originator_version, state["timestamp"],
                entities["player_id"], entities["promo_id"], entities["award_id"], text,
            ))
        if new_streams:
            ids = list(new_streams)
            cursor.execute(
                f"""INSERT INTO {self.table("event_index_streams")} SELECT * FROM unnest(%b::uuid[], %b::text[], %b::text[])
                    ON CONFLICT (stream_id) DO NOTHING""",
                [ids, *[[new_streams[i][k] for i in ids] for k in ("player_id", "promo_id")]],
            )
        columns = list(zip(*rows))
        cursor.execute(
            f"""INSERT INTO {self.table("event_index")}
                SELECT position, type, stream_id, version, occurred_at::timestamptz, player_id, promo_id, award_id,
                       payload::jsonb - %b::text[]
                FROM unnest(%b::bigint[], %b::text[], %b::uuid[], %b::bigint[], %b::text[], %b::text[], %b::text[], %b::text[], %b::text[])
                     AS u(position, type, stream_id, version, occurred_at, player_id, promo_id, award_id, payload)""",
            [list(STATE_FIELDS_LEFT_OUT), *[list(column) for column in columns]],
        )


class EventIndexProjection(BatchProjection):
    name = "event_index"
    topics: tuple[str, ...] = ()  # every event
    decoded = False  # it indexes the stored form itself: its ``events`` are the store's notifications
