from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import Response

from app.auth import require_scope
from app.http import Blueprint
from app.report_csv import run_csv
from app.schemas.common import PageArgsSchema, page_schema
from app.schemas.reconciliation import LiabilityReportSchema, RunRequestSchema, RunSchema
from app.services import ledger, services

blp = Blueprint("reconciliation", __name__, url_prefix="/api/v1", description="Finance: reconciliation runs and liability")
RunPage = page_schema(RunSchema, "RunPage")


@blp.route("/reconciliation/runs", methods=["POST"])
@require_scope("finance")
@blp.arguments(RunRequestSchema())
@blp.response(201, RunSchema, description="the run, finished: status ok, or drift when a check alerted")
def run_now(body: dict[str, Any]) -> Any:
    return services().reconcile(body.get("as_of"))


@blp.route("/reconciliation/runs", methods=["GET"])
@require_scope("finance")
@blp.arguments(PageArgsSchema(), location="query")
@blp.response(200, RunPage, description="newest first")
def list_runs(args: dict[str, Any]) -> Any:
    return ledger().list_reconciliations(args.get("after"), args["limit"])


@blp.route("/reconciliation/runs/<uuid:run_id>", methods=["GET"])
@require_scope("finance")
@blp.response(200, RunSchema)
def get_run(run_id: UUID) -> Any:
    return ledger().get_reconciliation(run_id)


@blp.route("/reconciliation/runs/<uuid:run_id>/export", methods=["GET"])
@require_scope("finance")
@blp.doc(responses={"200": {"description": "the run as CSV: one line per check, then one per discrepancy",
                            "content": {"text/csv": {"schema": {"type": "string"}}}}})
def export_run(run_id: UUID) -> Response:
    return Response(run_csv(ledger().get_reconciliation(run_id)), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="reconciliation-{run_id}.csv"'})


@blp.route("/reports/liability", methods=["GET"])
@require_scope("finance")
@blp.response(200, LiabilityReportSchema, description="per promotion, from the promotions view")
def liability() -> Any:
    return services().liability_report()
