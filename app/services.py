"""The one wiring point: what every request handler reaches for, built once per process."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from flask import current_app

from app.auth import Keyring
from app.config import Settings
from app.sessions import SessionStore
from domain.clock import Clock, RandomBytes
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

    def close(self) -> None:
        self.ledger.close()


def services() -> Services:
    return current_app.extensions["spinledger"]


def ledger() -> SpinLedger:
    return services().ledger
