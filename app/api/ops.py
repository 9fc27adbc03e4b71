from __future__ import annotations

from typing import Any

from flask import Response
from marshmallow import Schema, fields
from app.auth import require_scope
from app.http import Blueprint
from app.metrics import render
from app.services import services

blp = Blueprint("operations", __name__, description="Liveness, readiness and metrics")


class HealthSchema(Schema):
    status = fields.String(required=True)


class ProjectionLagSchema(Schema):
    projection = fields.String(required=True)
    position = fields.Integer(required=True)
    events = fields.Integer(required=True, metadata={"description": "events recorded past the projection's position"})
    seconds = fields.Float(required=True, metadata={"description": "age of the oldest event it has still to apply"})


class ReadinessSchema(Schema):
    status = fields.String(required=True, metadata={"enum": ["ready", "lagging"]})
    projections = fields.List(fields.Nested(ProjectionLagSchema), required=True)


@blp.route("/healthz", methods=["GET"])
@blp.response(200, HealthSchema, description="the process is alive")
def healthz() -> Any:
    return {"status": "ok"}


@blp.route("/readyz", methods=["GET"])
@blp.response(200, ReadinessSchema, description="the database answers and every projection is within READY_MAX_LAG_SECONDS")
@blp.alt_response(503, schema=ReadinessSchema, description="a projection lags more than READY_MAX_LAG_SECONDS (when the database does not answer within DATABASE_WAIT_SECONDS: the error envelope, SERVICE_UNAVAILABLE)")
def readyz() -> Any:
    lags = services().projection_lags()
    lagging = any(lag.seconds > services().settings.ready_max_lag_seconds for lag in lags)
    return {"status": "lagging" if lagging else "ready", "projections": lags}, 503 if lagging else 200


@blp.route("/metrics", methods=["GET"])
@require_scope("metrics")  # it tells bets and wins: Prometheus scrapes with a key of its own
@blp.doc(responses={"200": {"description": "Prometheus text format", "content": {"text/plain": {"schema": {"type": "string"}}}}})
def metrics() -> Response:
    return render(services())
