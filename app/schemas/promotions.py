from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, post_dump, post_load, pre_dump, validate, validates_schema

from app.schemas.fields import Instant, Money, SpinsOrCoins, StrictBoolean, StrictInteger, Text
from domain.promotion import AWARD_TYPE_GOLD_COINS, AWARD_TYPES, COINS_ONLY, SPINS_ONLY, PromotionTerms

MAX_SPINS = 10_000
MAX_BUDGET = 1_000_000_000


class PromotionTermsSchema(Schema):
    name = Text(200, required=True)
    award_type = fields.String(required=True, validate=validate.OneOf(AWARD_TYPES))
    game_codes = fields.List(fields.String(validate=validate.Length(max=64)), required=True, validate=validate.Length(min=1, max=20))
    max_spins_per_award = StrictInteger(validate=validate.Range(min=1, max=MAX_SPINS), metadata={"description": "FREE_SPINS only (required)"})
    bet_per_spin = Money(metadata={"example": "0.20", "description": "FREE_SPINS only (required)"})
    currency = fields.String(validate=validate.Length(equal=3), metadata={"description": "FREE_SPINS only (required)"})
    max_coins_per_award = Money(metadata={"example": "500.00", "description": "GOLD_COINS only (required): coins, two decimals"})
    budget_coins = Money(metadata={"example": "1000000.00", "description": "GOLD_COINS only (required): coins, two decimals"})
    starts_at = Instant(required=True)
    ends_at = Instant(required=True)
    budget_spins = StrictInteger(validate=validate.Range(min=1, max=MAX_BUDGET), metadata={"description": "FREE_SPINS only (required)"})
    per_player_daily_limit = SpinsOrCoins(most_spins=MAX_BUDGET, load_default=None, allow_none=True, metadata={"description": "spins (an integer), or for GOLD_COINS coins (\"1000.00\")"})
    per_player_weekly_limit = SpinsOrCoins(most_spins=MAX_BUDGET, load_default=None, allow_none=True, metadata={"description": "spins (an integer), or for GOLD_COINS coins (\"5000.00\")"})
    allowed_regions = fields.List(fields.String(validate=validate.Length(max=6)), required=True, validate=validate.Length(min=1, max=500))
    award_ttl_seconds = StrictInteger(validate=validate.Range(min=60, max=366 * 86400), metadata={"description": "FREE_SPINS only (required)"})
    test = StrictBoolean(load_default=False, metadata={"description": "a smoke test's promotion: left out of liability and money totals"})

    @validates_schema
    def _terms_of_the_award_type(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("award_type") not in AWARD_TYPES:
            return
        coins = data["award_type"] == AWARD_TYPE_GOLD_COINS
        required, foreign = (COINS_ONLY, SPINS_ONLY) if coins else (SPINS_ONLY, COINS_ONLY)
        errors = {name: ["Missing data for required field."] for name in required if name not in data}
        errors |= {name: [f"is not a term of {data['award_type']} promotions"] for name in foreign if data.get(name) is not None}
        if errors:
            raise ValidationError(errors)

    @post_load
    def to_terms(self, data: dict[str, Any], **_: Any) -> PromotionTerms:
        return PromotionTerms(**data)


class PromotionSchema(PromotionTermsSchema):
    promo_id = fields.String(required=True)
    spins_reserved = fields.Integer(metadata={"description": "FREE_SPINS: spins awarded so far"})
    coins_reserved = Money(metadata={"description": "GOLD_COINS: coins awarded so far"})
    budget_left = SpinsOrCoins(most_spins=MAX_BUDGET, required=True, metadata={"description": "spins, or for GOLD_COINS coins"})
    ended_at = Instant(allow_none=True, required=True)
    created_at = Instant(required=True)
    updated_at = Instant(required=True)

    @pre_dump
    def flatten(self, view: Any, **_: Any) -> dict[str, Any]:
        """The view nests its terms; on the wire they stand beside the budget figures."""
        return {**view.terms.as_dict(), **{k: v for k, v in vars(view).items() if k != "terms"}}

    @post_dump
    def _fields_of_the_award_type(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        """A promotion shows the terms and figures of its award type only."""
        coins = data["award_type"] == AWARD_TYPE_GOLD_COINS
        other = SPINS_ONLY + ("spins_reserved",) if coins else COINS_ONLY + ("coins_reserved",)
        return {k: v for k, v in data.items() if k not in other}


class EndPromotionSchema(Schema):
    reason = Text(500, load_default="ended by operator")
