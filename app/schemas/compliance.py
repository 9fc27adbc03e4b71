"""Compliance: the event history and its export, spins and their replay, a player's last games (snake_case)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates

from app.schemas.common import page_schema
from app.schemas.fields import EXTERNAL_ID_PATTERN, Instant, Money, Pattern
from domain.event_types import EVENT_TYPES
from projections.event_history import EventFilter
from projections.source import plain

POSITION = Pattern(r"^[0-9]{1,18}$", error="must be the next_cursor of a previous page")


class EventFilterSchema(Schema):
    player_id = fields.String(validate=Pattern(EXTERNAL_ID_PATTERN))
    promo_id = fields.String(validate=Pattern(EXTERNAL_ID_PATTERN))
    award_id = fields.UUID()
    type = fields.List(fields.String(), metadata={"description": "an event type; repeat for several"})
    from_ = Instant(data_key="from", metadata={"description": "events at or after this UTC instant"})
    to = Instant(metadata={"description": "events before this UTC instant"})
    after = fields.String(validate=POSITION, metadata={"description": "next_cursor of the previous page: a position"})

    @validates("type")
    def _known_types(self, value: list[str], **_: Any) -> None:
        unknown = sorted(set(value) - EVENT_TYPES)
        if unknown:
            raise ValidationError(f"unknown event type {', '.join(unknown)}; the types are {', '.join(sorted(EVENT_TYPES))}")

    @post_load
    def _selection(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        award_id = data.get("award_id")
        selection = EventFilter(
            player_id=data.get("player_id"), promo_id=data.get("promo_id"), award_id=None if award_id is None else str(award_id),
            types=tuple(data.get("type", ())), since=data.get("from_"), until=data.get("to"),
        )
        if selection.since and selection.until and selection.since >= selection.until:
            raise ValidationError("must be after from", field_name="to")
        rest = {k: v for k, v in data.items() if k not in FILTER_FIELDS}
        return {**rest, "selection": selection, "after": int(data.get("after", "0"))}


FILTER_FIELDS = ("player_id", "promo_id", "award_id", "type", "from_", "to", "after")


class EventArgsSchema(EventFilterSchema):
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class ExportArgsSchema(EventFilterSchema):
    format = fields.String(load_default="jsonl", validate=validate.OneOf(["jsonl", "csv"]))


class PlainDict(fields.Dict):
    """A stored record as JSON: amounts as decimal strings, instants in ISO-8601, ids as strings."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return None if value is None else plain(value)


class EventSchema(Schema):
    position = fields.Integer(required=True, metadata={"description": "the event's global position; the cursor"})
    event_id = fields.UUID(required=True)
    type = fields.String(required=True)
    stream_id = fields.UUID(required=True)
    version = fields.Integer(required=True)
    occurred_at = Instant(required=True)
    player_id = fields.String(allow_none=True, required=True)
    promo_id = fields.String(allow_none=True, required=True)
    award_id = fields.String(allow_none=True, required=True)
    payload = fields.Dict(required=True, metadata={"description": "the event's stored state, as JSON"})


EventPage = page_schema(EventSchema, "EventPage")


class SpinRecordSchema(Schema):
    spin_id = fields.String(required=True)
    event_id = fields.UUID(required=True)
    player_id = fields.String(required=True)
    stream_id = fields.UUID(required=True)
    version = fields.Integer(required=True)
    settled_at = Instant(required=True)
    record = PlainDict(required=True, metadata={"description": "the SpinSettled event's spin, as stored"})


class SpinReplaySchema(Schema):
    spin_id = fields.Function(lambda replay: replay.spin.spin_id, required=True)
    game_code = fields.Function(lambda replay: replay.spin.record["game_code"], required=True)
    game_version = fields.Function(lambda replay: replay.spin.record["game_version"], required=True)
    matches = fields.Boolean(required=True, metadata={"description": "the game computes the stored outcome again, field for field"})
    mismatches = fields.List(fields.String(), required=True, metadata={"description": "the fields where it does not"})
    stored = fields.Function(lambda replay: plain({k: replay.spin.record.get(k) for k in replay.recomputed}), required=True)
    recomputed = PlainDict(required=True)


class GameHistoryArgsSchema(Schema):
    after = fields.String(validate=POSITION, metadata={"description": "next_cursor of the previous page"})
    limit = fields.Integer(load_default=10, validate=validate.Range(min=1, max=100))


class GameRoundSchema(Schema):
    round_id = fields.String(required=True)
    funding = fields.String(required=True, metadata={"enum": ["cash", "award"]})
    award_id = fields.String(allow_none=True, required=True)
    block_id = fields.String(allow_none=True, required=True, metadata={"description": "the free-spins block the game holds"})
    complete = fields.Boolean(required=True)
    currency = fields.String(required=True)
    started_at = Instant(required=True)
    ended_at = Instant(required=True)
    balance_start = Money(required=True)
    balance_end = Money(required=True)
    bet = Money(required=True, metadata={"description": "taken from the cash balance"})
    total_win = Money(required=True)
    spins = fields.List(PlainDict(), required=True, metadata={"description": "every spin of the game, oldest first"})


GameHistoryPage = page_schema(GameRoundSchema, "GameHistoryPage")
