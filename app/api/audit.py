"""Compliance: the raw audit log of money-moving calls."""

from __future__ import annotations

from typing import Any

from app.auth import require_scope
from app.http import Blueprint
from app.schemas.audit import AuditQueryArgsSchema, AuditRequestPage, AuditRequestSchema
from app.services import services

blp = Blueprint("audit", __name__, url_prefix="/api/v1",
                description="Compliance: raw requests and responses of money-moving calls")


@blp.route("/audit/requests", methods=["GET"])
@require_scope("compliance")
@blp.arguments(AuditQueryArgsSchema(), location="query")
@blp.response(200, AuditRequestPage, description="newest first; secrets redacted")
def list_audit_requests(args: dict[str, Any]) -> Any:
    return services().audit.query(**args)


@blp.route("/audit/requests/<int:request_id>", methods=["GET"])
@require_scope("compliance")
@blp.response(200, AuditRequestSchema, description="one call with its bodies, secrets redacted (API 1.8)")
def get_audit_request(request_id: int) -> Any:
    return services().audit.get(request_id)
