"""The Player aggregate: profile, responsible-gaming state, awards held, the wallet and the game state."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.ids import player_stream_id
from domain.limits import PendingLimit, add_to_tally, cash_loss, in_force
from domain.money import COIN_CURRENCY
from domain.risk import CLEARED, DECISIONS, OPEN
from domain.windows import day_key, week_key

SELF_EXCLUSION_MONTHS = {"6m": 6, "1y": 12, "5y": 60}
COOLING_OFF_PERIODS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30), "6w": timedelta(weeks=6)}


class Player(Aggregate):
    # Responsible-gaming state added after players were first recorded: a player restored from an older snapshot
    # has none of its own, so each has a class default, and is only ever replaced, never changed in place. (Not
    # annotated: the library would make annotated ones fields of the aggregate's constructor.)
    cooling_off_until = None  # type: datetime | None
    limits = {}  # type: dict[str, Decimal]  # in force as of the last LimitsChanged (see limits_at)
    pending_limit_changes = {}  # type: dict[str, dict[str, Any]]  # by limit: {"value", "effective_at"}
    deposit_tally = {}  # type: dict[str, Decimal]  # deposits in the day, week and month of the latest one
    loss_tally = {}  # type: dict[str, Decimal]  # net loss of cash play in the day, week and month of the latest spin
    reviews = {}  # type: dict[str, dict[str, Any]]  # by review id: rule, evidence, raised_at, status, the decision
    coin_balance = Decimal("0.00")  # gold coins: social-casino play, never cash
    test = False  # a smoke test's player: kept in the log, left out of the money totals

    if TYPE_CHECKING:  # the event classes that @event("...") below makes when the class is created, named for mypy
        PlayerUpdated: ClassVar[type[Any]]
        SelfExclusionStarted: ClassVar[type[Any]]
        CoolingOffStarted: ClassVar[type[Any]]
        RiskFlagRaised: ClassVar[type[Any]]
        ReviewDecided: ClassVar[type[Any]]
        LimitsChanged: ClassVar[type[Any]]
        AwardReceived: ClassVar[type[Any]]
        GoldCoinsReceived: ClassVar[type[Any]]
        FundsDeposited: ClassVar[type[Any]]
        FundsWithdrawn: ClassVar[type[Any]]
        SpinSettled: ClassVar[type[Any]]
        BlockCompleted: ClassVar[type[Any]]

    @staticmethod
    def stream_id(player_id: str) -> UUID:
        return player_stream_id(player_id)

    @classmethod
    def register(cls, player_id: str, region: str, birth_date: date, currency: str, at: datetime, test: bool = False) -> Player:
        return cls._create(
            cls.PlayerRegistered,
            id=cls.stream_id(player_id),
            player_id=player_id,
            region=region,
            birth_date=birth_date.isoformat(),
            currency=currency,
            test=test,
            timestamp=at,
        )

    class PlayerRegistered(Aggregate.Created):
        player_id: str
        region: str
        birth_date: str
        currency: str
        test: bool  # absent from players registered before test players: read it with getattr(event, "test", False)

    @event(PlayerRegistered)
    def __init__(self, player_id: str, region: str, birth_date: str, currency: str, test: bool = False) -> None:
        self.player_id = player_id
        self.test = test
        self.region = region
        self.birth_date_iso = birth_date
        self.currency = currency
        self.balance = Decimal("0.00")
        self.self_excluded_until: datetime | None = None
        self.award_ids: list[str] = []
        self.open_awards: dict[str, datetime] = {}
        self.award_tally: dict[str, int | Decimal] = {}  # spins, or coins of a gold-coins promotion
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
    def start_self_exclusion(self, period: str, until: datetime, awards_cancelled: list[str], timestamp: datetime) -> None:
        if self.self_excluded_until is None or until > self.self_excluded_until:
            self.self_excluded_until = until
        for award_id in awards_cancelled:
            self.open_awards.pop(award_id, None)

    def is_cooling_off_at(self, at: datetime) -> bool:
        return self.cooling_off_until is not None and at < self.cooling_off_until

    @event("CoolingOffStarted")
    def start_cooling_off(self, period: str, until: datetime, timestamp: datetime) -> None:
        if self.cooling_off_until is None or until > self.cooling_off_until:
            self.cooling_off_until = until

    # -- risk review -------------------------------------------------------------------------------

    @property
    def promotions_paused(self) -> bool:
        """A review is open, or was decided to keep the player's promotions paused."""
        return any(review["status"] != CLEARED for review in self.reviews.values())

    @event("RiskFlagRaised")
    def raise_risk_flag(self, review_id: str, player_id: str, rule: str, evidence: dict[str, Any], timestamp: datetime) -> None:
        self.reviews = {
            **self.reviews,
            review_id: {
                "rule": rule,
                "evidence": evidence,
                "raised_at": timestamp,
                "status": OPEN,
                "decision": None,
                "note": None,
                "decided_by": None,
                "decided_at": None,
            },
        }

    @event("ReviewDecided")
    def decide_review(self, review_id: str, decision: str, note: str, decided_by: str, timestamp: datetime) -> None:
        self.reviews = {
            **self.reviews,
            review_id: {
                **self.reviews[review_id],
                "status": DECISIONS[decision],
                "decision": decision,
                "note": note,
                "decided_by": decided_by,
                "decided_at": timestamp,
            },
        }

    # -- limits ------------------------------------------------------------------------------------

    @property
    def pending_limits(self) -> dict[str, PendingLimit]:
        return {name: PendingLimit(name, c["value"], c["effective_at"]) for name, c in self.pending_limit_changes.items()}

    def limits_at(self, at: datetime) -> dict[str, Decimal]:
        return in_force(self.limits, self.pending_limits, at)

    @event("LimitsChanged")
    def change_limits(self, changes: list[dict[str, Any]], timestamp: datetime) -> None:
        limits = self.limits_at(timestamp)
        pending = {name: c for name, c in self.pending_limit_changes.items() if c["effective_at"] > timestamp}
        for change in changes:
            name = change["limit"]
            pending.pop(name, None)
            if change["effective_at"] > timestamp:
                pending[name] = {"value": change["value"], "effective_at": change["effective_at"]}
            elif change["value"] is None:
                limits.pop(name, None)
            else:
                limits[name] = change["value"]
        self.limits, self.pending_limit_changes = limits, pending

    def awarded_in_windows(self, promo_id: str, at: datetime) -> tuple[int | Decimal, int | Decimal]:
        """Spins (or coins) of ``promo_id`` received in the UTC day and ISO week of ``at``."""
        return (
            self.award_tally.get(f"{promo_id}|{day_key(at)}", 0),
            self.award_tally.get(f"{promo_id}|{week_key(at)}", 0),
        )

    @event("AwardReceived")
    def receive_award(self, award_id: str, promo_id: str, spins: int, expires_at: datetime, timestamp: datetime) -> None:
        self._tally_award(promo_id, spins, timestamp)
        self.open_awards = {k: v for k, v in self.open_awards.items() if v > timestamp}
        self.open_awards[award_id] = expires_at
        self.award_ids.append(award_id)

    @event("GoldCoinsReceived")
    def receive_coins(self, award_id: str, promo_id: str, coins: Decimal, coin_balance_after: Decimal, timestamp: datetime) -> None:
        self._tally_award(promo_id, coins, timestamp)
        self.coin_balance = coin_balance_after
        self.award_ids.append(award_id)

    def _tally_award(self, promo_id: str, amount: int | Decimal, at: datetime) -> None:
        day, week = day_key(at), week_key(at)
        # Only the current day and week matter for caps: older tallies are dropped.
        self.award_tally = {k: v for k, v in self.award_tally.items() if k.endswith((f"|{day}", f"|{week}"))}
        for key in (f"{promo_id}|{day}", f"{promo_id}|{week}"):
            self.award_tally[key] = self.award_tally.get(key, 0) + amount

    # -- the wallet ------------------------------------------------------------------------------

    @event("FundsDeposited")
    def deposit(self, transaction_id: str, amount: Decimal, currency: str, balance_after: Decimal, timestamp: datetime) -> None:
        self.balance = balance_after
        self.deposit_tally = add_to_tally(self.deposit_tally, amount, timestamp)

    @event("FundsWithdrawn")
    def withdraw(self, transaction_id: str, amount: Decimal, currency: str, balance_after: Decimal, timestamp: datetime) -> None:
        self.balance = balance_after

    # -- the game --------------------------------------------------------------------------------

    @event("SpinSettled")
    def settle_spin(self, spin: dict[str, Any], timestamp: datetime) -> None:
        if spin["currency"] == COIN_CURRENCY:  # a spin played in gold coins moves the coin balance only
            self.coin_balance = spin["balance_after"]
        else:
            self.balance = spin["balance_after"]
        if loss := cash_loss(spin):
            self.loss_tally = add_to_tally(self.loss_tally, loss, timestamp)
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
