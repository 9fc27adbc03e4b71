"""Readiness and metrics: the projections' lag, as an on-call engineer reads it."""

from __future__ import annotations

import json
import logging
import re
import uuid
from contextlib import contextmanager
from datetime import datetime
from typing import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from app import create_app
from app.config import Settings
from app.logs import json_handler
from projections.catalogue import PROJECTIONS, build
from projections.runner import catch_up
from projections.source import EventSource
from projections.risk_review import RiskReviewProjection, RiskReviewView
from projections.webhook_outbox import OutboxProjection, OutboxView
from tests.api.helpers import define, funded_session, register, spin
from tests.support import ADMIN, API_KEYS, METRICS, NO_SCATTER, ScriptedStops, award_json

FINANCE = {"Authorization": "Bearer test-finance-key"}


@pytest.fixture
def app(own_database, clock, random_bytes):  # type: ignore[no-untyped-def]
    """The app on a database of the test's own: catching up runs the risk review, which judges every event stored."""
    flask_app = create_app(Settings(database_url=own_database, api_keys=API_KEYS), clock=clock, random_bytes=random_bytes)
    yield flask_app
    flask_app.extensions["spinledger"].close()


def caught_up(app):
    services = app.extensions["spinledger"]
    datastore = services.ledger.recorder.datastore
    for name in PROJECTIONS:
        catch_up(build(datastore, name), EventSource(datastore))
    catch_up(OutboxProjection(OutboxView(datastore)), EventSource(datastore))
    risk = RiskReviewProjection(RiskReviewView(datastore, rules=services.settings.risk_rules(), raise_flag=services.ledger.raise_risk_flag))
    catch_up(risk, EventSource(datastore))


def test_readyz_reports_every_projection_and_is_ready_once_they_caught_up(app, client):
    register(client)
    caught_up(app)
    response = client.get("/readyz")
    assert response.status_code == 200, response.json
    assert response.json["status"] == "ready"
    assert {p["projection"] for p in response.json["projections"]} == set(PROJECTIONS) | {"webhook_outbox", "risk_review"}
    assert all(p["events"] == 0 and p["seconds"] == 0 for p in response.json["projections"])


def test_readyz_is_unavailable_when_a_projection_lags_past_the_limit(app, client, clock):
    register(client)
    caught_up(app)
    register(client)  # recorded now ...
    clock.advance(seconds=301)  # ... and still not applied five minutes later
    response = client.get("/readyz")
    assert response.status_code == 503 and response.json["status"] == "lagging"
    wallet = next(p for p in response.json["projections"] if p["projection"] == "wallet")
    assert wallet["events"] >= 1 and wallet["seconds"] >= 301


def test_metrics_expose_each_projections_lag_in_prometheus_format(app, client, clock):
    caught_up(app)
    register(client)
    clock.advance(seconds=7)
    response = client.get("/metrics", headers=METRICS)
    assert response.status_code == 200 and response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    lag = re.search(r'^spinledger_projection_lag_seconds\{projection="wallet"\} (\S+)$', text, re.M)
    assert lag and float(lag.group(1)) >= 7
    assert re.search(r'^spinledger_projection_lag_events\{projection="event_index"\} [1-9]', text, re.M)
    outbox = re.search(r'^spinledger_projection_lag_events\{projection="webhook_outbox"\} (\S+)$', text, re.M)
    assert outbox and float(outbox.group(1)) >= 1  # the webhook outbox follows the store too: it has the player's event to pass


def scrape(client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", headers=METRICS)
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True)) for sample in family.samples
    }


def request_count(samples, route: str, status: str, method: str = "GET") -> float:
    return samples.get(("spinledger_http_requests_total", (("method", method), ("route", route), ("status", status))), 0.0)


def test_metrics_count_each_request_by_route_template_and_status_with_its_latency(client):
    route = "/api/v1/awards/<uuid:award_id>"
    before = scrape(client)
    for _ in range(3):
        assert client.get(f"/api/v1/awards/{uuid.uuid4()}", headers=ADMIN).status_code == 404
    assert client.get(f"/api/v1/awards/{uuid.uuid4()}").status_code == 401
    assert client.get(f"/no/such/{uuid.uuid4()}").status_code == 404
    after = scrape(client)
    assert request_count(after, route, "404") - request_count(before, route, "404") == 3
    assert request_count(after, route, "401") - request_count(before, route, "401") == 1
    assert request_count(after, "unmatched", "404") - request_count(before, "unmatched", "404") == 1
    labels = (("method", "GET"), ("route", route), ("status", "404"))
    observed = after[("spinledger_http_request_duration_seconds_count", labels)] - before.get(("spinledger_http_request_duration_seconds_count", labels), 0)
    assert observed == 3
    assert after[("spinledger_http_request_duration_seconds_sum", labels)] > before.get(("spinledger_http_request_duration_seconds_sum", labels), 0)


