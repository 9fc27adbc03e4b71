"""Finance's endpoints through the Flask client: runs, their CSV, the liability report, and scopes."""

from __future__ import annotations

import csv
import io

from tests.api.helpers import assert_envelope, define, register
from tests.api.test_operations_api import caught_up
from tests.support import ADMIN, award_json

FINANCE = {"Authorization": "Bearer test-finance-key"}


def test_a_run_started_over_http_is_listed_read_back_and_exported_as_csv(app, client):
    register(client)
    caught_up(app)
    created = client.post("/api/v1/reconciliation/runs", json={}, headers=FINANCE)
    assert created.status_code == 201, created.json
    run = created.json
    assert run["status"] == "ok" and run["discrepancies"] == [] and run["checks"]
    assert all(set(c) == {"name", "expected", "actual", "drift", "drift_pct", "alert"} for c in run["checks"])
    assert client.get(f"/api/v1/reconciliation/runs/{run['run_id']}", headers=FINANCE).json == run
    listed = client.get("/api/v1/reconciliation/runs?limit=1", headers=FINANCE).json
    assert listed["data"][0]["run_id"] == run["run_id"]
    export = client.get(f"/api/v1/reconciliation/runs/{run['run_id']}/export", headers=FINANCE)
    assert export.status_code == 200 and export.mimetype == "text/csv"
    lines = list(csv.DictReader(io.StringIO(export.get_data(as_text=True))))
    assert [line["name_or_entity"] for line in lines if line["kind"] == "check"] == [c["name"] for c in run["checks"]]


def test_the_liability_report_counts_unplayed_spins_at_their_bet(app, client):
    player_id = register(client)
    promo_id = define(client, bet_per_spin="0.40")
    client.post("/api/v1/awards", json=award_json(player_id, promo_id, award_value=8), headers=ADMIN)
    caught_up(app)
    report = client.get("/api/v1/reports/liability", headers=FINANCE)
    assert report.status_code == 200, report.json
    (line,) = [line for line in report.json["data"] if line["promo_id"] == promo_id]
    assert line["liability"] == "3.20" and line["spins_awarded"] == 8 and line["spins_used"] == 0


def test_finance_routes_need_the_finance_scope(client):
    for method, path in [("post", "/api/v1/reconciliation/runs"), ("get", "/api/v1/reconciliation/runs"),
                         ("get", "/api/v1/reports/liability")]:
        assert_envelope(getattr(client, method)(path, headers=ADMIN, json={} if method == "post" else None), 403, "FORBIDDEN")


def test_an_unknown_run_is_not_found(client):
    assert_envelope(client.get("/api/v1/reconciliation/runs/01a2002b-34f6-7d3c-a911-a4806752f866", headers=FINANCE), 404, "RUN_NOT_FOUND")
