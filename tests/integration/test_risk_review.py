"""The risk review on PostgreSQL: each rule raised by a real sequence of events, judged by the follower as the worker
runs it, and not by a near miss; a raised flag pauses the player's awards until a decision clears it. Each test has a
database of its own: the follower judges every event of the store."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from uuid import UUID

import pytest

from app.bootstrap import build_ledger
from domain.errors import PromotionsPaused, ReviewAlreadyDecided
from domain.player import Player
from domain.requests import FundsRequest
from domain.risk import RiskRules
from domain.slot.crystal_forge import CRYSTAL_FORGE as GAME
from projections.risk_review import Reviews, RiskReviewProjection, RiskReviewView
from projections.runner import catch_up
from projections.source import EventSource
from tests.support import LOSING, ScriptedStops, adult, award_request, spin_command, terms, unique

RULES = RiskRules(loss_chasing_deposits=3, loss_chasing_window=timedelta(minutes=30), deposits_24h_amount=Decimal("500.00"), awards_per_day=4)


@pytest.fixture
def stops(request):
    return ScriptedStops(seed=request.node.nodeid)


@pytest.fixture
def ledger(own_database, clock, stops):
    ledger = build_ledger(own_database, clock, stops)
    yield ledger
    ledger.close()


@pytest.fixture
def judge(ledger):
    """Runs the follower over what the store holds, as the worker would; returns the reviews listed."""
    datastore = ledger.recorder.datastore
    projection = RiskReviewProjection(RiskReviewView(datastore, rules=RULES, raise_flag=ledger.raise_risk_flag))

    def run() -> list[dict]:
        catch_up(projection, EventSource(datastore))
        catch_up(projection, EventSource(datastore))  # the flags it raised, listed
        return Reviews(datastore).page(None, None, 100)[0]

    return run


def deposit(ledger, player_id: str, amount: str) -> None:
    ledger.move_funds(FundsRequest(player_id, "deposit", unique("tx"), Decimal(amount), "CAD"))


def lose_it_all(ledger, stops, player_id: str, bets: int) -> None:
    stops.plan(*[LOSING] * bets)
    for _ in range(bets):
        ledger.spin(GAME, spin_command(player_id, "1.00"))


def player(ledger) -> str:
    player_id = unique("player")
    ledger.register_player(player_id, adult())
    return player_id


def test_deposits_in_a_row_after_the_balance_was_lost_are_loss_chasing(ledger, stops, clock, judge):
    player_id = player(ledger)
    deposit(ledger, player_id, "2.00")
    lose_it_all(ledger, stops, player_id, 2)
    for _ in range(3):
        clock.advance(minutes=9)
        deposit(ledger, player_id, "1.00")
        lose_it_all(ledger, stops, player_id, 1)  # emptied again: the chase goes on from the first time
    (review,) = judge()
    assert (review["player_id"], review["rule"], review["status"]) == (player_id, "loss_chasing", "open")
    assert [d["amount"] for d in review["evidence"]["deposits"]] == ["1.00", "1.00", "1.00"]
    assert review["evidence"]["window_minutes"] == 30
    events = [type(e).__name__ for e in ledger.events.get(Player.stream_id(player_id))]
    assert events.count("RiskFlagRaised") == 1


def test_deposits_after_the_window_or_too_few_are_not_loss_chasing(ledger, stops, clock, judge):
    late, few = player(ledger), player(ledger)
    for player_id in (late, few):
        deposit(ledger, player_id, "1.00")
        lose_it_all(ledger, stops, player_id, 1)
    for _ in range(2):
        clock.advance(minutes=10)
        deposit(ledger, late, "1.00")
        deposit(ledger, few, "1.00")
    clock.advance(minutes=11)  # 31 minutes after the balance was lost
    deposit(ledger, late, "1.00")
    assert judge() == []


def test_deposits_over_the_amount_within_24_hours_are_flagged_and_at_the_amount_or_spread_wider_are_not(ledger, clock, judge):
    over, at_amount, spread = player(ledger), player(ledger), player(ledger)
    for _ in range(2):  # 200.00 each at 10:00, then at 22:00
        for player_id in (over, at_amount, spread):
            deposit(ledger, player_id, "200.00")
        clock.advance(hours=12)
    clock.advance(hours=-1, minutes=59)  # 23 h 59 min after the first deposits
    deposit(ledger, over, "100.01")  # 500.01 within 24 hours
    deposit(ledger, at_amount, "100.00")  # 500.00: not more than the amount
    clock.advance(minutes=2)  # 24 h 1 min after the first deposits: they are out of the window
    deposit(ledger, spread, "100.01")
    (review,) = judge()
    assert (review["player_id"], review["rule"]) == (over, "deposits_over_24h")
    assert review["evidence"]["total"] == "500.01" and review["evidence"]["threshold"] == "500.00"
    assert [d["amount"] for d in review["evidence"]["deposits"]] == ["200.00", "200.00", "100.01"]


def test_more_awards_than_the_day_allows_across_promotions_are_flagged_once_and_pause_the_next_awards(ledger, clock, judge):
    flagged, near = player(ledger), player(ledger)
    promos = [unique("promo") for _ in range(2)]
    for promo_id in promos:
        ledger.define_promotion(promo_id, terms())
    for number in range(5):
        ledger.award_free_spins(award_request(flagged, promos[number % 2]))
    for number in range(4):
        ledger.award_free_spins(award_request(near, promos[number % 2]))
    (review,) = judge()
    assert (review["player_id"], review["rule"]) == (flagged, "awards_per_day")
    assert review["evidence"]["promotions"] == sorted(promos) and len(review["evidence"]["awards"]) == 5

    with pytest.raises(PromotionsPaused):
        _award(ledger, flagged, promos[0])
    assert _award(ledger, near, promos[0])  # the near miss's fifth award: allowed, and flagged by the follower next
    clock.advance(days=1)
    with pytest.raises(PromotionsPaused):  # paused until decided, whatever the day
        _award(ledger, flagged, promos[1])

    kept = ledger.decide_review(flagged, review["review_id"], "keep_paused", "calling the player first", "officer")
    assert kept.status == "kept_paused"
    with pytest.raises(PromotionsPaused):
        _award(ledger, flagged, promos[1])
    cleared = ledger.decide_review(flagged, review["review_id"], "clear", "spoke to the player: a promotion week", "officer")
    assert (cleared.status, cleared.decision, cleared.decided_by) == ("cleared", "clear", "officer")
    assert _award(ledger, flagged, promos[1])
    with pytest.raises(ReviewAlreadyDecided):
        ledger.decide_review(flagged, review["review_id"], "keep_paused", "again", "officer")
    listed = {r["review_id"]: r for r in judge()}
    assert listed[review["review_id"]]["status"] == "cleared" and listed[review["review_id"]]["note"].startswith("spoke")


def test_awards_of_gold_coins_count_toward_the_awards_of_the_day(ledger, judge):
    flagged = player(ledger)
    spins_promo, coins_promo = unique("promo"), unique("coins")
    ledger.define_promotion(spins_promo, terms())
    ledger.define_promotion(coins_promo, terms(award_type="GOLD_COINS", max_spins_per_award=None, bet_per_spin=None, currency=None,
                                               budget_spins=None, award_ttl_seconds=None, max_coins_per_award=Decimal("100.00"),
                                               budget_coins=Decimal("1000.00")))
    for _ in range(2):
        ledger.award_free_spins(award_request(flagged, spins_promo))
    for _ in range(3):
        ledger.award_free_spins(award_request(flagged, coins_promo, award_type="GOLD_COINS", award_value=Decimal("10.00")))
    (review,) = judge()
    assert (review["player_id"], review["rule"]) == (flagged, "awards_per_day")
    assert review["evidence"]["promotions"] == sorted([spins_promo, coins_promo]) and len(review["evidence"]["awards"]) == 5


def test_an_event_judged_again_after_a_crash_raises_its_review_once(ledger, clock):
    player_id = player(ledger)
    deposit(ledger, player_id, "600.00")
    datastore = ledger.recorder.datastore
    raised = []

    def raise_then_crash(stream: UUID, review_id: UUID, rule: str, evidence: dict) -> bool:
        raised.append(ledger.raise_risk_flag(stream, review_id, rule, evidence))
        raise RuntimeError("the worker died before the batch committed")

    crashing = RiskReviewProjection(RiskReviewView(datastore, rules=RULES, raise_flag=raise_then_crash))
    with pytest.raises(RuntimeError):
        catch_up(crashing, EventSource(datastore))
    again = RiskReviewProjection(RiskReviewView(datastore, rules=RULES, raise_flag=lambda *flag: raised.append(ledger.raise_risk_flag(*flag))))
    catch_up(again, EventSource(datastore))
    catch_up(again, EventSource(datastore))
    assert raised == [True, False]
    assert len(Reviews(datastore).page(None, None, 10)[0]) == 1
    assert [type(e).__name__ for e in ledger.events.get(Player.stream_id(player_id))].count("RiskFlagRaised") == 1


def _award(ledger, player_id: str, promo_id: str):
    return ledger.award_free_spins(award_request(player_id, promo_id))
