"""``spinledger worker``: the projections, the webhook outbox and its sender, and the scheduler (the nightly
reconciliation, the daily audit log purge) in one process."""

from __future__ import annotations

import logging
import signal
import threading
from datetime import timedelta

from eventsourcing.postgres import PostgresDatastore

from app.bootstrap import bootstrap
from app.config import Settings
from app.database import eventsourcing_env
from app.scheduler import make_scheduler
from projections.catalogue import PROJECTIONS, build
from projections.webhook_outbox import OutboxProjection, OutboxView
from app.webhooks.sender import Backoff, WebhookSender
from app.webhooks.store import WebhookStore
from projections.runner import ProjectionWorker

logger = logging.getLogger(__name__)


def datastore_for(database_url: str, pool_size: int = 4) -> PostgresDatastore:
    env = eventsourcing_env(database_url)
    return PostgresDatastore(
        dbname=env["POSTGRES_DBNAME"], host=env["POSTGRES_HOST"], port=env["POSTGRES_PORT"], user=env["POSTGRES_USER"],
        password=env["POSTGRES_PASSWORD"], pool_size=pool_size, max_overflow=len(PROJECTIONS) + 4, lock_timeout=5,  # + the outbox, its sender
        connect_timeout=5, idle_in_transaction_session_timeout=10,
    )


def run_worker(settings: Settings) -> int:
    """Runs until SIGTERM or SIGINT, then lets each projection finish its batch."""
    if not settings.database_url:
        raise SystemExit("spinledger worker: DATABASE_URL is not set")
    services = bootstrap(settings)
    datastore = datastore_for(settings.database_url)
    projections = [build(datastore, name) for name in PROJECTIONS]
    outbox = OutboxProjection(OutboxView(datastore, now=services.clock.now))
    # The webhook outbox follows the store like a projection, and its sender delivers it, in this process:
    # never in the request path of an award or a spin.
    worker = ProjectionWorker(datastore, [*projections, outbox], poll_seconds=settings.projection_poll_seconds)
    sender = WebhookSender(
        WebhookStore(datastore, lease=timedelta(seconds=settings.webhook_lease_seconds)), services.clock.now,
        threads_per_endpoint=settings.webhook_threads_per_endpoint, timeout_seconds=settings.webhook_timeout_seconds,
        backoff=Backoff(base_seconds=settings.webhook_retry_base_seconds), allow_private=settings.webhook_allow_private,
    )
    scheduler = make_scheduler(
        settings.reconcile_cron, services.reconcile, services.purge_audit_log, settings.audit_purge_cron,
        services.expire_awards, settings.award_expiry_check_seconds,
    )
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    worker.start()
    sender.start()
    scheduler.start()
    logger.info("worker running: projections %s; reconciliation on %r, audit log purge on %r (UTC)",
                ", ".join(PROJECTIONS), settings.reconcile_cron, settings.audit_purge_cron)
    stopping.wait()
    logger.info("worker stopping")
    scheduler.shutdown(wait=True)
    sender.stop()
    worker.stop()
    services.close()
    datastore.close()
    return 0
