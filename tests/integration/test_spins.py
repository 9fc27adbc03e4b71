"""The spin protocol's use cases on PostgreSQL: cash, award and bonus spins, and their refusals."""

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.errors import (
    AwardExpired,
    AwardNotActive,
    AwardNotFound,
    BetAboveMaximum,
    BetBelowMinimum,
    BlockIdMismatch,
    BonusRoundActive,
    CurrencyMismatch,
    IdempotencyKeyReused,
    Ineligible,
    InsufficientFunds,
    InvalidCoinValue,
    JurisdictionBlocked,
    NoBonusRoundActive,
    PlayerSelfExcluded,
    ValidationFailed,
)
from app.bootstrap import build_ledger
from domain.requests import FundsRequest, PlayerProfile
from domain.slot.crystal_forge import CRYSTAL_FORGE as GAME
from domain.slot.evaluation import evaluate
from tests.support import NO_SCATTER, THREE_SCATTERS, ScriptedStops, adult, award_request, spin_command, terms, unique


@pytest.fixture
def stops():
    return ScriptedStops()


@pytest.fixture
def ledger(database_url, clock, stops):
    ledger = build_ledger(database_url, clock, stops)
    yield ledger
    ledger.close()


def funded_player(ledger, amount="100.00", profile=None):
    player_id = unique("player")
    ledger.register_player(player_id, profile or adult())
    if Decimal(amount):
        ledger.move_funds(FundsRequest(player_id, "deposit", unique("tx"), Decimal(amount), "CAD"))
    return player_id


def events_of(ledger, player_id, type_name):
    from domain.player import Player

    return [e for e in ledger.events.get(Player.stream_id(player_id)) if type(e).__name__ == type_name]


def test_a_cash_spin_takes_the_bet_and_credits_the_win_exactly(ledger):
    player_id = funded_player(ledger)
    spin = ledger.spin(GAME, spin_command(player_id, "1.00")).spin.record
    assert spin["funding"] == "cash" and spin["debited"] == Decimal("1.00")
    assert spin["balance_before"] == Decimal("100.00")
    assert spin["balance_after"] == spin["balance_before"] - spin["bet"] + spin["total_win"]
    assert sum((w["win_amount"] for w in spin["wins"]), Decimal("0.00")) == spin["total_win"]
    assert ledger.get_player(player_id).balance == spin["balance_after"]


def test_a_spin_replayed_with_its_request_id_returns_the_identical_record_and_settles_nothing(ledger, clock):
    player_id = funded_player(ledger)
    command = spin_command(player_id)
    first = ledger.spin(GAME, command)
    clock.advance(days=400)
    again = ledger.spin(GAME, command)
    assert again.replayed and again.spin == first.spin
    assert len(events_of(ledger, player_id, "SpinSettled")) == 1
    assert ledger.get_player(player_id).balance == first.spin.record["balance_after"]


def test_a_request_id_reused_for_another_bet_is_refused(ledger):
    player_id = funded_player(ledger)
    command = spin_command(player_id, "1.00")
    ledger.spin(GAME, command)
    with pytest.raises(IdempotencyKeyReused):
        ledger.spin(GAME, replace(command, bet=Decimal("2.00")))


@pytest.mark.parametrize(
    ("bet", "error"),
    [("0.10", BetBelowMinimum), ("200.00", BetAboveMaximum), ("0.30", InvalidCoinValue), ("3.00", InvalidCoinValue)],
)
def test_a_bet_outside_the_game_is_refused_with_its_code(ledger, bet, error):
    player_id = funded_player(ledger, "500.00")
    with pytest.raises(error):
        ledger.spin(GAME, spin_command(player_id, bet))
    assert events_of(ledger, player_id, "SpinSettled") == []


def test_a_bet_above_the_balance_is_refused(ledger):
    player_id = funded_player(ledger, "0.50")
    with pytest.raises(InsufficientFunds):
        ledger.spin(GAME, spin_command(player_id, "1.00"))
    assert ledger.get_player(player_id).balance == Decimal("0.50")


def test_a_bet_in_another_currency_is_refused(ledger):
    player_id = funded_player(ledger)
    with pytest.raises(CurrencyMismatch):
        ledger.spin(GAME, spin_command(player_id, currency="EUR"))


