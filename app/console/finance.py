"""Finance's pages: reconciliation runs (their drift charted against the alert line, one run now, a run's checks
and discrepancies and its CSV) and the liability by promotion."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any
from uuid import UUID

from flask import Response, flash, redirect, render_template, request, url_for

from app.api import reconciliation as api
from app.console.charts import DriftChart, bar_chart, drift_chart
from app.console.forms import errors_text, read_query
from app.console.signin import blp, needs_scope_of
from app.errors import ApiError
from app.report_csv import run_csv
from app.schemas.common import PageArgsSchema
from app.schemas.reconciliation import LiabilityReportSchema, RunSchema
from app.services import ledger, services

CHARTED_RUNS = 30
RUNS_PER_PAGE = 20


@blp.route("/reconciliation")
@needs_scope_of(api.list_runs)
def reconciliation() -> Any:
    args, errors = read_query(PageArgsSchema(), request.args, ignore=("limit",))
    if args is None:
        return render_template("console/error.html", title="Reconciliation", status=400, message=errors_text(errors)), 400
    page = api.RunPage().dump(ledger().list_reconciliations(args.get("after"), RUNS_PER_PAGE))
    charted = api.RunPage().dump(ledger().list_reconciliations(None, CHARTED_RUNS))["data"]
    threshold = services().settings.drift_alert_pct
    return render_template("console/reconciliation.html", title="Reconciliation", page=page, charts=drift_charts(charted, threshold),
                           threshold=threshold, charted=len(charted))


def drift_charts(runs: list[dict[str, Any]], threshold: Decimal) -> list[DriftChart]:
    """One chart per check, over ``runs`` (newest first, as listed), drawn oldest first."""
    series: dict[str, list[tuple[str, Decimal, bool]]] = defaultdict(list)
    for run in reversed(runs):
        for check in run["checks"]:
            series[check["name"]].append((run["started_at"], Decimal(check["drift_pct"]), check["alert"]))
    return [drift_chart(name, points, threshold) for name, points in series.items()]


@blp.route("/reconciliation/run", methods=["POST"])
@needs_scope_of(api.run_now)
def run_reconciliation() -> Response:
    try:
        run = RunSchema().dump(services().reconcile())
    except ApiError as busy:  # another run holds the lock
        flash(busy.message, "error")
        return redirect(url_for("console.reconciliation"))
    flash(f"Run {run['run_id']} finished: {run['status']}.", "info")
    return redirect(url_for("console.reconciliation_run", run_id=run["run_id"]))


@blp.route("/reconciliation/runs/<uuid:run_id>")
@needs_scope_of(api.get_run)
def reconciliation_run(run_id: UUID) -> str:
    run = RunSchema().dump(ledger().get_reconciliation(run_id))
    return render_template("console/run.html", title=f"Reconciliation run {run['run_id']}", run=run)


@blp.route("/reconciliation/runs/<uuid:run_id>/export.csv")
@needs_scope_of(api.export_run)
def reconciliation_export(run_id: UUID) -> Response:
    return Response(run_csv(ledger().get_reconciliation(run_id)), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="reconciliation-{run_id}.csv"'})


@blp.route("/liability")
@needs_scope_of(api.liability)
def liability() -> str:
    report = LiabilityReportSchema().dump(services().liability_report())
    spins = [line for line in report["data"] if line["award_type"] == "FREE_SPINS"]
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for line in spins:
        totals[line["currency"]] += Decimal(line["liability"])
    chart = bar_chart([(line["name"] or line["promo_id"], Decimal(line["liability"]), f"{line['liability']} {line['currency']}")
                       for line in spins])
    coin_lines = [line for line in report["data"] if line["award_type"] == "GOLD_COINS"]
    chart_label = "Liability per free-spins promotion: " + "; ".join(f"{bar.label} {bar.value}" for bar in chart.bars)
    return render_template("console/liability.html", title="Liability", report=report, spins=spins, coin_lines=coin_lines, chart_label=chart_label,
                           totals={currency: f"{total:.2f}" for currency, total in sorted(totals.items())}, chart=chart)

