"""``spinledger worker``: the projections, the webhook outbox and its sender, and the scheduler (the nightly
reconciliation, the daily audit log purge, award expiry) in one process, as ``app.bootstrap`` builds them; and
the campaign issuers, in processes of their own (``app.campaign_worker``)."""

from __future__ import annotations

import logging
import os
import signal
import threading

from app.bootstrap import ISSUER_CACHED_STATES, bootstrap, bootstrap_worker
from app.campaign_worker import CampaignIssuers
from app.job_queue import QueueWorker
from app.logs import configure_logging
from app.config import Settings
from projections.catalogue import PROJECTIONS

logger = logging.getLogger(__name__)
PARENT_CHECK_SECONDS = 1.0


def run_worker(settings: Settings) -> int:
    """Runs until SIGTERM or SIGINT, then lets each projection finish its batch."""
    if not settings.database_url:
        raise SystemExit("spinledger worker: DATABASE_URL is not set")
    parts = bootstrap_worker(settings)
    issuers = CampaignIssuers(settings, issue_campaigns)
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    parts.start()
    issuers.start()
    logger.info("worker running: projections %s; reconciliation on %r, audit log purge on %r (UTC); %d campaign issuer(s)",
                ", ".join(PROJECTIONS), settings.reconcile_cron, settings.audit_purge_cron, settings.campaign_processes)
    stopping.wait()
    logger.info("worker stopping")
    issuers.stop()
    parts.stop()
    return 0


def issue_campaigns(settings: Settings, parent_pid: int) -> None:
    """A campaign issuer process: the job queue's worker, until SIGTERM or until the worker that started it is gone."""
    configure_logging(settings.log_level)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the worker stops us with SIGTERM
    services = bootstrap(settings, cached_states=ISSUER_CACHED_STATES)
    queue = QueueWorker(
        settings.database_url or "", services.campaigns, concurrency=settings.campaign_concurrency,
        heartbeat_seconds=settings.campaign_heartbeat_seconds, stalled_seconds=settings.campaign_stalled_seconds,
        stalled_check_seconds=settings.campaign_heartbeat_seconds,
    )
    queue.start()
    try:
        while not stopping.wait(PARENT_CHECK_SECONDS):
            if os.getppid() != parent_pid:
                logger.error("campaign issuer: the worker that started it is gone; stopping")
                break
            if not queue.running:  # its thread ended on something it could not start again from: the worker restarts us
                logger.error("campaign issuer: the job queue's worker ended; exiting to be started again")
                raise SystemExit(1)
    finally:
        queue.stop()
        services.close()
