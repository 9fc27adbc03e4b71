"""The one wiring point: what every request handler reaches for, built once per process."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from flask import current_app

from app.auth import Keyring
from app.config import Settings
from app.errors import ApiError
from app.sessions import SessionStore
from domain.clock import Clock, RandomBytes
from domain.ids import uuid7
from domain.ledger import SpinLedger
from domain.slot.crystal_forge import CRYSTAL_FORGE


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


@dataclass
class Services:
    settings: Settings
    clock: Clock
    keyring: Keyring
    ledger: SpinLedger
    random_bytes: RandomBytes
    sessions: SessionStore

    def open_session(self, player_id: str) -> dict[str, object]:
        """A game session for a player who may play: the token, shown once, and its expiry."""
        self.ledger.admit_player(CRYSTAL_FORGE, player_id)
        token, expires_at = self.sessions.open(player_id, self.clock.now(), timedelta(seconds=self.settings.session_ttl_seconds), self.random_bytes)
        return {"token": token, "expires_at": expires_at}

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

    def close(self) -> None:
        self.ledger.close()


def services() -> Services:
    return current_app.extensions["spinledger"]


def ledger() -> SpinLedger:
    return services().ledger
