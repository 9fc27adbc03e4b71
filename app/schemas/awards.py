from __future__ import annotations

from typing import Any

from decimal import Decimal

from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_dump, validate, validates_schema

from app.errors import ApiError, validation_error
from app.schemas.common import ErrorSchema
from app.schemas.fields import Instant, Money, Pattern, SpinsOrCoins, Text, external_id
from app.schemas.promotions import MAX_SPINS
from domain.errors import DomainError
from domain.promotion import AWARD_TYPE_GOLD_COINS, AWARD_TYPES
from domain.requests import AwardRequest

MAX_BATCH = 1000
IDEMPOTENCY_KEY = Pattern(r"^[\x21-\x7e]{1,255}$", error="must be 1-255 printable ASCII characters without spaces")


class AwardRequestSchema(Schema):
    """Seed 000's award request. ``idempotency_key`` may come in the ``Idempotency-Key`` header instead."""

    request_id = Text(128, load_default=None, allow_none=True)
    player_id = external_id(required=True, metadata={"example": "12345"})
    promo_id = external_id(required=True, metadata={"example": "promo-free-5"})
    award_type = fields.String(required=True, validate=validate.OneOf(AWARD_TYPES))
    award_value = SpinsOrCoins(most_spins=MAX_SPINS, required=True, metadata={
        "example": 5, "description": f"FREE_SPINS: spins, an integer from 1 to {MAX_SPINS}; GOLD_COINS: coins, a decimal string such as \"500.00\""})
    game_code = fields.String(required=True, validate=validate.Length(min=1, max=64), metadata={"example": "crystal-forge-v1"})
    issued_at = Instant(load_default=None, allow_none=True)
    expires_at = Instant(load_default=None, allow_none=True)
    idempotency_key = fields.String(validate=IDEMPOTENCY_KEY, metadata={"example": "promo-free-5-12345-20251101"})

    @validates_schema
    def _value_of_the_award_type(self, data: dict[str, Any], **_: Any) -> None:
        value = data.get("award_value")
        if value is None or data.get("award_type") not in AWARD_TYPES:
            return
        if data["award_type"] == AWARD_TYPE_GOLD_COINS:
            if not isinstance(value, Decimal):
                raise ValidationError({"award_value": ['must be a decimal string of coins such as "500.00" for GOLD_COINS']})
        elif not isinstance(value, int):
            raise ValidationError({"award_value": ["must be a JSON integer of spins for FREE_SPINS"]})


class IdempotencyHeaderSchema(Schema):
    idempotency_key = fields.String(data_key="Idempotency-Key", validate=IDEMPOTENCY_KEY)

    class Meta:
        unknown = EXCLUDE


def one_key(body_key: str | None, header_key: str | None) -> str | None:
    """The idempotency key, from the body or the ``Idempotency-Key`` header (they must agree), or None."""
    if header_key is not None and body_key is not None and header_key != body_key:
        raise ApiError("VALIDATION_ERROR", "idempotency_key differs from the Idempotency-Key header", field="idempotency_key")
    return body_key or header_key


def award_request(body: dict[str, Any], header_key: str | None = None) -> AwardRequest:
    """The award request, its key taken from the body or the ``Idempotency-Key`` header (they must agree)."""
    key = one_key(body.get("idempotency_key"), header_key)
    if key is None:
        raise ApiError("MISSING_FIELD", "idempotency_key: is required (in the body or the Idempotency-Key header)", field="idempotency_key")
    return AwardRequest(**{**body, "idempotency_key": key})


def batch_requests(items: list[Any]) -> list[AwardRequest | ApiError | DomainError]:
    """Each item parsed on its own: one bad item gets its own error and does not sink the batch."""
    schema = AwardRequestSchema()
    parsed: list[AwardRequest | ApiError | DomainError] = []
    for item in items:
        try:
            parsed.append(award_request(schema.load(item)))
        except ValidationError as error:
            parsed.append(validation_error(error.messages))
        except (ApiError, DomainError) as error:
            parsed.append(error)
    return parsed


class BatchRequestSchema(Schema):
    awards = fields.List(
        fields.Raw(), required=True, validate=validate.Length(min=1, max=MAX_BATCH),
        metadata={"description": f"1 to {MAX_BATCH} award requests, each as POST /api/v1/awards"},
    )


class AwardReceiptSchema(Schema):
    """Seed 000's response. An award of gold coins (API 1.6) says ``award_type`` and ``awarded_coins`` in place of
    ``awarded_count`` and ``expires_at``: coins are credited at once and do not expire."""

    status = fields.Constant("OK", required=True)
    event_id = fields.String(required=True)
    award_id = fields.String(required=True)
    award_type = fields.String(metadata={"description": "GOLD_COINS only"})
    awarded_count = fields.Integer(metadata={"description": "spins awarded (FREE_SPINS)"})
    awarded_coins = Money(metadata={"description": "coins credited (GOLD_COINS)"})
    server_time = Instant(required=True)
    expires_at = Instant(metadata={"description": "FREE_SPINS only"})

    @post_dump
    def _fields_of_the_award_type(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        if data.get("award_type") == AWARD_TYPE_GOLD_COINS:
            return {k: v for k, v in data.items() if k not in ("awarded_count", "expires_at")}
        return {k: v for k, v in data.items() if k not in ("award_type", "awarded_coins")}


class BatchItemSchema(Schema):
    index = fields.Integer(required=True)
    status = fields.Integer(required=True, metadata={"description": "the HTTP status this item would have alone"})
    idempotent_replayed = fields.Boolean(required=True)
    body = fields.Nested(AwardReceiptSchema, allow_none=True, required=True)
    error = fields.Nested(ErrorSchema, allow_none=True, required=True)


class BatchResultSchema(Schema):
    results = fields.List(fields.Nested(BatchItemSchema), required=True)


class AwardStatusSchema(Schema):
    award_id = fields.String(required=True)
    player_id = fields.String(required=True)
    promo_id = fields.String(required=True)
    game_code = fields.String(required=True)
    award_type = fields.String(required=True)
    coins_awarded = Money(required=True, allow_none=True, metadata={"description": "GOLD_COINS: the coins credited (they complete the award at once)"})
    status = fields.String(required=True, validate=validate.OneOf(["active", "completed", "expired", "cancelled"]))
    spins_awarded = fields.Integer(required=True)
    spins_used = fields.Integer(required=True)
    spins_remaining = fields.Integer(required=True)
    spins_forfeited = fields.Integer(required=True)
    bet_per_spin = Money(required=True, allow_none=True)
    currency = fields.String(required=True, metadata={"description": "GC for GOLD_COINS"})
    total_win = Money(required=True)
    issued_at = Instant(required=True)
    expires_at = Instant(required=True, allow_none=True)
    cancelled_at = Instant(allow_none=True, required=True)


class CancelRequestSchema(Schema):
    reason = Text(500, required=True, metadata={"example": "campaign withdrawn"})
    idempotency_key = fields.String(validate=IDEMPOTENCY_KEY, metadata={"description": "or the Idempotency-Key header: a retried cancel gets the first answer back"})


class AwardByKeySchema(Schema):
    idempotency_key = fields.String(required=True, validate=IDEMPOTENCY_KEY, metadata={"example": "promo-free-5-12345-20251101"})
