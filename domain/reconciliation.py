"""Reconciliation runs: finance's nightly proof that the read models agree with the events.

A run is an aggregate of its own (``ReconciliationCompleted`` holds the whole report, one
``DriftAlertRaised`` per check that drifted past the threshold). ``ReconciliationLog``, one aggregate for
the whole service, lists the runs in the order they finished, for ``GET /api/v1/reconciliation/runs``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.ids import NAMESPACE

OK, DRIFT, FAILED = "ok", "drift", "failed"


class Reconciliation(Aggregate):
    @classmethod
    def complete(cls, *, run_id: UUID, report: dict[str, Any], at: datetime) -> Reconciliation:
        return cls._create(cls.ReconciliationCompleted, id=run_id, report=report, timestamp=at)

    class ReconciliationCompleted(Aggregate.Created):
        report: dict[str, Any]

    @event(ReconciliationCompleted)
    def __init__(self, report: dict[str, Any]) -> None:
        self.report = report
        self.alerts: list[dict[str, Any]] = []

    @event("DriftAlertRaised")
    def raise_alert(self, check: str, expected: str, actual: str, drift: str, drift_pct: str, threshold_pct: str, timestamp: datetime) -> None:
        self.alerts.append({"check": check, "drift_pct": drift_pct})


class ReconciliationLog(Aggregate):
    ID = uuid5(NAMESPACE, "reconciliation-log")

    @classmethod
    def open(cls, at: datetime) -> ReconciliationLog:
        return cls._create(cls.Opened, id=cls.ID, timestamp=at)

    class Opened(Aggregate.Created):
        pass

    @event(Opened)
    def __init__(self) -> None:
        self.runs: list[str] = []

    @event("RunRecorded")
    def record_run(self, run_id: str, status: str, timestamp: datetime) -> None:
        self.runs.append(run_id)
