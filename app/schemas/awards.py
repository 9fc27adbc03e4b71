from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from app.errors import ApiError, validation_error
from app.schemas.common import ErrorSchema
from app.schemas.fields import Instant, Money, Pattern, StrictInteger, Text, external_id
from app.schemas.promotions import MAX_SPINS
from domain.errors import DomainError
from domain.promotion import AWARD_TYPE_FREE_SPINS
from domain.requests import AwardRequest

MAX_BATCH = 1000
IDEMPOTENCY_KEY = Pattern(r"^[\x21-\x7e]{1,255}$", error="must be 1-255 printable ASCII characters without spaces")


class AwardRequestSchema(Schema):
    """Seed 000's award request. ``idempotency_key`` may come in the ``Idempotency-Key`` header instead."""

    request_id = Text(128, load_default=None, allow_none=True)
    player_id = external_id(required=True, metadata={"example": "12345"})
    promo_id = external_id(required=True, metadata={"example": "promo-free-5"})
    award_type = fields.String(required=True, validate=validate.OneOf([AWARD_TYPE_FREE_SPINS]))
    award_value = StrictInteger(required=True, validate=validate.Range(min=1, max=MAX_SPINS), metadata={"example": 5})
    game_code = fields.String(required=True, validate=validate.Length(min=1, max=64), metadata={"example": "crystal-forge-v1"})
    issued_at = Instant(load_default=None, allow_none=True)
    expires_at = Instant(load_default=None, allow_none=True)
    idempotency_key = fields.String(validate=IDEMPOTENCY_KEY, metadata={"example": "promo-free-5-12345-20251101"})



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
    status = fields.Constant("OK", required=True)
    event_id = fields.String(required=True)
    award_id = fields.String(required=True)
    awarded_count = fields.Integer(required=True)
    server_time = Instant(required=True)
    expires_at = Instant(required=True)


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
    status = fields.String(required=True, validate=validate.OneOf(["active", "completed", "expired", "cancelled"]))
    spins_awarded = fields.Integer(required=True)
    spins_used = fields.Integer(required=True)
    spins_remaining = fields.Integer(required=True)
    spins_forfeited = fields.Integer(required=True)
    bet_per_spin = Money(required=True)
    currency = fields.String(required=True)
    total_win = Money(required=True)
    issued_at = Instant(required=True)
    expires_at = Instant(required=True)
    cancelled_at = Instant(allow_none=True, required=True)


class CancelRequestSchema(Schema):
    reason = Text(500, required=True, metadata={"example": "campaign withdrawn"})
    idempotency_key = fields.String(validate=IDEMPOTENCY_KEY, metadata={"description": "or the Idempotency-Key header: a retried cancel gets the first answer back"})


class AwardByKeySchema(Schema):
    idempotency_key = fields.String(required=True, validate=IDEMPOTENCY_KEY, metadata={"example": "promo-free-5-12345-20251101"})