def test_no_spin_for_a_self_excluded_player(ledger):
    player_id = funded_player(ledger)
    ledger.start_self_exclusion(player_id, "1y")
    with pytest.raises(PlayerSelfExcluded):
        ledger.spin(GAME, spin_command(player_id))


def test_no_spin_for_a_player_outside_the_games_jurisdictions(ledger):
    player_id = funded_player(ledger, "0.00", PlayerProfile(region="US-NV", birth_date=date(1980, 1, 1), currency="CAD"))
    with pytest.raises(JurisdictionBlocked):
        ledger.spin(GAME, spin_command(player_id))


def test_no_spin_for_a_player_under_the_age_of_their_province(ledger, clock):
    eighteen = PlayerProfile(region="CA-ON", birth_date=clock.now().date() - timedelta(days=18 * 366), currency="CAD")
    player_id = funded_player(ledger, "0.00", eighteen)
    with pytest.raises(Ineligible):
        ledger.spin(GAME, spin_command(player_id))


def test_three_scatters_open_a_free_spins_block_and_a_base_spin_is_then_refused(ledger, stops):
    player_id = funded_player(ledger)
    stops.plan(THREE_SCATTERS)
    spin = ledger.spin(GAME, spin_command(player_id)).spin.record
    assert spin["scatter_count"] == 3 and spin["bonus_triggered"] and spin["state"] == "bonus"
    assert spin["bonus_data"]["free_spins_awarded"] == 10
    assert spin["wins"][-1]["type"] == "scatter" and spin["wins"][-1]["win_amount"] == Decimal("2.00")
    with pytest.raises(BonusRoundActive):
        ledger.spin(GAME, spin_command(player_id))


def test_a_bonus_spin_without_a_block_or_for_another_block_is_refused(ledger, stops):
    player_id = funded_player(ledger)
    with pytest.raises(NoBonusRoundActive):
        ledger.bonus_spin(GAME, spin_command(player_id, None, currency=None, block_id="nope"))
    stops.plan(THREE_SCATTERS)
    ledger.spin(GAME, spin_command(player_id))
    with pytest.raises(BlockIdMismatch):
        ledger.bonus_spin(GAME, spin_command(player_id, None, currency=None, block_id="another"))


def test_a_full_bonus_block_with_a_retrigger_plays_to_bonus_complete(ledger, stops):
    player_id = funded_player(ledger)
    stops.plan(THREE_SCATTERS, THREE_SCATTERS, *[NO_SCATTER] * 19)
    trigger = ledger.spin(GAME, spin_command(player_id, "2.00")).spin.record
    block_id = trigger["bonus_data"]["block_id"]
    spins = [ledger.bonus_spin(GAME, spin_command(player_id, None, currency=None, block_id=block_id)).spin.record for _ in range(20)]
    first, last = spins[0], spins[-1]
    assert first["free_spins"]["retrigger_occurred"] and first["free_spins"]["retrigger_spins_added"] == 10
    assert first["free_spins"]["total_spins"] == 20 and first["free_spins"]["spins_remaining"] == 19
    assert [s["free_spins"]["spin_number"] for s in spins] == list(range(1, 21))
    assert all(s["round_id"] == block_id and s["funding"] == "bonus" and s["debited"] == 0 for s in spins)
    assert all(s["state"] == "bonus" for s in spins[:-1]) and last["state"] == "bonus_complete"
    block_total = sum((s["total_win"] for s in spins), Decimal("0.00"))
    assert last["free_spins"]["block_total_win"] == block_total == last["block_summary"]["total_win"]
    assert last["block_summary"]["total_spins_played"] == 20 and last["block_summary"]["triggering_bet"] == Decimal("2.00")
    (completed,) = events_of(ledger, player_id, "BlockCompleted")
    assert completed.kind == "free_spins" and completed.total_win == block_total and completed.spins_played == 20
    assert ledger.get_player(player_id).balance == Decimal("100.00") - Decimal("2.00") + trigger["total_win"] + block_total
    with pytest.raises(NoBonusRoundActive):
        ledger.bonus_spin(GAME, spin_command(player_id, None, currency=None, block_id=block_id))
    ledger.spin(GAME, spin_command(player_id))  # back to the base game


