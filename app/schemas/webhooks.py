"""Webhook subscriptions and their deliveries, on the wire."""

from __future__ import annotations

from urllib.parse import urlsplit

from marshmallow import Schema, ValidationError, fields, validate, validates

from app.schemas.common import PageArgsSchema
from app.schemas.fields import Instant, Text
from projections.webhook_outbox import WEBHOOK_EVENT_TYPES
from app.webhooks.store import STATUSES


class SubscriptionRequestSchema(Schema):
    url = fields.URL(required=True, schemes={"http", "https"}, require_tld=False, validate=validate.Length(max=2048),
                     metadata={"example": "https://crm.example.com/hooks/spinledger"})
    event_types = fields.List(
        fields.String(validate=validate.OneOf(WEBHOOK_EVENT_TYPES)), required=True,
        validate=validate.Length(min=1, max=len(WEBHOOK_EVENT_TYPES)), metadata={"example": ["FreeSpinsAwarded", "AwardCancelled"]},
    )
    description = Text(200, load_default=None, allow_none=True)

    @validates("url")
    def _no_credentials(self, url: str, **_: object) -> None:
        parts = urlsplit(url)
        if parts.username is not None or parts.password is not None:
            raise ValidationError("must not carry a user or password: the signature authenticates spinledger")


class SubscriptionSchema(Schema):
    id = fields.UUID(required=True)
    url = fields.String(required=True)
    event_types = fields.List(fields.String(), required=True)
    description = fields.String(required=True, allow_none=True)
    created_at = Instant(required=True)


class NewSubscriptionSchema(SubscriptionSchema):
    secret = fields.String(required=True, metadata={"description": "the HMAC-SHA256 key of Webhook-Signature: shown only in this answer"})


class DeliveryArgsSchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf(STATUSES))


class DeliverySchema(Schema):
    id = fields.UUID(required=True, metadata={"description": "the Webhook-Id every attempt carries"})
    event_id = fields.UUID(required=True)
    event_type = fields.String(required=True)
    position = fields.Integer(required=True)
    status = fields.String(required=True, metadata={"enum": list(STATUSES)})
    attempts = fields.Integer(required=True)
    created_at = Instant(required=True)
    next_attempt_at = Instant(required=True, metadata={"description": "when a pending delivery is tried next"})
    last_attempt_at = Instant(required=True, allow_none=True)
    last_status = fields.Integer(required=True, allow_none=True, metadata={"description": "the HTTP status the endpoint last answered"})
    last_error = fields.String(required=True, allow_none=True)
    delivered_at = Instant(required=True, allow_none=True)


class RedeliverRequestSchema(Schema):
    delivery_ids = fields.List(fields.UUID(), load_default=None, validate=validate.Length(min=1, max=1000),
                               metadata={"description": "these deliveries (dead or delivered); left out: every dead one"})


class RedeliverResultSchema(Schema):
    requeued = fields.Integer(required=True)
