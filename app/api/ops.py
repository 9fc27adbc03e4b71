from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from app.http import Blueprint
from app.services import ledger

blp = Blueprint("operations", __name__, description="Liveness and readiness")


class HealthSchema(Schema):
    status = fields.String(required=True)


@blp.route("/healthz", methods=["GET"])
@blp.response(200, HealthSchema, description="the process is alive")
def healthz() -> Any:
    return {"status": "ok"}


@blp.route("/readyz", methods=["GET"])
@blp.response(200, HealthSchema, description="the database answers")
@blp.alt_response(503, response="Error", description="the database does not answer")
def readyz() -> Any:
    ledger().recorder.max_notification_id()
    return {"status": "ready"}
