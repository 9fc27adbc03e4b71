"""What ``/metrics`` exposes, in Prometheus' text format.

- Requests: a count and a latency histogram by method, route template and status, kept by each process
  that answers them. Under ``spinledger serve`` the gunicorn workers share them through files in
  ``PROMETHEUS_MULTIPROC_DIR`` (prometheus_client's multiprocess mode, set up by ``serve``), so any
  worker's ``/metrics`` answers for all of them.
- The ledger, read from the views when scraped: awards and the free spins they granted, spins settled,
  bets and wins paid by currency, each projection's lag, and the last reconciliation's result. If the
  database does not answer, ``spinledger_database_up`` is 0 and the request figures are still served.
"""

from __future__ import annotations

import logging
import os
import time
from typing import TYPE_CHECKING, Iterator

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError
from flask import Flask, Response, g, request
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from app.database_gate import DatabaseUnavailable


if TYPE_CHECKING:
    from app.services import Services

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
LABELS = ("method", "route", "status")
UNMATCHED = "unmatched"  # a path no route matched: its own label, so random paths cannot multiply the series

REQUESTS = Counter("spinledger_http_requests", "HTTP requests answered, by route template and status", LABELS)
LATENCY = Histogram(
    "spinledger_http_request_duration_seconds", "time to answer an HTTP request, by route template and status", LABELS,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
DATABASE_ERRORS = (OperationalError, InterfaceError, psycopg.OperationalError, DatabaseUnavailable)

access_log = logging.getLogger("spinledger.access")
logger = logging.getLogger(__name__)


def install_metrics_hooks(app: Flask) -> None:
    """Install before every other request hook: the time then covers them all."""

    @app.before_request
    def _start_timer() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _count(response: Response) -> Response:
        seconds = time.perf_counter() - g.get("metrics_started", time.perf_counter())
        method = request.method if request.method in METHODS else "OTHER"
        route = request.url_rule.rule if request.url_rule is not None else UNMATCHED
        status = str(response.status_code)
        REQUESTS.labels(method, route, status).inc()
        LATENCY.labels(method, route, status).observe(seconds)
        access_log.info("%s %s %s", method, request.path, status, extra={
            "method": method, "path": request.path, "route": route, "status": response.status_code,
            "duration_ms": round(seconds * 1000, 3),
        })
        return response


def render(services: Services) -> Response:
    registry = CollectorRegistry()
    if os.environ.get(MULTIPROCESS_DIR):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    registry.register(_Ledger(services))
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


class _ThisProcess:
    def collect(self) -> Iterator[Metric]:
        yield from REQUESTS.collect()
        yield from LATENCY.collect()


class _Ledger:
    def __init__(self, services: Services):
        self._services = services

    def collect(self) -> Iterator[Metric]:
        try:
            families = list(self._read())
        except DATABASE_ERRORS as error:
            logger.warning("metrics: the database did not answer: %s", error)
            families = []
        up = GaugeMetricFamily("spinledger_database_up", "1 when the database answered this scrape, else 0")
        up.add_metric([], 1 if families else 0)
        yield up
        yield from families

    def _read(self) -> Iterator[Metric]:
        lag_events = GaugeMetricFamily("spinledger_projection_lag_events", "events recorded past the projection's position", labels=["projection"])
        lag_seconds = GaugeMetricFamily("spinledger_projection_lag_seconds", "age of the oldest event a projection has still to apply", labels=["projection"])
        for lag in self._services.projection_lags():
            lag_events.add_metric([lag.projection], lag.events)
            lag_seconds.add_metric([lag.projection], lag.seconds)
        totals = self._services.ledger_totals()
        awards = CounterMetricFamily("spinledger_awards", "free-spins awards recorded (the awards view)", value=totals.awards)
        granted = CounterMetricFamily("spinledger_free_spins_awarded", "free spins granted by those awards", value=totals.free_spins_awarded)
        spins = CounterMetricFamily("spinledger_spins", "spins settled, cash and free (the wallet view)", labels=["currency"])
        bets = CounterMetricFamily("spinledger_bets", "cash bets debited, in the currency's units", labels=["currency"])
        wins = CounterMetricFamily("spinledger_wins_paid", "wins credited to players, in the currency's units", labels=["currency"])
        for currency, money in totals.by_currency.items():
            spins.add_metric([currency], money.spins)
            bets.add_metric([currency], float(money.bets))  # the exposition format carries floats only
            wins.add_metric([currency], float(money.wins))
        yield from (lag_events, lag_seconds, awards, granted, spins, bets, wins)
        yield from self._reconciliation()

    def _reconciliation(self) -> Iterator[Metric]:
        runs = self._services.ledger.list_reconciliations(None, 1).data
        if not runs:
            return
        last = runs[0]
        yield GaugeMetricFamily("spinledger_reconciliation_last_run_timestamp_seconds", "when the last reconciliation run finished",
                                value=last["finished_at"].timestamp())
        yield GaugeMetricFamily("spinledger_reconciliation_last_run_ok", "1 when the last reconciliation found no drift past DRIFT_ALERT_PCT, else 0",
                                value=1 if last["status"] == "ok" else 0)
        yield GaugeMetricFamily("spinledger_reconciliation_alerting_checks", "checks of the last run whose drift passed DRIFT_ALERT_PCT",
                                value=sum(1 for check in last["checks"] if check["alert"]))
        yield GaugeMetricFamily("spinledger_reconciliation_max_drift_pct", "the largest relative drift of the last run, in percent",
                                value=float(max((abs(check["drift_pct"]) for check in last["checks"]), default=0)))
