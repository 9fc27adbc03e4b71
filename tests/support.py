"""Builders and helpers shared by the tests."""

from __future__ import annotations

import secrets
import threading
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Iterator

import psycopg

from app.database import create_database, drop_database, with_database
from app.schema import upgrade
from domain.promotion import PromotionTerms
from domain.requests import AwardRequest, PlayerProfile

# A Wednesday, mid-morning UTC: days and ISO weeks have room on both sides.
T0 = datetime(2026, 11, 18, 10, 0, tzinfo=timezone.utc)
GAME = "crystal-forge-v1"

API_KEYS = {
    "test-admin-key": {"name": "admin", "scopes": ["players:write", "promotions:write", "awards:write", "awards:read"]},
    "test-marketing-key": {"name": "marketing", "scopes": ["awards:write"]},
    "test-reader-key": {"name": "reader", "scopes": ["awards:read"]},
    "test-finance-key": {"name": "finance", "scopes": ["finance"]},
    "test-compliance-key": {"name": "compliance", "scopes": ["compliance"]},
    "test-metrics-key": {"name": "prometheus", "scopes": ["metrics"]},
    "test-operator-key": {"name": "operator", "scopes": ["games:write"]},
    # The console's tests sign in with it: every scope its pages need.
    "test-officer-key": {"name": "officer", "scopes": ["finance", "compliance", "awards:write", "awards:read", "promotions:write"]},
}
METRICS = {"Authorization": "Bearer test-metrics-key"}
ADMIN = {"Authorization": "Bearer test-admin-key"}
COMPLIANCE = {"Authorization": "Bearer test-compliance-key"}
OPERATOR = {"Authorization": "Bearer test-operator-key"}


class FakeClock:
    def __init__(self, at: datetime = T0):
        self._at = at
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._at

    def set(self, at: datetime) -> None:
        with self._lock:
            self._at = at

    def advance(self, **delta: float) -> None:
        with self._lock:
            self._at += timedelta(**delta)


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(6)}"


@contextmanager
def scratch_database(server_url: str, prefix: str, *, upgraded: bool = True) -> Iterator[str]:
    """A new database on the server (its name ``prefix`` and a random suffix), dropped afterwards; its schema
    upgraded by the migrations, as a start of the service upgrades it, unless told not to."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    create_database(server_url, name)
    try:
        url = with_database(server_url, name)
        if upgraded:
            upgrade(url)
        yield url
    finally:
        drop_database(server_url, name)


def terms(**overrides: Any) -> PromotionTerms:
    values: dict[str, Any] = dict(
        name="Welcome spins",
        award_type="FREE_SPINS",
        game_codes=[GAME],
        max_spins_per_award=50,
        bet_per_spin=Decimal("0.20"),
        currency="CAD",
        starts_at=T0 - timedelta(days=30),
        ends_at=T0 + timedelta(days=30),
        budget_spins=10_000,
        per_player_daily_limit=None,
        per_player_weekly_limit=None,
        allowed_regions=["CA"],
        award_ttl_seconds=7 * 86400,
    )
    values.update(overrides)
    return PromotionTerms(**values)


def terms_json(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Welcome spins",
        "award_type": "FREE_SPINS",
        "game_codes": [GAME],
        "max_spins_per_award": 50,
        "bet_per_spin": "0.20",
        "currency": "CAD",
        "starts_at": "2026-10-19T10:00:00Z",
        "ends_at": "2026-12-18T10:00:00Z",
        "budget_spins": 10_000,
        "per_player_daily_limit": None,
        "per_player_weekly_limit": None,
        "allowed_regions": ["CA"],
        "award_ttl_seconds": 7 * 86400,
    }
    body.update(overrides)
    return body


def adult(region: str = "CA-ON", currency: str = "CAD") -> PlayerProfile:
    return PlayerProfile(region=region, birth_date=date(1990, 4, 1), currency=currency)


def award_request(player_id: str, promo_id: str, key: str | None = None, **overrides: Any) -> AwardRequest:
    values: dict[str, Any] = dict(
        player_id=player_id,
        promo_id=promo_id,
        award_type="FREE_SPINS",
        award_value=5,
        game_code=GAME,
        idempotency_key=key or unique("key"),
    )
    values.update(overrides)
    return AwardRequest(**values)


def award_json(player_id: str, promo_id: str, key: str | None = None, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "request_id": unique("req"),
        "player_id": player_id,
        "promo_id": promo_id,
        "award_type": "FREE_SPINS",
        "award_value": 5,
        "game_code": GAME,
        "issued_at": "2026-11-18T10:00:00Z",
        "idempotency_key": key or unique("key"),
    }
    body.update(overrides)
    return body


def event_count(conn: psycopg.Connection, type_name: str | None = None) -> int:
    if type_name is None:
        row = conn.execute("SELECT count(*) FROM spinledger_events").fetchone()
    else:
        row = conn.execute("SELECT count(*) FROM spinledger_events WHERE topic LIKE %s", [f"%.{type_name}"]).fetchone()
    assert row is not None
    return int(row[0])


# Reel stops of Crystal Forge that show three scatters (reels 1-3) and none.
THREE_SCATTERS = (17, 8, 4, 0, 0)
NO_SCATTER = (0, 0, 0, 0, 0)
LOSING = (7, 10, 13, 16, 19)  # no line win, one scatter: the bet is lost


class ScriptedStops:
    """A seeded random source whose reel stops can be chosen: the next planned spins' stops come first.

    Stops are drawn 4 bytes per reel (``domain.slot.rng``); every other draw (ids) is seeded random.
    """

    def __init__(self, seed: int | str = 2026):
        import random

        self._random = random.Random(seed)
        self._planned: list[int] = []
        self._lock = threading.Lock()

    def plan(self, *spins: tuple[int, ...]) -> None:
        with self._lock:
            self._planned.extend(stop for spin in spins for stop in spin)

    def __call__(self, n: int) -> bytes:
        with self._lock:
            if n == 4 and self._planned:
                return self._planned.pop(0).to_bytes(4, "big")
            return self._random.randbytes(n)


def spin_command(player_id: str, bet: str | None = "1.00", **overrides: Any):
    from domain.requests import SpinCommand

    values: dict[str, Any] = dict(
        player_id=player_id, request_id=unique("req"), received_at=T0, bet=Decimal(bet) if bet else None, currency="CAD"
    )
    values.update(overrides)
    return SpinCommand(**values)
