"""The Promotion aggregate: a campaign's terms and its spin budget."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import ValidationFailed
from domain.games import GAME_CODES, is_valid_bet
from domain.ids import promotion_stream_id
from domain.money import check_currency
from domain.windows import require_utc

AWARD_TYPE_FREE_SPINS = "FREE_SPINS"
MIN_AWARD_TTL_SECONDS = 60


@dataclass(frozen=True)
class PromotionTerms:
    name: str
    award_type: str
    game_codes: list[str]
    max_spins_per_award: int
    bet_per_spin: Decimal
    currency: str
    starts_at: datetime
    ends_at: datetime
    budget_spins: int
    per_player_daily_limit: int | None
    per_player_weekly_limit: int | None
    allowed_regions: list[str]
    award_ttl_seconds: int

    def __post_init__(self) -> None:
        if self.award_type != AWARD_TYPE_FREE_SPINS:
            raise ValidationFailed("award_type must be FREE_SPINS", field="award_type")
        check_currency(self.currency)
        object.__setattr__(self, "starts_at", require_utc(self.starts_at, "starts_at"))
        object.__setattr__(self, "ends_at", require_utc(self.ends_at, "ends_at"))
        if self.ends_at <= self.starts_at:
            raise ValidationFailed("ends_at must be after starts_at", field="ends_at")
        if not self.game_codes:
            raise ValidationFailed("game_codes must name at least one game", field="game_codes")
        for code in self.game_codes:
            if code not in GAME_CODES:
                raise ValidationFailed(f"game_codes: unknown game {code!r}", field="game_codes")
            if not is_valid_bet(code, self.bet_per_spin):
                raise ValidationFailed(f"bet_per_spin is not a valid bet of {code}", field="bet_per_spin")
        if any(not isinstance(region, str) for region in self.allowed_regions):
            raise ValidationFailed("allowed_regions entries must be strings", field="allowed_regions")
        if not self.allowed_regions:
            raise ValidationFailed("allowed_regions must name at least one region", field="allowed_regions")
        if self.bet_per_spin <= 0:
            raise ValidationFailed("bet_per_spin must be greater than zero", field="bet_per_spin")
        for name in ("max_spins_per_award", "budget_spins", "per_player_daily_limit", "per_player_weekly_limit"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValidationFailed(f"{name} must be at least 1", field=name)
        if self.award_ttl_seconds < MIN_AWARD_TTL_SECONDS:
            raise ValidationFailed(f"award_ttl_seconds must be at least {MIN_AWARD_TTL_SECONDS}", field="award_ttl_seconds")
        daily, weekly = self.per_player_daily_limit, self.per_player_weekly_limit
        if daily is not None and weekly is not None and daily > weekly:
            raise ValidationFailed("per_player_daily_limit cannot exceed per_player_weekly_limit", field="per_player_daily_limit")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PromotionTerms:
        return cls(**{f.name: data[f.name] for f in fields(cls)})


class Promotion(Aggregate):
    """Every award of a campaign reserves spins here, so the budget can never be overspent."""

    @staticmethod
    def stream_id(promo_id: str) -> UUID:
        return promotion_stream_id(promo_id)

    @classmethod
    def define(cls, promo_id: str, terms: PromotionTerms, at: datetime) -> Promotion:
        return cls._create(
            cls.PromotionDefined, id=cls.stream_id(promo_id), promo_id=promo_id, terms=terms.as_dict(), timestamp=at
        )

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
    def budget_left(self) -> int:
        return max(0, self.terms_data["budget_spins"] - self.spins_reserved)

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
