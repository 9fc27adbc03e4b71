"""Each eligibility and responsible-gaming rule, with its error code, on PostgreSQL."""

from datetime import date, timedelta

import pytest

from domain.errors import (
    BudgetExhausted,
    ExpiredPromotion,
    Ineligible,
    PlayerSelfExcluded,
    RateLimited,
    RegionBlocked,
    ValidationFailed,
)
from domain.requests import PlayerProfile
from tests.support import T0, adult, award_request, terms, unique


def setup(ledger, profile=None, **term_overrides):
    player_id, promo_id = unique("player"), unique("promo")
    ledger.register_player(player_id, profile or adult())
    ledger.define_promotion(promo_id, terms(**term_overrides))
    return player_id, promo_id


def test_an_eligible_player_is_awarded_the_spins(ledger):
    player_id, promo_id = setup(ledger)
    outcome = ledger.award_free_spins(award_request(player_id, promo_id, award_value=7))
    assert outcome.receipt.awarded_count == 7
    assert not outcome.replayed


def test_an_award_outside_the_promotion_window_is_expired_promo(ledger, clock):
    player_id, promo_id = setup(ledger, starts_at=T0 + timedelta(hours=1))
    with pytest.raises(ExpiredPromotion):
        ledger.award_free_spins(award_request(player_id, promo_id))
    clock.set(T0 + timedelta(days=31))
    with pytest.raises(ExpiredPromotion):
        ledger.award_free_spins(award_request(player_id, promo_id))


def test_an_ended_promotion_awards_nothing(ledger):
    player_id, promo_id = setup(ledger)
    ledger.end_promotion(promo_id, "campaign withdrawn")
    with pytest.raises(ExpiredPromotion):
        ledger.award_free_spins(award_request(player_id, promo_id))


def test_a_player_outside_the_allowed_regions_is_region_blocked(ledger):
    player_id, promo_id = setup(ledger, adult(region="CA-QC"), allowed_regions=["CA-ON", "CA-BC"])
    with pytest.raises(RegionBlocked):
        ledger.award_free_spins(award_request(player_id, promo_id))


def test_an_18_year_old_in_ontario_is_ineligible_but_in_alberta_is_not(ledger):
    eighteen = date(T0.year - 18, T0.month, T0.day)
    ontario, promo_id = setup(ledger, PlayerProfile("CA-ON", eighteen, "CAD"))
    with pytest.raises(Ineligible) as refused:
        ledger.award_free_spins(award_request(ontario, promo_id))
    assert "19" in refused.value.message
    alberta = unique("player")
    ledger.register_player(alberta, PlayerProfile("CA-AB", eighteen, "CAD"))
    assert ledger.award_free_spins(award_request(alberta, promo_id)).receipt.awarded_count == 5


def test_a_player_turns_19_on_the_birthday_itself(ledger, clock):
    born = date(T0.year - 19, T0.month, T0.day) + timedelta(days=1)
    player_id, promo_id = setup(ledger, PlayerProfile("CA-BC", born, "CAD"))
    with pytest.raises(Ineligible):
        ledger.award_free_spins(award_request(player_id, promo_id))
    clock.advance(days=1)
    assert ledger.award_free_spins(award_request(player_id, promo_id)).receipt.awarded_count == 5


def test_a_self_excluded_player_gets_no_award(ledger):
    player_id, promo_id = setup(ledger)
    ledger.start_self_exclusion(player_id, "6m")
    with pytest.raises(PlayerSelfExcluded):
        ledger.award_free_spins(award_request(player_id, promo_id))


def test_a_game_outside_the_promotion_is_ineligible(ledger):
    player_id, promo_id = setup(ledger)
    with pytest.raises(Ineligible) as refused:
        ledger.award_free_spins(award_request(player_id, promo_id, game_code="another-game"))
    assert refused.value.field == "game_code"


