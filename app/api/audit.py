"""Compliance: the raw audit log of money-moving calls."""

from __future__ import annotations

from typing import Any

from app.auth import require_scope
from app.http import Blueprint
from app.schemas.audit import AuditQueryArgsSchema, AuditRequestPage
from app.services import services

blp = Blueprint("audit", __name__, url_prefix="/api/v1",
                description="Compliance: raw requests and responses of money-moving calls")


@blp.route("/audit/requests", methods=["GET"])
@require_scope("compliance")
@blp.arguments(AuditQueryArgsSchema(), location="query")
@blp.response(200, AuditRequestPage, description="newest first; secrets redacted")
def list_audit_requests(args: dict[str, Any]) -> Any:
    return services().audit.query(**args)