def test_free_spin_wins_are_the_base_pay_times_two_and_a_half(ledger, stops):
    player_id = funded_player(ledger)
    stops.plan(THREE_SCATTERS, THREE_SCATTERS)
    block_id = ledger.spin(GAME, spin_command(player_id, "1.00")).spin.record["bonus_data"]["block_id"]
    spin = ledger.bonus_spin(GAME, spin_command(player_id, None, currency=None, block_id=block_id)).spin.record
    scatter = spin["wins"][-1]
    assert scatter["multiplier"] == Decimal("40.00") and scatter["win_amount"] == Decimal("5.00")  # 40 × 0.05 × 2.50


def awarded(ledger, player_id, spins=3, **term_overrides):
    promo_id = unique("promo")
    ledger.define_promotion(promo_id, terms(**term_overrides))
    return ledger.award_free_spins(award_request(player_id, promo_id, award_value=spins)).receipt.award_id


def test_an_awards_spins_take_no_cash_and_its_last_spin_completes_it(ledger):
    player_id = funded_player(ledger, "0.00")
    award_id = awarded(ledger, player_id, spins=3)
    records = [ledger.spin(GAME, spin_command(player_id, None, currency=None, award_id=award_id)).spin.record for _ in range(3)]
    assert all(r["funding"] == "award" and r["debited"] == 0 and r["bet"] == Decimal("0.20") for r in records)
    assert all(r["award_id"] == award_id for r in records)
    status = ledger.get_award(__import__("uuid").UUID(award_id))
    assert status.status == "completed" and (status.spins_used, status.spins_remaining, status.spins_forfeited) == (3, 0, 0)
    (completed,) = events_of(ledger, player_id, "BlockCompleted")
    assert completed.kind == "award" and completed.spins_played == 3
    assert ledger.get_player(player_id).balance == sum((r["total_win"] for r in records), Decimal("0.00"))
    with pytest.raises(AwardNotActive):
        ledger.spin(GAME, spin_command(player_id, None, currency=None, award_id=award_id))


def test_spinning_an_expired_award_is_refused_and_the_attempt_recorded(ledger, clock):
    from uuid import UUID

    player_id = funded_player(ledger, "0.00")
    award_id = awarded(ledger, player_id, spins=3, award_ttl_seconds=3600)
    clock.advance(hours=2)
    with pytest.raises(AwardExpired):
        ledger.spin(GAME, spin_command(player_id, None, currency=None, award_id=award_id))
    kinds = [type(e).__name__ for e in ledger.events.get(UUID(award_id))]
    assert kinds == ["FreeSpinsAwarded", "ExpiredAwardUseAttempted"]
    assert events_of(ledger, player_id, "SpinSettled") == []


def test_an_award_of_another_player_is_not_found(ledger):
    owner, other = funded_player(ledger, "0.00"), funded_player(ledger, "0.00")
    award_id = awarded(ledger, owner)
    with pytest.raises(AwardNotFound):
        ledger.spin(GAME, spin_command(other, None, currency=None, award_id=award_id))


def test_an_award_spin_at_another_bet_than_the_awards_is_refused(ledger):
    player_id = funded_player(ledger, "0.00")
    award_id = awarded(ledger, player_id)
    with pytest.raises(ValidationFailed) as refused:
        ledger.spin(GAME, spin_command(player_id, "1.00", award_id=award_id))
    assert refused.value.field == "betAmount"


def test_spins_used_remaining_and_forfeited_always_add_up_to_spins_awarded(ledger):
    from uuid import UUID

    player_id = funded_player(ledger, "0.00")
    award_id = awarded(ledger, player_id, spins=5)
    for _ in range(2):
        ledger.spin(GAME, spin_command(player_id, None, currency=None, award_id=award_id))
    status, _ = ledger.cancel_award(UUID(award_id), "campaign withdrawn")
    assert (status.spins_used, status.spins_remaining, status.spins_forfeited) == (2, 0, 3)
    assert status.spins_used + status.spins_remaining + status.spins_forfeited == status.spins_awarded


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(*(st.integers(0, 31) for _ in range(5))), min_size=1, max_size=8))
def test_every_settled_spin_reevaluates_from_its_stops_to_the_same_wins_and_the_totals_add_up(ledger, stops, planned):
    player_id = funded_player(ledger, "1000.00")
    stops.plan(*planned)
    balance = Decimal("1000.00")
    for _ in planned:
        state = ledger.game_state(GAME, player_id)
        if state.block:
            record = ledger.bonus_spin(GAME, spin_command(player_id, None, currency=None, block_id=state.block["block_id"])).spin.record
        else:
            record = ledger.spin(GAME, spin_command(player_id, "1.00")).spin.record
        assert record["balance_before"] == balance
        balance = record["balance_before"] - record["debited"] + record["total_win"]
        assert record["balance_after"] == balance
        evaluation = evaluate(GAME, tuple(record["reel_stops"]))
        assert [list(c) for c in evaluation.grid] == record["grid"]
        assert [(w.payline_index, w.symbol_id, w.count) for w in evaluation.wins] == [
            (w["payline_index"], w["symbol_id"], w["count"]) for w in record["wins"]
        ]
        assert sum((w["win_amount"] for w in record["wins"]), Decimal("0.00")) == record["total_win"]
    assert ledger.get_player(player_id).balance == balance