def test_more_spins_than_the_promotions_maximum_is_ineligible(ledger):
    player_id, promo_id = setup(ledger, max_spins_per_award=10)
    with pytest.raises(Ineligible) as refused:
        ledger.award_free_spins(award_request(player_id, promo_id, award_value=11))
    assert refused.value.field == "award_value"


def test_a_player_in_another_currency_is_ineligible(ledger):
    player_id, promo_id = setup(ledger, adult(currency="EUR"))
    with pytest.raises(Ineligible):
        ledger.award_free_spins(award_request(player_id, promo_id))


def test_the_daily_cap_is_rate_limited_until_the_utc_day_ends(ledger, clock):
    player_id, promo_id = setup(ledger, per_player_daily_limit=10)
    ledger.award_free_spins(award_request(player_id, promo_id, award_value=6))
    with pytest.raises(RateLimited) as limited:
        ledger.award_free_spins(award_request(player_id, promo_id, award_value=5))
    assert limited.value.retry_after_ms == 14 * 3600 * 1000  # 10:00 → midnight UTC
    clock.advance(hours=14)
    assert ledger.award_free_spins(award_request(player_id, promo_id, award_value=5)).receipt.awarded_count == 5


def test_the_weekly_cap_is_rate_limited_until_monday_midnight_utc(ledger, clock):
    player_id, promo_id = setup(ledger, per_player_daily_limit=10, per_player_weekly_limit=15)
    ledger.award_free_spins(award_request(player_id, promo_id, award_value=10))
    clock.advance(days=1)
    ledger.award_free_spins(award_request(player_id, promo_id, award_value=5))
    clock.advance(days=1)  # Friday 10:00: the daily window is fresh, the weekly one is full
    with pytest.raises(RateLimited) as limited:
        ledger.award_free_spins(award_request(player_id, promo_id, award_value=1))
    assert limited.value.retry_after_ms == (2 * 24 + 14) * 3600 * 1000


def test_an_award_larger_than_a_cap_is_ineligible_rather_than_retryable(ledger):
    player_id, promo_id = setup(ledger, per_player_daily_limit=4)
    with pytest.raises(Ineligible):
        ledger.award_free_spins(award_request(player_id, promo_id, award_value=5))


def test_the_budget_is_never_overspent(ledger):
    player_id, promo_id = setup(ledger, budget_spins=12)
    ledger.award_free_spins(award_request(player_id, promo_id, award_value=10))
    with pytest.raises(BudgetExhausted):
        ledger.award_free_spins(award_request(player_id, promo_id, award_value=3))
    assert ledger.award_free_spins(award_request(player_id, promo_id, award_value=2)).receipt.awarded_count == 2
    assert ledger.get_promotion(promo_id).budget_left == 0


def test_an_expiry_past_the_award_time_to_live_is_clamped_to_it(ledger):
    player_id, promo_id = setup(ledger, award_ttl_seconds=3600)
    receipt = ledger.award_free_spins(
        award_request(player_id, promo_id, expires_at=T0 + timedelta(days=30))
    ).receipt
    assert receipt.expires_at == T0 + timedelta(hours=1)


def test_an_expiry_within_the_time_to_live_is_kept(ledger):
    player_id, promo_id = setup(ledger)
    receipt = ledger.award_free_spins(award_request(player_id, promo_id, expires_at=T0 + timedelta(hours=2))).receipt
    assert receipt.expires_at == T0 + timedelta(hours=2)


def test_an_expiry_in_the_past_is_refused_and_records_nothing(ledger):
    player_id, promo_id = setup(ledger)
    request = award_request(player_id, promo_id, expires_at=T0 - timedelta(seconds=1))
    with pytest.raises(ValidationFailed) as refused:
        ledger.award_free_spins(request)
    assert refused.value.field == "expires_at"
    assert ledger.get_promotion(promo_id).spins_reserved == 0
    assert ledger.list_player_awards(player_id, None, 10).data == []
