"""Schemas of the games' catalogue and their maintenance."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, post_load

from app.schemas.fields import Instant, StrictBoolean, Text
from domain.maintenance import MESSAGE_MAX, MaintenanceTerms
from domain.use_cases.games import MAINTENANCE, OPEN


class MaintenanceRequestSchema(Schema):
    active = StrictBoolean(required=True, metadata={"description": "true: the game's calls answer 503 GAME_UNDER_MAINTENANCE"})
    message = Text(MESSAGE_MAX, required=True, metadata={"description": "what players are told (or, switching off, why)"})
    until = Instant(load_default=None, allow_none=True, metadata={"description": "when the maintenance ends by itself (in the future); none: until switched off"})

    @post_load
    def terms(self, data: dict[str, Any], **_: Any) -> MaintenanceTerms:
        return MaintenanceTerms(active=data["active"], message=data["message"], until=data["until"])


class GameStatusSchema(Schema):
    game_code = fields.String(required=True)
    name = fields.String(required=True)
    version = fields.String(required=True)
    state = fields.String(required=True, metadata={"enum": [OPEN, MAINTENANCE]})
    message = fields.String(required=True, allow_none=True, metadata={"description": "the maintenance message, when under maintenance"})
    until = Instant(required=True, allow_none=True, metadata={"description": "when the maintenance ends by itself, if set"})
    since = Instant(required=True, allow_none=True, metadata={"description": "when the maintenance in force was set"})


class GameListSchema(Schema):
    data = fields.List(fields.Nested(GameStatusSchema), required=True)


class GameMaintenanceSchema(Schema):
    """The game config's account of a maintenance that a block in play may still be finished under."""

    message = fields.String(required=True)
    until = Instant(required=True, allow_none=True)