def test_a_group_settles_one_spin_per_player_refuses_another_and_replays_a_copy(ledger, stops):
    from domain.errors import SpinInProgress
    from domain.use_cases.spins import SpinJob
    from domain.results import SpinOutcome

    alice, bob = funded_player(ledger), funded_player(ledger)
    first = spin_command(alice)
    jobs = [
        SpinJob(GAME, first, False, NO_SCATTER),
        SpinJob(GAME, spin_command(alice), False, NO_SCATTER),  # alice again, another request: in progress
        SpinJob(GAME, first, False, NO_SCATTER),  # a copy of alice's first: the same spin
        SpinJob(GAME, spin_command(bob), False, NO_SCATTER),
    ]
    settled, refused, copy, other = ledger.spins.settle_group(jobs)
    assert isinstance(settled, SpinOutcome) and not settled.replayed
    assert isinstance(refused, SpinInProgress) and refused.retry_after_ms == 2000
    assert isinstance(copy, SpinOutcome) and copy.replayed and copy.spin == settled.spin
    assert isinstance(other, SpinOutcome) and other.spin.record["balance_before"] == Decimal("100.00")
    assert len(events_of(ledger, alice, "SpinSettled")) == 1 and len(events_of(ledger, bob, "SpinSettled")) == 1


def test_a_refused_spin_in_a_group_does_not_hold_up_the_players_next_one(ledger):
    from domain.use_cases.spins import SpinJob
    from domain.results import SpinOutcome

    player_id = funded_player(ledger, "1.00")
    refused, settled = ledger.spins.settle_group([
        SpinJob(GAME, spin_command(player_id, "2.00"), False, NO_SCATTER),  # more than the balance
        SpinJob(GAME, spin_command(player_id, "1.00"), False, NO_SCATTER),
    ])
    assert isinstance(refused, InsufficientFunds)
    assert isinstance(settled, SpinOutcome) and settled.spin.record["balance_before"] == Decimal("1.00")


def moved_elsewhere(database_url, clock, request: FundsRequest) -> None:
    """The player's funds moved by another server process: this one's cached state of it is stale."""
    import os

    other = build_ledger(database_url, clock, os.urandom)
    try:
        other.move_funds(request)
    finally:
        other.close()


def test_a_spin_is_refused_on_the_balance_as_recorded_not_as_this_process_last_saw_it(ledger, database_url, clock, stops):
    player_id = funded_player(ledger, "1.00")
    assert ledger.get_player(player_id).balance == Decimal("1.00")  # this process has seen the player so
    moved_elsewhere(database_url, clock, FundsRequest(player_id, "deposit", unique("tx"), Decimal("9.00"), "CAD"))
    stops.plan(NO_SCATTER)
    spin = ledger.spin(GAME, spin_command(player_id, "2.00")).spin.record
    assert spin["balance_before"] == Decimal("10.00")


def test_a_spin_decided_on_a_stale_player_is_settled_again_on_the_recorded_one(ledger, database_url, clock, stops):
    player_id = funded_player(ledger, "10.00")
    ledger.get_player(player_id)
    moved_elsewhere(database_url, clock, FundsRequest(player_id, "withdrawal", unique("tx"), Decimal("5.00"), "CAD"))
    stops.plan(NO_SCATTER)
    spin = ledger.spin(GAME, spin_command(player_id, "1.00")).spin.record
    assert spin["balance_before"] == Decimal("5.00")
    assert len(events_of(ledger, player_id, "SpinSettled")) == 1
