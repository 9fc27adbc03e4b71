from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, post_load, pre_dump, validate

from app.schemas.fields import Instant, Money, StrictInteger, Text
from domain.promotion import AWARD_TYPE_FREE_SPINS, PromotionTerms

MAX_SPINS = 10_000
MAX_BUDGET = 1_000_000_000


class PromotionTermsSchema(Schema):
    name = Text(200, required=True)
    award_type = fields.String(required=True, validate=validate.OneOf([AWARD_TYPE_FREE_SPINS]))
    game_codes = fields.List(fields.String(validate=validate.Length(max=64)), required=True, validate=validate.Length(min=1, max=20))
    max_spins_per_award = StrictInteger(required=True, validate=validate.Range(min=1, max=MAX_SPINS))
    bet_per_spin = Money(required=True, metadata={"example": "0.20"})
    currency = fields.String(required=True, validate=validate.Length(equal=3))
    starts_at = Instant(required=True)
    ends_at = Instant(required=True)
    budget_spins = StrictInteger(required=True, validate=validate.Range(min=1, max=MAX_BUDGET))
    per_player_daily_limit = StrictInteger(load_default=None, allow_none=True, validate=validate.Range(min=1, max=MAX_BUDGET))
    per_player_weekly_limit = StrictInteger(load_default=None, allow_none=True, validate=validate.Range(min=1, max=MAX_BUDGET))
    allowed_regions = fields.List(fields.String(validate=validate.Length(max=6)), required=True, validate=validate.Length(min=1, max=500))
    award_ttl_seconds = StrictInteger(required=True, validate=validate.Range(min=60, max=366 * 86400))

    @post_load
    def to_terms(self, data: dict[str, Any], **_: Any) -> PromotionTerms:
        return PromotionTerms(**data)


class PromotionSchema(PromotionTermsSchema):
    promo_id = fields.String(required=True)
    spins_reserved = fields.Integer(required=True, metadata={"description": "spins awarded so far"})
    budget_left = fields.Integer(required=True)
    ended_at = Instant(allow_none=True, required=True)
    created_at = Instant(required=True)
    updated_at = Instant(required=True)

    @pre_dump
    def flatten(self, view: Any, **_: Any) -> dict[str, Any]:
        """The view nests its terms; on the wire they stand beside the budget figures."""
        return {**view.terms.as_dict(), **{k: v for k, v in vars(view).items() if k != "terms"}}


class EndPromotionSchema(Schema):
    reason = Text(500, load_default="ended by operator")
