"""Use cases of finance's reconciliation runs: record a finished run and its alerts; read runs back."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from domain.clock import Clock
from domain.errors import RunNotFound
from domain.paging import Page, page_of
from domain.reconciliation import Reconciliation, ReconciliationLog
from domain.streams import Streams, retrying


class Reconciliations:
    def __init__(self, streams: Streams, clock: Clock):
        self._streams = streams
        self.clock = clock

    def record_reconciliation(self, run_id: UUID, report: dict[str, Any], alerts: list[dict[str, Any]]) -> dict[str, Any]:
        """Records a run's report (``ReconciliationCompleted``), one ``DriftAlertRaised`` per alert, and the run
        in the log, in one transaction."""

        def attempt() -> dict[str, Any]:
            now = self.clock.now()
            run = Reconciliation.complete(run_id=run_id, report=report, at=now)
            for alert in alerts:
                run.raise_alert(
                    check=alert["check"],
                    expected=str(alert["expected"]),
                    actual=str(alert["actual"]),
                    drift=str(alert["drift"]),
                    drift_pct=str(alert["drift_pct"]),
                    threshold_pct=str(alert["threshold_pct"]),
                    timestamp=now,
                )
            log = self._log() or ReconciliationLog.open(now)
            log.record_run(str(run_id), report["status"], timestamp=now)
            self._streams.save(run, log)
            return run.report

        return retrying(attempt)

    def get_reconciliation(self, run_id: UUID) -> dict[str, Any]:
        run = self._streams.load_one(run_id)
        if not isinstance(run, Reconciliation):
            raise RunNotFound(f"no reconciliation run {run_id}", field="run_id")
        return run.report

    def list_reconciliations(self, after: str | None, limit: int) -> Page[dict[str, Any]]:
        log = self._log()
        page, next_cursor, has_more = page_of(log.runs[::-1] if log else [], after, limit)
        runs = self._streams.load(UUID(run_id) for run_id in page)
        return Page(data=[runs[UUID(run_id)].report for run_id in page], next_cursor=next_cursor, has_more=has_more)

    def _log(self) -> ReconciliationLog | None:
        log: ReconciliationLog | None = self._streams.load_one(ReconciliationLog.ID)
        return log
