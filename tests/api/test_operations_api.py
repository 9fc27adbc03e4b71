"""Readiness and metrics: the projections' lag, as an on-call engineer reads it."""

from __future__ import annotations

import re

from projections.catalogue import PROJECTIONS, build
from projections.runner import catch_up
from projections.source import EventSource
from tests.api.helpers import register


def caught_up(app):
    datastore = app.extensions["spinledger"].ledger.recorder.datastore
    for name in PROJECTIONS:
        catch_up(build(datastore, name), EventSource(datastore))


def test_readyz_reports_every_projection_and_is_ready_once_they_caught_up(app, client):
    register(client)
    caught_up(app)
    response = client.get("/readyz")
    assert response.status_code == 200, response.json
    assert response.json["status"] == "ready"
    assert {p["projection"] for p in response.json["projections"]} == set(PROJECTIONS)
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
    response = client.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    lag = re.search(r'^spinledger_projection_lag_seconds\{projection="wallet"\} (\S+)$', text, re.M)
    assert lag and float(lag.group(1)) >= 7
    assert re.search(r'^spinledger_projection_lag_events\{projection="event_index"\} [1-9]', text, re.M)
