"""The use-case layer the routes, the worker and the CLI call: the Application's use cases and those that read the
views or reach the stores beside the event store. Built by ``app.bootstrap``."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from flask import current_app

from app.audit_log import AuditLog, Purged
from app.auth import Keyring
from app.campaigns import CampaignService, CampaignStatus
from app.config import Settings
from app.console_sessions import ConsoleSessions
from app.database_gate import DatabaseGate
from app.errors import ApiError
from app.sessions import SessionStore
from app.webhooks.store import WebhookStore
from domain.clock import Clock, RandomBytes
from domain.ids import player_stream_id, uuid7
from domain.application import SpinLedger
from domain.slot.crystal_forge import CRYSTAL_FORGE
from domain.errors import ReviewNotFound, SpinNotFound
from domain.paging import Page
from domain.results import AwardStatus, PlayerSummary, PromotionSummary, Review, SpinRecord
from projections.event_history import EventHistory
from projections.lag import Lag, projection_lags
from domain.money import COIN_CURRENCY
from projections.promotions import liability_report
from projections.risk_review import Reviews
from projections.totals import LedgerTotals, ledger_totals
from projections.queries import ReadModels

AWARD_VIEWS = ("awards",)
PLAYER_VIEWS = ("players", "wallet", "bonus", "awards")


@dataclass
class Services:
    settings: Settings
    clock: Clock
    keyring: Keyring
    ledger: SpinLedger
    random_bytes: RandomBytes
    sessions: SessionStore
    read_models: ReadModels
    audit: AuditLog
    webhooks: WebhookStore
    campaigns: CampaignService
    database_gate: DatabaseGate
    console_sessions: ConsoleSessions

    def get_award(self, award_id: UUID) -> AwardStatus:
        now = self.clock.now()
        found = self.read_models.award(award_id, now) if self._views_current(AWARD_VIEWS, [award_id]) else None
        return found if found is not None else self.ledger.get_award(award_id)

    def list_player_awards(self, player_id: str, after: str | None, limit: int) -> Page[AwardStatus]:
        if self._player_views_current(("players", "awards"), player_id) and self.read_models.has_player(player_id):
            return self.read_models.player_awards(player_id, after, limit, self.clock.now())
        return self.ledger.list_player_awards(player_id, after, limit)

    def get_player(self, player_id: str) -> PlayerSummary:
        found = self.read_models.player(player_id, self.clock.now()) if self._player_views_current(PLAYER_VIEWS, player_id) else None
        return found if found is not None else self.ledger.get_player(player_id)

    def find_spin(self, spin_id: str) -> SpinRecord:
        """A spin found through the event index, read from the event store. A spin the index has not reached
        yet is waited for, up to ``READ_WAIT_SECONDS``, as long as the index is behind the store."""
        history = self.event_history()
        head = self.ledger.recorder.max_notification_id() or 0
        deadline = time.monotonic() + self.settings.read_wait_seconds
        while (found := history.spin_event(spin_id)) is None:
            behind = history.indexed_up_to() < head
            if not behind or time.monotonic() >= deadline:
                raise SpinNotFound(f"no spin {spin_id}" + (" (the event index is catching up: retry)" if behind else ""))
            time.sleep(0.01)
        return self.ledger.spin_record(spin_id, *found)

    def event_history(self) -> EventHistory:
        return EventHistory(self.ledger.recorder.datastore)

    def list_promotions(self, after: str | None, limit: int) -> Page[PromotionSummary]:
        """The promotions, newest first, as the event index lists them (read, each, from the event store)."""
        ids, more = self.event_history().created("PromotionDefined", "promo_id", _position(after), limit)
        return Page(data=[self.ledger.get_promotion(promo_id) for promo_id in ids], next_cursor=_cursor(more), has_more=more is not None)

    def list_campaigns(self, after: str | None, limit: int) -> Page[CampaignStatus]:
        """The campaigns, newest first, as the event index lists them, each with its progress."""
        ids, more = self.event_history().created("CampaignDefined", "campaign_id", _position(after), limit)
        return Page(data=[self.campaigns.status(campaign_id) for campaign_id in ids], next_cursor=_cursor(more), has_more=more is not None)

    def liability_report(self) -> dict[str, Any]:
        """The liability report as of now, as the API answers it and the console shows it."""
        now = self.clock.now()
        position, lines, coins = liability_report(self.ledger.recorder.datastore, now)  # from the promotions view
        return {"as_of": now, "position": position, "data": lines, "coins": coins}

    def projection_lags(self) -> list[Lag]:
        return projection_lags(self.ledger.recorder.datastore, self.clock.now())

    def ledger_totals(self) -> LedgerTotals:
        return ledger_totals(self.ledger.recorder.datastore)

    def _player_views_current(self, views: tuple[str, ...], player_id: str) -> bool:
        """A player's stream moves with every award granted and spin played; an open award's own stream
        also moves when it is cancelled."""
        return self._views_current(views, [player_stream_id(player_id), *self.read_models.open_award_ids(player_id)])

    def _views_current(self, views: tuple[str, ...], streams: list[UUID]) -> bool:
        """Whether the views have applied the streams' last events, waiting up to ``READ_WAIT_SECONDS`` for
        the worker; if they have not by then, the caller reads the event store instead."""
        deadline = time.monotonic() + self.settings.read_wait_seconds
        while not self.read_models.current_for(views, streams):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    def list_reviews(self, status: str | None, after: str | None, limit: int) -> Page[dict[str, Any]]:
        """The risk reviews, newest first, as the worker's risk review has applied them."""
        rows, more = Reviews(self.ledger.recorder.datastore).page(status, _position(after), limit)
        return Page(data=rows, next_cursor=_cursor(more), has_more=more is not None)

    def decide_review(self, review_id: UUID, decision: str, note: str, decided_by: str) -> Review:
        """Records a compliance officer's decision on the player the review is of (found in the list of reviews,
        waited for up to ``READ_WAIT_SECONDS`` if the worker has not listed it yet)."""
        reviews = Reviews(self.ledger.recorder.datastore)
        deadline = time.monotonic() + self.settings.read_wait_seconds
        while (found := reviews.find(str(review_id))) is None:
            if time.monotonic() >= deadline:
                raise ReviewNotFound(f"no review {review_id}", field="review_id")
            time.sleep(0.01)
        return self.ledger.decide_review(found["player_id"], str(review_id), decision, note, decided_by)

    def open_session(self, player_id: str, currency: str | None = None) -> dict[str, object]:
        """A game session for a player who may play, in the player's currency or in gold coins (``GC``): the
        token, shown once, its expiry and its currency."""
        currency = self.ledger.admit_player(CRYSTAL_FORGE, player_id, currency)
        token, expires_at = self.sessions.open(
            player_id, self.clock.now(), timedelta(seconds=self.settings.session_ttl_seconds), self.random_bytes,
            coins=currency == COIN_CURRENCY,
        )
        return {"token": token, "expires_at": expires_at, "currency": currency}

    def reconcile(self, as_of: datetime | None = None) -> dict[str, object]:
        """Runs a reconciliation now, records its report and alerts, and announces the alerts."""
        from app.alerts import WebhookAlertSender
        from reconciliation.run import ReconciliationBusy, alerts_of, announce, reconcile

        if not self.settings.database_url:
            raise RuntimeError("DATABASE_URL is not set")
        now = self.clock.now()
        run_id = uuid7(now, self.random_bytes)
        try:
            report = reconcile(
                self.settings.database_url, run_id=run_id, as_of=as_of or now, started_at=now,
                threshold_pct=self.settings.drift_alert_pct, clock=self.clock.now,
            )
        except ReconciliationBusy as busy:
            raise ApiError("RECONCILIATION_RUNNING", str(busy), retry_after_ms=60_000) from None
        alerts = alerts_of(report)
        recorded = self.ledger.record_reconciliation(run_id, report, alerts)
        url = self.settings.alert_webhook_url
        announce(alerts, WebhookAlertSender(url, self.settings.alert_webhook_secret, self.clock) if url else None)
        return recorded

    def expire_awards(self) -> tuple[int, int]:
        """The expiry job: ``AwardExpired`` for the awards past their instant with spins left, and, when
        ``AWARD_EXPIRY_NOTICE_SECONDS`` is set, ``AwardExpiringSoon`` for those expiring within it."""
        notice = timedelta(seconds=self.settings.award_expiry_notice_seconds) if self.settings.award_expiry_notice_seconds else None
        return self.ledger.expire_awards(self.read_models.awards_due_for_expiry(self.clock.now(), notice), notice)

    def purge_audit_log(self) -> Purged:
        """The audit log's purge as of the services' clock, with the configured retention."""
        return self.audit.purge(self.clock.now(), self.settings.audit_raw_retention_days)

    def console_signing_key(self) -> bytes:
        """The key the console's session cookies are signed with when ``CONSOLE_SECRET_KEY`` is not set: one per
        database, made by the schema (``0007_console.sql``), so every web process accepts the others' cookies."""
        with self.ledger.recorder.datastore.get_connection() as conn:
            row = conn.execute("SELECT secret FROM console_secret").fetchone()
        return bytes(row["secret"])

    def close(self) -> None:
        self.audit.close()
        self.ledger.close()


def _position(cursor: str | None) -> int | None:
    if cursor is not None and not cursor.isdigit():
        raise ApiError("VALIDATION_ERROR", "after: not a cursor this list gave", field="after")
    return int(cursor) if cursor else None


def _cursor(position: int | None) -> str | None:
    return None if position is None else str(position)


def services() -> Services:
    return current_app.extensions["spinledger"]


def ledger() -> SpinLedger:
    return services().ledger
