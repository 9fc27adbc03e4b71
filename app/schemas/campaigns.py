from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, post_load, validate

from app.schemas.common import PageArgsSchema
from app.schemas.fields import Instant, StrictInteger, Text, external_id
from app.schemas.promotions import MAX_SPINS
from domain.campaign import CANCELLED, COMPLETED, DRAFT, FAILED, OUTCOMES, QUEUED, RUNNING, CampaignTerms

STATUSES = [DRAFT, QUEUED, RUNNING, COMPLETED, CANCELLED, FAILED]


class CampaignTermsSchema(Schema):
    name = Text(200, required=True, metadata={"example": "Weekly reactivation"})
    promo_id = external_id(required=True, metadata={"example": "promo-free-5"})
    award_value = StrictInteger(required=True, validate=validate.Range(min=1, max=MAX_SPINS), metadata={"example": 5})
    game_code = fields.String(required=True, validate=validate.Length(min=1, max=64), metadata={"example": "crystal-forge-v1"})
    expires_at = Instant(load_default=None, allow_none=True, metadata={"description": "each award's expiry; the promotion's TTL when absent"})

    @post_load
    def to_terms(self, data: dict[str, Any], **_: Any) -> CampaignTerms:
        return CampaignTerms(**data)


class CampaignSchema(Schema):
    campaign_id = fields.String(required=True)
    name = fields.String(required=True)
    promo_id = fields.String(required=True)
    award_value = fields.Integer(required=True)
    game_code = fields.String(required=True)
    expires_at = Instant(required=True, allow_none=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    players_total = fields.Integer(required=True)
    processed = fields.Integer(required=True)
    awarded = fields.Integer(required=True)
    replayed = fields.Integer(required=True, metadata={"description": "awards its key had made before the campaign issued them"})
    refused = fields.Integer(required=True)
    refused_by_code = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    progress = fields.Float(required=True, metadata={"description": "processed / players_total, from 0 to 1"})
    launched_at = Instant(required=True, allow_none=True)
    finished_at = Instant(required=True, allow_none=True)


class LaunchedSchema(Schema):
    campaign_id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))


class AudienceAddedSchema(Schema):
    campaign_id = fields.String(required=True)
    players_added = fields.Integer(required=True, metadata={"description": "players of this upload new to the audience"})
    players_total = fields.Integer(required=True)


class CancelCampaignSchema(Schema):
    reason = Text(500, load_default="cancelled by operator")


class CampaignResultSchema(Schema):
    player_id = fields.String(required=True)
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    award_id = fields.UUID(required=True, allow_none=True)
    error_code = fields.String(required=True, allow_none=True)


class ResultsArgsSchema(PageArgsSchema):
    outcome = fields.String(validate=validate.OneOf(["awarded", "refused", "replayed"]))
