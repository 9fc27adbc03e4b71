"""The Promotion aggregate: a campaign's terms and its spin budget."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import ValidationFailed
from domain.games import GAME_CODES, is_valid_bet
from domain.ids import promotion_stream_id
from domain.money import check_coins, check_currency
from domain.windows import require_utc

AWARD_TYPE_FREE_SPINS = "FREE_SPINS"
AWARD_TYPE_GOLD_COINS = "GOLD_COINS"
AWARD_TYPES = (AWARD_TYPE_FREE_SPINS, AWARD_TYPE_GOLD_COINS)
MIN_AWARD_TTL_SECONDS = 60
# The terms only one award type has: each is refused in the other's promotion.
SPINS_ONLY = ("max_spins_per_award", "bet_per_spin", "currency", "budget_spins", "award_ttl_seconds")
COINS_ONLY = ("max_coins_per_award", "budget_coins")


@dataclass(frozen=True)
class PromotionTerms:
    """A promotion's terms. A ``FREE_SPINS`` promotion counts its budget and caps in spins, at ``bet_per_spin``
    in ``currency``; a ``GOLD_COINS`` one counts them in coins (``Decimal``, two decimals), which are no currency
    and never convertible to cash. ``test`` marks a smoke test's promotion: kept in the log, left out of the
    money totals."""

    name: str
    award_type: str
    game_codes: list[str]
    starts_at: datetime
    ends_at: datetime
    allowed_regions: list[str]
    per_player_daily_limit: int | Decimal | None = None
    per_player_weekly_limit: int | Decimal | None = None
    max_spins_per_award: int | None = None
    bet_per_spin: Decimal | None = None
    currency: str | None = None
    budget_spins: int | None = None
    award_ttl_seconds: int | None = None
    max_coins_per_award: Decimal | None = None
    budget_coins: Decimal | None = None
    test: bool = False

    def __post_init__(self) -> None:
        if self.award_type not in AWARD_TYPES:
            raise ValidationFailed(f"award_type must be one of {', '.join(AWARD_TYPES)}", field="award_type")
        object.__setattr__(self, "starts_at", require_utc(self.starts_at, "starts_at"))
        object.__setattr__(self, "ends_at", require_utc(self.ends_at, "ends_at"))
        if self.ends_at <= self.starts_at:
            raise ValidationFailed("ends_at must be after starts_at", field="ends_at")
        if not self.game_codes:
            raise ValidationFailed("game_codes must name at least one game", field="game_codes")
        for code in self.game_codes:
            if code not in GAME_CODES:
                raise ValidationFailed(f"game_codes: unknown game {code!r}", field="game_codes")
        if any(not isinstance(region, str) for region in self.allowed_regions):
            raise ValidationFailed("allowed_regions entries must be strings", field="allowed_regions")
        if not self.allowed_regions:
            raise ValidationFailed("allowed_regions must name at least one region", field="allowed_regions")
        if not isinstance(self.test, bool):
            raise ValidationFailed("test must be true or false", field="test")
        if self.is_coins:
            self._check_coin_terms()
        else:
            self._check_spin_terms()
        daily, weekly = self.per_player_daily_limit, self.per_player_weekly_limit
        if daily is not None and weekly is not None and daily > weekly:
            raise ValidationFailed("per_player_daily_limit cannot exceed per_player_weekly_limit", field="per_player_daily_limit")

    @property
    def is_coins(self) -> bool:
        return self.award_type == AWARD_TYPE_GOLD_COINS

    @property
    def unit(self) -> str:
        """What the budget and caps count."""
        return "coins" if self.is_coins else "spins"

    @property
    def max_per_award(self) -> int | Decimal:
        value = self.max_coins_per_award if self.is_coins else self.max_spins_per_award
        assert value is not None
        return value

    @property
    def budget(self) -> int | Decimal:
        value = self.budget_coins if self.is_coins else self.budget_spins
        assert value is not None
        return value

    def _check_spin_terms(self) -> None:
        self._refuse_terms_of_the_other_type(COINS_ONLY)
        for name in SPINS_ONLY:
            if getattr(self, name) is None:
                raise ValidationFailed(f"{name} is required for a FREE_SPINS promotion", field=name)
        check_currency(self.currency)
        assert self.bet_per_spin is not None and self.award_ttl_seconds is not None
        if self.bet_per_spin <= 0:
            raise ValidationFailed("bet_per_spin must be greater than zero", field="bet_per_spin")
        for code in self.game_codes:
            if not is_valid_bet(code, self.bet_per_spin):
                raise ValidationFailed(f"bet_per_spin is not a valid bet of {code}", field="bet_per_spin")
        for name in ("max_spins_per_award", "budget_spins", "per_player_daily_limit", "per_player_weekly_limit"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValidationFailed(f"{name} must be a whole number of spins, at least 1", field=name)
        if self.award_ttl_seconds < MIN_AWARD_TTL_SECONDS:
            raise ValidationFailed(f"award_ttl_seconds must be at least {MIN_AWARD_TTL_SECONDS}", field="award_ttl_seconds")

    def _check_coin_terms(self) -> None:
        self._refuse_terms_of_the_other_type(SPINS_ONLY)
        for name in COINS_ONLY:
            if getattr(self, name) is None:
                raise ValidationFailed(f"{name} is required for a GOLD_COINS promotion", field=name)
        for name in ("max_coins_per_award", "budget_coins", "per_player_daily_limit", "per_player_weekly_limit"):
            value = getattr(self, name)
            if value is not None:
                check_coins(value, name)

    def _refuse_terms_of_the_other_type(self, names: tuple[str, ...]) -> None:
        for name in names:
            if getattr(self, name) is not None:
                other = AWARD_TYPE_FREE_SPINS if self.is_coins else AWARD_TYPE_GOLD_COINS
                raise ValidationFailed(f"{name} is a term of {other} promotions only, not of {self.award_type}", field=name)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PromotionTerms:
        # Terms recorded before gold coins and test promotions lack their fields: each has its default then.
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})


class Promotion(Aggregate):
    """Every award of a campaign reserves spins (or coins) here, so the budget can never be overspent."""

    coins_reserved = Decimal("0.00")  # a class default: promotions recorded before gold coins have none

    if TYPE_CHECKING:  # the event classes that @event("...") below makes when the class is created, named for mypy
        PromotionUpdated: ClassVar[type[Any]]
        PromotionEnded: ClassVar[type[Any]]
        BudgetReserved: ClassVar[type[Any]]
        CoinsReserved: ClassVar[type[Any]]

    @staticmethod
    def stream_id(promo_id: str) -> UUID:
        return promotion_stream_id(promo_id)

    @classmethod
    def define(cls, promo_id: str, terms: PromotionTerms, at: datetime) -> Promotion:
        return cls._create(cls.PromotionDefined, id=cls.stream_id(promo_id), promo_id=promo_id, terms=terms.as_dict(), timestamp=at)

    class PromotionDefined(Aggregate.Created):
        promo_id: str
        terms: dict[str, Any]

    @event(PromotionDefined)
    def __init__(self, promo_id: str, terms: dict[str, Any]) -> None:
        self.promo_id = promo_id
        self.terms_data = terms
        self.spins_reserved = 0
        self.ended_at: datetime | None = None

    @property
    def terms(self) -> PromotionTerms:
        return PromotionTerms.from_dict(self.terms_data)

    @property
    def is_coins(self) -> bool:
        return self.terms_data.get("award_type") == AWARD_TYPE_GOLD_COINS

    @property
    def is_test(self) -> bool:
        return bool(self.terms_data.get("test", False))

    @property
    def budget_left(self) -> int | Decimal:
        """Spins, or for a gold-coins promotion coins, that awards may still reserve."""
        if self.is_coins:
            budget_coins: Decimal = self.terms_data["budget_coins"]
            return max(Decimal("0.00"), budget_coins - self.coins_reserved)
        budget_spins: int = self.terms_data["budget_spins"]
        return max(0, budget_spins - self.spins_reserved)

    def award_expiry(self, issued_at: datetime, requested: datetime | None) -> datetime:
        """The award's expiry: the requested instant, clamped to the promotion's award time-to-live."""
        latest = issued_at + timedelta(seconds=self.terms_data["award_ttl_seconds"])
        return latest if requested is None or requested > latest else requested

    @event("PromotionUpdated")
    def update(self, terms: dict[str, Any], timestamp: datetime) -> None:
        self.terms_data = terms

    @event("PromotionEnded")
    def end(self, reason: str, timestamp: datetime) -> None:
        self.ended_at = timestamp

    @event("BudgetReserved")
    def reserve(self, award_ids: list[str], spins: int, timestamp: datetime) -> None:
        self.spins_reserved += spins

    @event("CoinsReserved")
    def reserve_coins(self, award_ids: list[str], coins: Decimal, timestamp: datetime) -> None:
        # Another topic than BudgetReserved: the append lets others' spin reservations in between a read and
        # its append (it counts their spins against the room left), but any other event, these included, makes
        # the append refuse, so coin reservations are never granted on a stale budget.
        self.coins_reserved += coins
