"""One reconciliation run: a consistent snapshot, the recomputation, the comparison, the report, the alerts.

One run at a time across every process: a run holds a PostgreSQL advisory lock for its duration, and a
run that finds it taken does not start (``ReconciliationBusy``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import psycopg
from psycopg import IsolationLevel

from reconciliation.compare import compare, events_up_to, view_positions
from reconciliation.snapshot import Snapshot

logger = logging.getLogger(__name__)

RECONCILE_LOCK_KEY = 0x5245434F  # "RECO"
Alert = dict[str, Any]


class ReconciliationBusy(RuntimeError):
    """Another reconciliation run holds the lock."""


def reconcile(
    database_url: str,
    *,
    run_id: UUID,
    as_of: datetime,
    started_at: datetime,
    threshold_pct: Decimal,
    clock: Callable[[], datetime],
) -> dict[str, Any]:
    """The report of one run (not yet recorded): every check and every discrepancy."""
    with psycopg.connect(database_url, autocommit=True) as lock:
        if not lock.execute("SELECT pg_try_advisory_lock(%s)", [RECONCILE_LOCK_KEY]).fetchone()[0]:
            raise ReconciliationBusy("a reconciliation is already running")
        try:
            began = time.perf_counter()
            with psycopg.connect(database_url) as conn:
                conn.isolation_level = IsolationLevel.REPEATABLE_READ  # the events and the views, as of one instant
                conn.read_only = True
                # The streams do the reading; this transaction, which exports their snapshot, waits idle meanwhile.
                conn.execute("SET LOCAL idle_in_transaction_session_timeout = 0")
                positions = view_positions(conn)
                with Snapshot(database_url, conn) as snapshot:
                    checks, discrepancies, events_read = compare(snapshot, positions, as_of, threshold_pct)
                events_total = events_up_to(conn, max(positions.values(), default=0))
                conn.rollback()
        finally:
            lock.execute("SELECT pg_advisory_unlock(%s)", [RECONCILE_LOCK_KEY])
    alerting = [c for c in checks if c.alert]
    return {
        "run_id": str(run_id),
        "status": "drift" if alerting else "ok",
        "started_at": started_at,
        "finished_at": clock(),
        "as_of": as_of,
        "threshold_pct": threshold_pct,
        "positions": positions,
        "events_read": events_read,
        "events_total": events_total,
        "seconds": round(time.perf_counter() - began, 3),
        "checks": [
            {"name": c.name, "expected": c.expected, "actual": c.actual, "drift": c.drift, "drift_pct": c.drift_pct, "alert": c.alert} for c in checks
        ],
        "discrepancies": [asdict(d) for d in discrepancies],
    }


def alerts_of(report: dict[str, Any]) -> list[Alert]:
    return [
        {
            "run_id": report["run_id"],
            "check": c["name"],
            "expected": c["expected"],
            "actual": c["actual"],
            "drift": c["drift"],
            "drift_pct": c["drift_pct"],
            "threshold_pct": report["threshold_pct"],
        }
        for c in report["checks"]
        if c["alert"]
    ]


def announce(alerts: list[Alert], send: Callable[[Alert], None] | None) -> None:
    """An ERROR log line for each alert, and the alert sent where one is configured; a failed send is logged."""
    for alert in alerts:
        logger.error(
            "reconciliation drift: %s expected %s actual %s (%s %%, threshold %s %%), run %s",
            alert["check"],
            alert["expected"],
            alert["actual"],
            alert["drift_pct"],
            alert["threshold_pct"],
            alert["run_id"],
        )
        if send is not None:
            try:
                send(alert)
            except Exception:
                logger.exception("sending the drift alert for %s failed", alert["check"])
