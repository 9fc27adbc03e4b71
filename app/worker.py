"""``spinledger worker``: the projections, the webhook outbox and its sender, and the scheduler (the nightly
reconciliation, the daily audit log purge, award expiry) in one process, as ``app.bootstrap`` builds them."""

from __future__ import annotations

import logging
import signal
import threading

from app.bootstrap import bootstrap_worker
from app.config import Settings
from projections.catalogue import PROJECTIONS

logger = logging.getLogger(__name__)


def run_worker(settings: Settings) -> int:
    """Runs until SIGTERM or SIGINT, then lets each projection finish its batch."""
    if not settings.database_url:
        raise SystemExit("spinledger worker: DATABASE_URL is not set")
    parts = bootstrap_worker(settings)
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    parts.start()
    logger.info("worker running: projections %s; reconciliation on %r, audit log purge on %r (UTC)",
                ", ".join(PROJECTIONS), settings.reconcile_cron, settings.audit_purge_cron)
    stopping.wait()
    logger.info("worker stopping")
    parts.stop()
    return 0
