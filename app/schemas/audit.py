"""The raw audit log's query and its rows (snake_case)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate

from app.schemas.common import PageArgsSchema, page_schema
from app.schemas.fields import Instant


class AuditQueryArgsSchema(PageArgsSchema):
    from_ = Instant(data_key="from", metadata={"description": "calls received at or after this UTC instant"})
    to = Instant(metadata={"description": "calls received before this UTC instant"})
    route = fields.String(validate=validate.Length(min=1, max=200), metadata={"example": "/api/v1/awards/<uuid:award_id>/cancel"})
    player_id = fields.String(validate=validate.Length(min=1, max=255))
    key_name = fields.String(validate=validate.Length(min=1, max=255), metadata={"description": "the API key's name"})
    bodies = fields.Boolean(load_default=True, metadata={
        "description": "false: each row's bodies are null and only their sizes are given; GET /audit/requests/{id} has them (API 1.8)"})

    @post_load
    def _query(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        since, until = data.pop("from_", None), data.pop("to", None)
        if since and until and since >= until:
            raise ValidationError("must be after from", field_name="to")
        return {**data, "since": since, "until": until}


class AuditRequestSchema(Schema):
    id = fields.Integer(required=True)
    at = Instant(required=True, metadata={"description": "when the call was received (UTC)"})
    method = fields.String(required=True)
    route = fields.String(required=True, metadata={"example": "/api/v1/players/<extid:player_id>/deposits"})
    path = fields.String(required=True)
    status = fields.Integer(required=True)
    key_name = fields.String(allow_none=True, required=True, metadata={"description": "the API key's name (never the key)"})
    session_id = fields.String(allow_none=True, required=True, metadata={"description": "the game session of a game call"})
    idempotency_key = fields.String(allow_none=True, required=True)
    request_id = fields.String(required=True)
    player_id = fields.String(allow_none=True, required=True, metadata={"description": "the player, when the call concerns one"})
    player_ids = fields.List(fields.String(), required=True, metadata={"description": "every player the call concerns"})
    latency_ms = fields.Float(required=True)
    request_body = fields.Raw(allow_none=True, required=True, metadata={"description": "the JSON request, redacted"})
    request_text = fields.String(allow_none=True, required=True,
                                 metadata={"description": "a request that is not JSON (or too large), redacted"})
    request_bytes = fields.Integer(required=True)
    request_truncated = fields.Boolean(required=True)
    response_body = fields.Raw(allow_none=True, required=True, metadata={"description": "the JSON response, redacted"})
    response_text = fields.String(allow_none=True, required=True)
    response_bytes = fields.Integer(required=True)
    response_truncated = fields.Boolean(required=True)
    bodies_purged_at = Instant(allow_none=True, required=True,
                               metadata={"description": "when the bodies were purged (AUDIT_RAW_RETENTION_DAYS)"})


AuditRequestPage = page_schema(AuditRequestSchema, "AuditRequestPage")
