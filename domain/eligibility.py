"""Eligibility and responsible-gaming rules for an award, each named, in the order they apply."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from domain.errors import (
    BudgetExhausted,
    ExpiredPromotion,
    Ineligible,
    PlayerCoolingOff,
    PlayerSelfExcluded,
    PromotionsPaused,
    RateLimited,
    RegionBlocked,
    ValidationFailed,
)
from domain.player import Player
from domain.promotion import AWARD_TYPE_FREE_SPINS, Promotion
from domain.regions import minimum_age, region_allowed
from domain.windows import day_end, week_end


@dataclass(frozen=True)
class AwardContext:
    """What the rules look at: the player, the promotion, what is asked for and when."""

    player: Player
    promo: Promotion
    award_type: str
    game_code: str
    amount: int | Decimal  # spins, or coins
    now: datetime
    budget_left: int | Decimal

    @property
    def unit(self) -> str:
        return "coins" if self.promo.is_coins else "spins"


Rule = Callable[[AwardContext], None]


def player_not_self_excluded(ctx: AwardContext) -> None:
    if ctx.player.is_self_excluded_at(ctx.now):
        raise PlayerSelfExcluded("player is self-excluded and cannot receive awards", field="player_id")


def player_not_cooling_off(ctx: AwardContext) -> None:
    if ctx.player.is_cooling_off_at(ctx.now):
        raise PlayerCoolingOff(f"player is cooling off until {ctx.player.cooling_off_until.isoformat()} and cannot receive awards", field="player_id")


def promotions_not_paused(ctx: AwardContext) -> None:
    if ctx.player.promotions_paused:
        raise PromotionsPaused("the player's promotions are paused pending a compliance review", field="player_id")


def player_of_age(ctx: AwardContext) -> None:
    required = minimum_age(ctx.player.region)
    if ctx.player.age_on(ctx.now.date()) < required:
        raise Ineligible(f"player is under the minimum age of {required} in {ctx.player.region}", field="player_id")


def region_in_promotion(ctx: AwardContext) -> None:
    if not region_allowed(ctx.player.region, ctx.promo.terms_data["allowed_regions"]):
        raise RegionBlocked(f"promotion is not available in {ctx.player.region}", field="player_id")


def promotion_running(ctx: AwardContext) -> None:
    if ctx.promo.ended_at is not None and ctx.now >= ctx.promo.ended_at:
        raise ExpiredPromotion("promotion has been ended", field="promo_id")
    if ctx.now < ctx.promo.terms_data["starts_at"]:
        raise ExpiredPromotion("promotion has not started yet", field="promo_id")
    if ctx.now >= ctx.promo.terms_data["ends_at"]:
        raise ExpiredPromotion("promotion has ended", field="promo_id")


def game_in_promotion(ctx: AwardContext) -> None:
    if ctx.game_code not in ctx.promo.terms_data["game_codes"]:
        raise Ineligible(f"game {ctx.game_code!r} is not part of this promotion", field="game_code")


def award_type_of_promotion(ctx: AwardContext) -> None:
    promo_type = ctx.promo.terms_data.get("award_type", AWARD_TYPE_FREE_SPINS)
    if ctx.award_type != promo_type:
        raise ValidationFailed(f"award_type must be the promotion's, {promo_type}", field="award_type")


def within_maximum_per_award(ctx: AwardContext) -> None:
    maximum = ctx.promo.terms_data["max_coins_per_award" if ctx.promo.is_coins else "max_spins_per_award"]
    if ctx.amount > maximum:
        raise Ineligible(f"award_value exceeds the promotion's maximum of {maximum} {ctx.unit}", field="award_value")


def currency_matches(ctx: AwardContext) -> None:
    """Spins are played at a bet in the promotion's currency; coins are no currency, and any player may hold them."""
    if not ctx.promo.is_coins and ctx.player.currency != ctx.promo.terms_data["currency"]:
        raise Ineligible(
            f"player's currency {ctx.player.currency} differs from the promotion's {ctx.promo.terms_data['currency']}",
            field="player_id",
        )


def test_data_kept_apart(ctx: AwardContext) -> None:
    """A smoke test's promotion awards only smoke test players, and the reverse: its awards are left out of the
    liability and money totals, so a real player holding one would be a liability nobody sees."""
    if ctx.promo.is_test != ctx.player.test:
        which = "a test promotion awards only test players" if ctx.promo.is_test else "a test player takes awards only from test promotions"
        raise Ineligible(which, field="player_id")


def within_player_caps(ctx: AwardContext) -> None:
    daily_cap = ctx.promo.terms_data["per_player_daily_limit"]
    weekly_cap = ctx.promo.terms_data["per_player_weekly_limit"]
    today, this_week = ctx.player.awarded_in_windows(ctx.promo.promo_id, ctx.now)
    for cap, name in ((daily_cap, "daily"), (weekly_cap, "weekly")):
        if cap is not None and ctx.amount > cap:
            raise Ineligible(f"award_value exceeds the per-player {name} limit of {cap} {ctx.unit}", field="award_value")
    retry_at = None
    if weekly_cap is not None and this_week + ctx.amount > weekly_cap:
        retry_at = week_end(ctx.now)
    elif daily_cap is not None and today + ctx.amount > daily_cap:
        retry_at = day_end(ctx.now)
    if retry_at is not None:
        retry_after_ms = int((retry_at - ctx.now).total_seconds() * 1000)
        raise RateLimited("per-player award limit reached for this window", field="award_value", retry_after_ms=retry_after_ms)


def within_budget(ctx: AwardContext) -> None:
    if ctx.amount > ctx.budget_left:
        raise BudgetExhausted(f"promotion has {ctx.budget_left} {ctx.unit} of budget left", field="award_value")


RULES: tuple[Rule, ...] = (
    player_not_self_excluded,
    player_not_cooling_off,
    promotions_not_paused,
    player_of_age,
    region_in_promotion,
    promotion_running,
    award_type_of_promotion,
    game_in_promotion,
    within_maximum_per_award,
    currency_matches,
    test_data_kept_apart,
    within_player_caps,
    within_budget,
)


def check_award(ctx: AwardContext) -> None:
    for rule in RULES:
        rule(ctx)
