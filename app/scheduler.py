"""The worker's scheduled jobs (APScheduler 3): the nightly reconciliation on ``RECONCILE_CRON``, in UTC.

Every worker may run the scheduler: the run itself takes a PostgreSQL advisory lock, so when two fire
at once one reconciles and the other logs that it found a run in progress.
"""

from __future__ import annotations

import logging
from typing import Callable

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from app.errors import ApiError

logger = logging.getLogger(__name__)
RECONCILE_JOB = "reconcile"


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


def make_scheduler(cron: str, reconcile: Callable[[], dict]) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600})
    scheduler.add_job(nightly_reconciliation(reconcile), CronTrigger.from_crontab(cron, timezone="UTC"), id=RECONCILE_JOB)
    return scheduler
