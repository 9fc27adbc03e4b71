"""The composition root: the one place a process's parts are built and wired — the event store, the Application,
the stores and read models beside it, the infrastructure that fills the Application's ports (the state cache,
group commit), and the worker's followers and scheduler — for the web app (``create_app``), the worker
(``run_worker``) and the CLI alike."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from apscheduler.schedulers.background import BackgroundScheduler
from eventsourcing.postgres import PostgresDatastore

from app.audit_log import AuditLog
from app.auth import Keyring
from app.config import Settings
from app.console_sessions import ConsoleSessions
from app.database import eventsourcing_env
from app.database_gate import DatabaseGate, gate_pool
from app.eventstore import open_ledger
from app.campaign_store import CampaignStore
from app.campaigns import CampaignService
from app.group_commit import GroupCommit
from app.job_queue import deferring_queue
from app.schema import upgrade
from app.services import Services
from app.sessions import SessionStore
from app.state_cache import StateCache
from app.scheduler import make_scheduler
from app.webhooks.sender import Backoff, WebhookSender
from app.webhooks.store import WebhookStore
from domain.application import SpinLedger
from domain.clock import Clock, RandomBytes
from projections.catalogue import PROJECTIONS, build
from projections.queries import ReadModels
from projections.runner import ProjectionWorker
from projections.risk_review import RiskReviewProjection, RiskReviewView
from projections.webhook_outbox import OutboxProjection, OutboxView

# One committer per group commit: a group's round trips are paid once per group, and the requests that arrive
# while a group is written form the next, larger, one. Measured under 16 connections: awards 2.6 a group with two
# committers, 3.4-4.4 with one; spins of 16 players 0.47-0.49 x the bare endpoint's throughput with two, 0.55 with one.
GROUPED = functools.partial(GroupCommit, max_items=1000, committers=1)
CACHED_STATES = 50_000
# A campaign issuer touches each player once: a cache of its players would only grow with the campaign.
ISSUER_CACHED_STATES = 1_000


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


def build_ledger(
    database_url: str, clock: Clock, random_bytes: RandomBytes, *, pool_size: int = 8, max_overflow: int = 8,
    cached_states: int = CACHED_STATES,
) -> SpinLedger:
    """The Application on PostgreSQL, its ports filled as every process runs it: states cached between requests,
    awards and spins that arrive together decided and appended as one group."""
    return open_ledger(
        database_url, clock, random_bytes, pool_size=pool_size, max_overflow=max_overflow,
        cache=StateCache(cached_states), batching=GROUPED,
    )


def bootstrap(
    settings: Settings, *, clock: Clock | None = None, random_bytes: RandomBytes = os.urandom, cached_states: int = CACHED_STATES,
) -> Services:
    """Everything a process runs on, the database's schema made current first."""
    if not settings.database_url:
        raise RuntimeError("DATABASE_URL is not set (make run starts an embedded PostgreSQL and sets it)")
    clock = clock or SystemClock()
    upgrade(settings.database_url)  # every store's tables, before anything uses them (under the schema's advisory lock)
    ledger = build_ledger(
        settings.database_url, clock, random_bytes, pool_size=settings.db_pool_size, max_overflow=settings.db_pool_max_overflow,
        cached_states=cached_states,
    )
    datastore = ledger.recorder.datastore
    gate = DatabaseGate(settings.database_wait_seconds)
    gate_pool(datastore, gate)  # every store below shares the Application's connections, and so its gate
    sessions, audit, webhooks = SessionStore(datastore), AuditLog(datastore), WebhookStore(datastore)
    campaigns = CampaignService(ledger, CampaignStore(datastore), deferring_queue(), clock, random_bytes, settings.campaign_chunk_size)
    return Services(
        settings=settings, clock=clock, keyring=Keyring.from_config(settings.api_keys), ledger=ledger, random_bytes=random_bytes,
        sessions=sessions, read_models=ReadModels(datastore), audit=audit, webhooks=webhooks, campaigns=campaigns,
        database_gate=gate, console_sessions=ConsoleSessions(datastore),
    )


def projections_datastore(database_url: str, pool_size: int = 4) -> PostgresDatastore:
    """The connections the projections (and the outbox, its sender) use, apart from the Application's."""
    env = eventsourcing_env(database_url)
    return PostgresDatastore(
        dbname=env["POSTGRES_DBNAME"], host=env["POSTGRES_HOST"], port=env["POSTGRES_PORT"], user=env["POSTGRES_USER"],
        password=env["POSTGRES_PASSWORD"], pool_size=pool_size, max_overflow=len(PROJECTIONS) + 5, lock_timeout=5,  # + the outbox, its sender, the risk review
        connect_timeout=5, idle_in_transaction_session_timeout=10,
    )


@dataclass
class WorkerParts:
    """What ``spinledger worker`` runs: the projections and the webhook outbox following the store, the sender
    delivering the outbox, the scheduler running the timed jobs (``app.worker`` adds the campaign issuers, processes
    of their own that bootstrap themselves)."""

    services: Services
    datastore: PostgresDatastore
    followers: ProjectionWorker
    sender: WebhookSender
    scheduler: BackgroundScheduler

    def start(self) -> None:
        self.followers.start()
        self.sender.start()
        self.scheduler.start()

    def stop(self) -> None:
        self.scheduler.shutdown(wait=True)
        self.sender.stop()
        self.followers.stop()
        self.services.close()
        self.datastore.close()


def bootstrap_worker(settings: Settings) -> WorkerParts:
    services = bootstrap(settings)
    assert settings.database_url  # bootstrap refuses to start without it
    datastore = projections_datastore(settings.database_url)
    projections = [build(datastore, name) for name in PROJECTIONS]
    # The webhook outbox follows the store like a projection, and its sender delivers it, in the worker: never
    # in the request path of an award or a spin.
    outbox = OutboxProjection(OutboxView(datastore, now=services.clock.now))
    # The risk review judges player events in the worker, once each, and raises its flags through the Application.
    risk = RiskReviewProjection(RiskReviewView(datastore, rules=settings.risk_rules(), raise_flag=services.ledger.raise_risk_flag))
    followers = ProjectionWorker(datastore, [*projections, outbox, risk], poll_seconds=settings.projection_poll_seconds)
    sender = WebhookSender(
        WebhookStore(datastore, lease=timedelta(seconds=settings.webhook_lease_seconds)), services.clock.now,
        threads_per_endpoint=settings.webhook_threads_per_endpoint, timeout_seconds=settings.webhook_timeout_seconds,
        backoff=Backoff(base_seconds=settings.webhook_retry_base_seconds), allow_private=settings.webhook_allow_private,
    )
    scheduler = make_scheduler(
        settings.reconcile_cron, services.reconcile, services.purge_audit_log, settings.audit_purge_cron,
        services.expire_awards, settings.award_expiry_check_seconds,
    )
    return WorkerParts(services, datastore, followers, sender, scheduler)
