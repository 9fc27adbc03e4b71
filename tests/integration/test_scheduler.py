"""The nightly reconciliation job: fired by APScheduler at its cron instant (time injected), and never two
runs at once, whichever workers fire it."""

from __future__ import annotations

import threading
from datetime import datetime, timezone

import pytest

import reconciliation.run as run_module
from app import create_app
from app.config import Settings
from app.errors import ApiError
from app.scheduler import RECONCILE_JOB, make_scheduler
from tests.support import API_KEYS


class InjectedTime:
    """Stands in for ``datetime`` inside APScheduler: ``now`` is whatever the test says."""

    def __init__(self, at: datetime):
        self.at = at

    def now(self, tz=None):
        return self.at.astimezone(tz) if tz else self.at


@pytest.fixture
def injected_time(monkeypatch):
    """The scheduler's clock, and its executor's (which refuses a run too late for the real time, as a misfire)."""
    import apscheduler.executors.base as executors
    import apscheduler.schedulers.base as schedulers

    clock = InjectedTime(datetime(2026, 11, 22, 1, 59, 59, tzinfo=timezone.utc))
    monkeypatch.setattr(schedulers, "datetime", clock)
    monkeypatch.setattr(executors, "datetime", clock)
    return clock


def test_the_scheduler_fires_the_reconciliation_at_two_in_the_morning_utc(injected_time):
    fired = threading.Event()
    scheduler = make_scheduler("0 2 * * *", lambda: fired.set() or {"run_id": "r", "status": "ok"})
    scheduler.start(paused=True)
    try:
        assert scheduler.get_job(RECONCILE_JOB).next_run_time == datetime(2026, 11, 22, 2, 0, tzinfo=timezone.utc)
        assert not fired.is_set()
        injected_time.at = datetime(2026, 11, 22, 2, 0, 1, tzinfo=timezone.utc)
        scheduler.resume()  # the scheduler looks at the (injected) time, finds the job due, runs it
        assert fired.wait(timeout=10)
        assert scheduler.get_job(RECONCILE_JOB).next_run_time == datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)
    finally:
        scheduler.shutdown(wait=True)


def test_two_workers_firing_together_never_run_two_reconciliations_at_once(database_url, clock, random_bytes, monkeypatch):
    apps = [create_app(Settings(database_url=database_url, api_keys=API_KEYS), clock=clock, random_bytes=random_bytes) for _ in range(2)]
    running, most, lock = [0], [0], threading.Lock()
    both_started = threading.Barrier(2)
    original = run_module.compare

    def slow_compare(*args):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        try:
            release.wait(timeout=10)  # the first run holds on until the second has tried
            return original(*args)
        finally:
            with lock:
                running[0] -= 1

    release = threading.Event()
    monkeypatch.setattr(run_module, "compare", slow_compare)
    outcomes: list[object] = []

    def fire(app):
        both_started.wait()
        try:
            outcomes.append(app.extensions["spinledger"].reconcile())
        except ApiError as busy:
            outcomes.append(busy.code)
            release.set()

    threads = [threading.Thread(target=fire, args=(app,)) for app in apps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    for app in apps:
        app.extensions["spinledger"].close()
    assert most[0] == 1
    assert "RECONCILIATION_RUNNING" in outcomes and any(isinstance(o, dict) for o in outcomes)


def test_the_scheduler_purges_the_audit_log_at_half_past_three_utc(injected_time):
    from app.audit_log import Purged
    from app.scheduler import AUDIT_PURGE_JOB

    injected_time.at = datetime(2026, 11, 22, 3, 29, 59, tzinfo=timezone.utc)
    purged = threading.Event()

    def purge():
        purged.set()
        return Purged(as_of=injected_time.at, bodies_purged=0, rows_deleted=0, bodies_before=injected_time.at, rows_before=injected_time.at)

    scheduler = make_scheduler("0 2 * * *", lambda: {"run_id": "r", "status": "ok"}, purge, "30 3 * * *")
    scheduler.start(paused=True)
    try:
        assert scheduler.get_job(AUDIT_PURGE_JOB).next_run_time == datetime(2026, 11, 22, 3, 30, tzinfo=timezone.utc)
        injected_time.at = datetime(2026, 11, 22, 3, 30, 1, tzinfo=timezone.utc)
        scheduler.resume()
        assert purged.wait(timeout=10)
        assert scheduler.get_job(AUDIT_PURGE_JOB).next_run_time == datetime(2026, 11, 23, 3, 30, tzinfo=timezone.utc)
    finally:
        scheduler.shutdown(wait=True)


def test_the_award_expiry_job_runs_every_interval_and_survives_a_failing_run():
    import threading
    import time as clock_time

    from app.scheduler import AWARD_EXPIRY_JOB, make_scheduler

    runs: list[int] = []
    twice = threading.Event()

    def expire() -> tuple[int, int]:
        runs.append(1)
        if len(runs) == 1:
            raise RuntimeError("the database blinked")  # logged; the next run goes ahead
        twice.set()
        return 0, 0

    scheduler = make_scheduler("0 2 * * *", lambda: {}, expire=expire, expiry_seconds=0.1)
    assert scheduler.get_job(AWARD_EXPIRY_JOB) is not None
    scheduler.start()
    try:
        started = clock_time.monotonic()
        assert twice.wait(30), f"the job ran {len(runs)} times in {clock_time.monotonic() - started:.1f} s"
    finally:
        scheduler.shutdown(wait=True)
