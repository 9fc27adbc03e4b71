from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, post_load, validate

from app.schemas.fields import Instant, Money, StrictBoolean
from app.schemas.awards import AwardStatusSchema
from domain.player import SELF_EXCLUSION_MONTHS
from domain.requests import PlayerProfile


class PlayerProfileSchema(Schema):
    region = fields.String(required=True, validate=validate.Length(max=6), metadata={"example": "CA-ON"})
    birth_date = fields.Date(required=True, metadata={"example": "1990-04-01"})
    currency = fields.String(required=True, validate=validate.Length(equal=3), metadata={"example": "CAD"})
    test = StrictBoolean(load_default=False, metadata={"description": "a smoke test's player (set at registration): left out of money totals"})

    @post_load
    def to_profile(self, data: dict[str, Any], **_: Any) -> PlayerProfile:
        return PlayerProfile(**data)


class BonusBlockSchema(Schema):
    block_id = fields.String(required=True)
    spins_played = fields.Integer(required=True)
    total_spins = fields.Integer(required=True)
    total_win = Money(required=True)
    triggering_bet = Money(required=True)
    multiplier = Money(required=True)
    award_id = fields.String(allow_none=True, required=True, metadata={"description": "the award whose spin triggered the block, if one did"})
    coins = fields.Boolean(dump_default=False, metadata={"description": "triggered in gold coins: played and paid in coins (API 1.6)"})


class PlayerSchema(Schema):
    player_id = fields.String(required=True)
    region = fields.String(required=True)
    birth_date = fields.Date(required=True)
    currency = fields.String(required=True)
    balance = Money(required=True)
    coin_balance = Money(required=True, metadata={"description": "gold coins: social-casino play, never convertible to cash (API 1.6)"})
    test = fields.Boolean(required=True)
    self_excluded_until = Instant(allow_none=True, required=True)
    awards = fields.List(fields.Nested(AwardStatusSchema), required=True, metadata={"description": "active awards"})
    bonus_block = fields.Nested(BonusBlockSchema, allow_none=True, required=True, metadata={"description": "the free-spins block in play"})


class SelfExclusionRequestSchema(Schema):
    period = fields.String(required=True, validate=validate.OneOf(list(SELF_EXCLUSION_MONTHS)))


class SelfExclusionSchema(Schema):
    player_id = fields.String(required=True)
    self_excluded_until = Instant(required=True)
    awards_cancelled = fields.List(fields.String(), required=True)
