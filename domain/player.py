"""The Player aggregate: profile, responsible-gaming state, awards held, the wallet and the game state."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.ids import player_stream_id
from domain.windows import day_key, week_key

SELF_EXCLUSION_MONTHS = {"6m": 6, "1y": 12, "5y": 60}


class Player(Aggregate):
    @staticmethod
    def stream_id(player_id: str) -> UUID:
        return player_stream_id(player_id)

    @classmethod
    def register(cls, player_id: str, region: str, birth_date: date, currency: str, at: datetime) -> Player:
        return cls._create(
            cls.PlayerRegistered,
            id=cls.stream_id(player_id),
            player_id=player_id,
            region=region,
            birth_date=birth_date.isoformat(),
            currency=currency,
            timestamp=at,
        )

    class PlayerRegistered(Aggregate.Created):
        player_id: str
        region: str
        birth_date: str
        currency: str

    @event(PlayerRegistered)
    def __init__(self, player_id: str, region: str, birth_date: str, currency: str) -> None:
        self.player_id = player_id
        self.region = region
        self.birth_date_iso = birth_date
        self.currency = currency
        self.balance = Decimal("0.00")
        self.self_excluded_until: datetime | None = None
        self.award_ids: list[str] = []
        self.open_awards: dict[str, datetime] = {}
        self.award_tally: dict[str, int] = {}
        self.spins_settled = 0
        self.last_spin: dict[str, Any] | None = None  # the record of the player's latest spin
        self.block: dict[str, Any] | None = None  # the free-spins block in play, if any

    @property
    def birth_date(self) -> date:
        return date.fromisoformat(self.birth_date_iso)

    def profile_differs(self, region: str, birth_date: date, currency: str) -> bool:
        return (self.region, self.birth_date_iso, self.currency) != (region, birth_date.isoformat(), currency)

    @event("PlayerUpdated")
    def update_profile(self, region: str, birth_date: str, currency: str, timestamp: datetime) -> None:
        self.region = region
        self.birth_date_iso = birth_date
        self.currency = currency

    def age_on(self, day: date) -> int:
        born = self.birth_date
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))

    def is_self_excluded_at(self, at: datetime) -> bool:
        return self.self_excluded_until is not None and at < self.self_excluded_until

    @event("SelfExclusionStarted")
    def start_self_exclusion(
        self, period: str, until: datetime, awards_cancelled: list[str], timestamp: datetime
    ) -> None:
        if self.self_excluded_until is None or until > self.self_excluded_until:
            self.self_excluded_until = until
        for award_id in awards_cancelled:
            self.open_awards.pop(award_id, None)

    def spins_awarded(self, promo_id: str, at: datetime) -> tuple[int, int]:
        """Spins of ``promo_id`` received in the UTC day and ISO week of ``at``."""
        return (
            self.award_tally.get(f"{promo_id}|{day_key(at)}", 0),
            self.award_tally.get(f"{promo_id}|{week_key(at)}", 0),
        )

    @event("AwardReceived")
    def receive_award(self, award_id: str, promo_id: str, spins: int, expires_at: datetime, timestamp: datetime) -> None:
        day, week = day_key(timestamp), week_key(timestamp)
        # Only the current day and week matter for caps: older tallies are dropped.
        self.award_tally = {k: v for k, v in self.award_tally.items() if k.endswith((f"|{day}", f"|{week}"))}
        for key in (f"{promo_id}|{day}", f"{promo_id}|{week}"):
            self.award_tally[key] = self.award_tally.get(key, 0) + spins
        self.open_awards = {k: v for k, v in self.open_awards.items() if v > timestamp}
        self.open_awards[award_id] = expires_at
        self.award_ids.append(award_id)

    # -- the wallet ------------------------------------------------------------------------------

    @event("FundsDeposited")
    def deposit(self, transaction_id: str, amount: Decimal, currency: str, balance_after: Decimal, timestamp: datetime) -> None:
        self.balance = balance_after

    @event("FundsWithdrawn")
    def withdraw(self, transaction_id: str, amount: Decimal, currency: str, balance_after: Decimal, timestamp: datetime) -> None:
        self.balance = balance_after

    # -- the game --------------------------------------------------------------------------------

    @event("SpinSettled")
    def settle_spin(self, spin: dict[str, Any], timestamp: datetime) -> None:
        self.balance = spin["balance_after"]
        self.block = spin["block"]
        self.last_spin = {**spin, "settled_at": timestamp}
        self.spins_settled += 1

    @event("BlockCompleted")
    def complete_block(
        self,
        kind: str,
        block_id: str,
        award_id: str | None,
        spins_played: int,
        total_win: Decimal,
        triggering_bet: Decimal,
        win_multiple: Decimal,
        timestamp: datetime,
    ) -> None:
        if kind == "award" and award_id is not None:
            self.open_awards.pop(award_id, None)
