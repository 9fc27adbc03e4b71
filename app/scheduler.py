"""The worker's scheduled jobs (APScheduler 3), in UTC: the nightly reconciliation on ``RECONCILE_CRON``,
the audit log's purge on ``AUDIT_PURGE_CRON``, and the award expiry every ``AWARD_EXPIRY_CHECK_SECONDS``
(two workers expiring at once record each expiry once: the award's stream takes one).

Every worker may run the scheduler: the reconciliation takes a PostgreSQL advisory lock, so when two fire
at once one reconciles and the other logs that it found a run in progress; two purges at once only find
less to do.
"""

from __future__ import annotations

import logging
from typing import Callable

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from app.audit_log import Purged
from app.config import Settings
from app.errors import ApiError

logger = logging.getLogger(__name__)
RECONCILE_JOB = "reconcile"
AUDIT_PURGE_JOB = "audit-purge"
AWARD_EXPIRY_JOB = "award-expiry"


def nightly_reconciliation(reconcile: Callable[[], dict]) -> Callable[[], None]:
    def job() -> None:
        try:
            report = reconcile()
            logger.info("scheduled reconciliation %s finished: %s", report["run_id"], report["status"])
        except ApiError as busy:
            logger.info("scheduled reconciliation skipped: %s", busy.message)
        except Exception:
            logger.exception("scheduled reconciliation failed")

    return job


def scheduled_audit_purge(purge: Callable[[], Purged]) -> Callable[[], None]:
    def job() -> None:
        try:
            purged = purge()
            logger.info("audit log purged: bodies of %d calls, %d calls deleted", purged.bodies_purged, purged.rows_deleted)
        except Exception:
            logger.exception("audit log purge failed")

    return job


def award_expiry(expire: Callable[[], tuple[int, int]]) -> Callable[[], None]:
    def job() -> None:
        try:
            expired, noticed = expire()
            if expired or noticed:
                logger.info("award expiry: %d awards recorded expired, %d noticed as expiring soon", expired, noticed)
        except Exception:
            logger.exception("award expiry failed")

    return job


def make_scheduler(
    cron: str, reconcile: Callable[[], dict],
    purge: Callable[[], Purged] | None = None, purge_cron: str = Settings.audit_purge_cron,
    expire: Callable[[], tuple[int, int]] | None = None, expiry_seconds: float = Settings.award_expiry_check_seconds,
) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600})
    scheduler.add_job(nightly_reconciliation(reconcile), CronTrigger.from_crontab(cron, timezone="UTC"), id=RECONCILE_JOB)
    if purge is not None:
        scheduler.add_job(scheduled_audit_purge(purge), CronTrigger.from_crontab(purge_cron, timezone="UTC"), id=AUDIT_PURGE_JOB)
    if expire is not None:
        scheduler.add_job(award_expiry(expire), IntervalTrigger(seconds=expiry_seconds, timezone="UTC"), id=AWARD_EXPIRY_JOB)
    return scheduler
