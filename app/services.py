"""The one wiring point: what every request handler reaches for, built once per process."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from flask import current_app

from app.auth import Keyring
from app.config import Settings
from domain.clock import Clock, RandomBytes
from domain.ledger import SpinLedger


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

    def close(self) -> None:
        self.ledger.close()


def services() -> Services:
    return current_app.extensions["spinledger"]


def ledger() -> SpinLedger:
    return services().ledger