@pytest.fixture
def random_bytes(request):
    return ScriptedStops(seed=request.node.nodeid)


def test_metrics_report_awards_spins_and_wins_from_the_views(app, client, random_bytes):
    random_bytes.plan(NO_SCATTER, NO_SCATTER, NO_SCATTER)  # three cash spins, none starting a bonus block
    caught_up(app)
    before = scrape(client)
    promo_id = define(client)
    player_id, session = funded_session(client)
    response = client.post("/api/v1/awards", json=award_json(player_id, promo_id, award_value=10), headers=ADMIN)
    assert response.status_code == 201, response.json
    spun = [spin(client, session) for _ in range(3)]
    assert [r.status_code for r in spun] == [200] * 3
    caught_up(app)
    after = scrape(client)
    assert after[("spinledger_database_up", ())] == 1
    assert after[("spinledger_awards_total", ())] - before[("spinledger_awards_total", ())] == 1
    assert after[("spinledger_free_spins_awarded_total", ())] - before[("spinledger_free_spins_awarded_total", ())] == 10
    cad = (("currency", "CAD"),)
    assert after[("spinledger_spins_total", cad)] - before.get(("spinledger_spins_total", cad), 0) == 3
    won = sum(float(r.json["totalWin"]) for r in spun)
    assert round(after[("spinledger_wins_paid_total", cad)] - before.get(("spinledger_wins_paid_total", cad), 0), 2) == round(won, 2)
    assert round(after[("spinledger_bets_total", cad)] - before.get(("spinledger_bets_total", cad), 0), 2) == 3.0


def test_metrics_report_the_last_reconciliation(app, client):
    caught_up(app)
    created = client.post("/api/v1/reconciliation/runs", json={}, headers=FINANCE)
    assert created.status_code == 201, created.json
    samples = scrape(client)
    run = created.json
    assert samples[("spinledger_reconciliation_last_run_ok", ())] == (1 if run["status"] == "ok" else 0)
    assert samples[("spinledger_reconciliation_alerting_checks", ())] == sum(1 for c in run["checks"] if c["alert"])
    finished = datetime.fromisoformat(run["finished_at"].replace("Z", "+00:00"))
    assert samples[("spinledger_reconciliation_last_run_timestamp_seconds", ())] == finished.timestamp()
    assert samples[("spinledger_reconciliation_max_drift_pct", ())] == max(abs(float(c["drift_pct"])) for c in run["checks"])


@contextmanager
def logged_lines() -> Iterator[list[str]]:
    """Every line the app logs meanwhile, as the JSON handler of the processes formats it."""
    lines: list[str] = []
    handler = json_handler()
    handler.emit = lambda record: lines.append(handler.format(record))  # type: ignore[method-assign]
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.DEBUG)
    try:
        yield lines
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_every_log_line_of_a_request_is_json_with_its_request_id(client):
    with logged_lines() as lines:
        response = client.post("/api/v1/awards", data="{not json", headers={**ADMIN, "Content-Type": "application/json", "X-Request-Id": "req-logs-1"})
    assert response.status_code == 400
    records = [json.loads(line) for line in lines]
    access = [r for r in records if r["logger"] == "spinledger.access"]
    assert len(access) == 1
    assert access[0] | {"route": "/api/v1/awards", "status": 400, "method": "POST"} == access[0]
    assert access[0]["duration_ms"] > 0 and access[0]["time"].endswith("Z")
    assert records and all(r["request_id"] == "req-logs-1" for r in records)
    assert not any(secret in line for line in lines for secret in API_KEYS)


def test_no_api_key_or_session_token_reaches_the_logs(client, random_bytes):
    random_bytes.plan(NO_SCATTER)
    with logged_lines() as lines:
        player_id, session = funded_session(client)
        token = session["Authorization"].removeprefix("Bearer ")
        assert spin(client, session).status_code == 200
        assert client.get("/api/v1/game/state", headers={"Authorization": f"Bearer {token}x"}).status_code == 401
        assert client.get(f"/api/v1/players/{player_id}", headers={"Authorization": "Bearer test-admin-keyx"}).status_code == 401
        assert client.get("/api/v1/events", headers=ADMIN).status_code == 403
    text = "\n".join(lines)
    assert len(lines) >= 6 and all(json.loads(line)["request_id"] for line in lines)
    for secret in [*API_KEYS, token]:
        assert secret not in text


def test_every_answer_forbids_sniffing_scripts_and_framing(client):
    for response in (client.get("/healthz"), client.get("/nowhere"), client.post("/api/v1/awards", json={}, headers=ADMIN)):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
