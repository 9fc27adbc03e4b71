"""The award decision as a pure function: for any requests, split into groups in any way, and any two groups
decided on the same states as two processes would, the budget, the caps and idempotency hold."""

from __future__ import annotations

import copy
from collections import Counter
from datetime import timedelta
from typing import Any
from uuid import UUID

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.award import Award
from domain.award_decision import AwardDecision, decide_awards, group_stream_ids
from domain.errors import BudgetExhausted, IdempotencyKeyReused, RateLimited
from domain.player import Player
from domain.promotion import Promotion
from domain.results import AwardOutcome
from tests.support import T0, adult, award_request, terms

PLAYERS = ["p0", "p1", "p2"]
PROMOTIONS = ["promo0", "promo1"]


@st.composite
def a_world(draw: Any) -> tuple[dict[UUID, Any], dict[str, Any]]:
    """Registered players and defined promotions (small budgets and caps, so they are reached), by stream id."""
    states: dict[UUID, Any] = {}
    limits = {}
    for player_id in PLAYERS:
        player = Player.register(player_id, "CA-ON", adult().birth_date, "CAD", T0 - timedelta(days=1))
        player.collect_events()
        states[player.id] = player
    for promo_id in PROMOTIONS:
        daily = draw(st.one_of(st.none(), st.integers(1, 15)))
        weekly = draw(st.one_of(st.none(), st.integers(daily or 1, 30)))
        budget = draw(st.integers(1, 40))
        promo = Promotion.define(promo_id, terms(budget_spins=budget, per_player_daily_limit=daily, per_player_weekly_limit=weekly), T0 - timedelta(days=1))
        promo.collect_events()
        states[promo.id] = promo
        limits[promo_id] = (budget, daily, weekly)
    return states, limits


requests = st.lists(
    st.builds(
        lambda player, promo, spins, key: award_request(PLAYERS[player], PROMOTIONS[promo], key=f"key-{key}", award_value=spins),
        st.integers(0, len(PLAYERS) - 1), st.integers(0, len(PROMOTIONS) - 1), st.integers(1, 9), st.integers(0, 11),
    ),
    min_size=1, max_size=40,
)


def groups_of(items: list[Any], cuts: list[int]) -> list[list[Any]]:
    bounds = sorted({0, len(items), *(c % (len(items) + 1) for c in cuts)})
    return [items[a:b] for a, b in zip(bounds, bounds[1:]) if b > a]


def commit(states: dict[UUID, Any], decision: AwardDecision) -> None:
    """What a successful append leaves recorded: the decided states, their events taken."""
    for aggregate in decision.changed:
        aggregate.collect_events()
        states[aggregate.id] = aggregate


def own_copy(states: dict[UUID, Any]) -> dict[UUID, Any]:
    return {i: copy.deepcopy(a) for i, a in states.items()}


def granted(states: dict[UUID, Any]) -> list[Award]:
    return [a for a in states.values() if isinstance(a, Award)]


def assert_within_limits(states: dict[UUID, Any], limits: dict[str, Any]) -> None:
    awards = granted(states)
    for promo_id, (budget, daily, weekly) in limits.items():
        spent = sum(a.spins_awarded for a in awards if a.promo_id == promo_id)
        assert spent <= budget
        assert states[Promotion.stream_id(promo_id)].spins_reserved == spent  # the budget, derivable from the awards
        for player_id in PLAYERS:
            received = sum(a.spins_awarded for a in awards if a.promo_id == promo_id and a.player_id == player_id)
            for cap in (daily, weekly):  # every award of a run is made in one UTC day and ISO week
                assert cap is None or received <= cap
    assert len({a.idempotency_key for a in awards}) == len(awards)


@settings(max_examples=200, deadline=None)
@given(a_world(), requests, st.lists(st.integers(0, 40), max_size=6))
def test_budget_caps_and_idempotency_hold_however_requests_are_grouped(world, asked, cuts):
    states, limits = world
    answers: dict[str, AwardOutcome] = {}
    granted_for: dict[str, Any] = {}  # the request each key's award was granted for
    for group in groups_of(asked, cuts):
        spent = Counter({p: sum(a.spins_awarded for a in granted(states) if a.promo_id == p) for p in PROMOTIONS})
        tally = Counter({(a.player_id, a.promo_id): 0 for a in granted(states)})
        for award in granted(states):
            tally[(award.player_id, award.promo_id)] += award.spins_awarded
        decision = decide_awards(group, own_copy(states), T0)
        commit(states, decision)
        for request, result in zip(group, decision.results):
            key, promo, asked_spins = request.idempotency_key, request.promo_id, request.award_value
            budget, daily, weekly = limits[promo]
            if isinstance(result, RateLimited):  # refused only if it would pass a cap, as it stood then
                assert any(cap is not None and tally[(request.player_id, promo)] + asked_spins > cap for cap in (daily, weekly))
            if isinstance(result, BudgetExhausted):  # refused only if it did not fit the budget left then
                assert spent[promo] + asked_spins > budget
            if isinstance(result, AwardOutcome) and not result.replayed:
                spent[promo] += asked_spins
                tally[(request.player_id, promo)] += asked_spins
            if isinstance(result, AwardOutcome) and key in answers:
                assert result.replayed and result.receipt == answers[key].receipt
                assert granted_for[key].fingerprint() == request.fingerprint()
            elif isinstance(result, AwardOutcome):
                assert not result.replayed
                answers[key], granted_for[key] = result, request
            if isinstance(result, IdempotencyKeyReused):  # only a key already granted, for another request
                assert key in answers and granted_for[key].fingerprint() != request.fingerprint()
    assert_within_limits(states, limits)
    assert sum(1 for a in granted(states)) == len(answers)


@settings(max_examples=200, deadline=None)
@given(a_world(), requests, requests)
def test_two_groups_decided_on_the_same_states_never_overspend_when_the_second_is_appended_only_if_its_claims_hold(world, first, second):
    """Two processes decide at once on what each last saw; the first appends. The second appends only if, as the
    event store checks it, no stream of it moved but its promotions, and those only by reservations within its
    claims' room; else it is decided again on what is recorded. Whatever the requests, the limits hold."""
    states, limits = world
    read = own_copy(states)
    one, two = decide_awards(first, own_copy(read), T0), decide_awards(second, own_copy(read), T0)
    commit(states, one)
    if two.awards:
        reserved_since = Counter({p.id: states[p.id].spins_reserved - read[p.id].spins_reserved for p in one.promotions})
        others_moved = {a.id for a in one.changed if not isinstance(a, Promotion)} & {a.id for a in two.changed if not isinstance(a, Promotion)}
        claims_hold = all(reserved_since[c.promotion_id] <= c.room for c in two.claims)
        if claims_hold and not others_moved:
            for promo in two.promotions:  # its reservation goes after the others'
                promo.spins_reserved += reserved_since[promo.id]
            commit(states, two)
        else:
            commit(states, decide_awards(second, own_copy(states), T0))
    assert_within_limits(states, limits)


def test_a_group_reserves_each_promotions_spins_once_and_claims_the_budget_it_leaves():
    states = {}
    player = Player.register("p0", "CA-ON", adult().birth_date, "CAD", T0)
    promo = Promotion.define("promo0", terms(budget_spins=20), T0)
    states.update({player.id: player, promo.id: promo})
    asked = [award_request("p0", "promo0", award_value=5), award_request("p0", "promo0", award_value=7)]
    decision = decide_awards(asked, states, T0)
    assert [type(r) for r in decision.results] == [AwardOutcome, AwardOutcome]
    reservations = [e for e in promo.collect_events() if isinstance(e, Promotion.BudgetReserved)]
    assert [(e.spins, len(e.award_ids)) for e in reservations] == [(12, 2)]
    (claim,) = decision.claims
    assert (claim.promotion_id, claim.read_version, claim.room) == (promo.id, 1, 8)


def test_a_request_over_the_cap_is_rate_limited_and_reserves_nothing():
    player = Player.register("p0", "CA-ON", adult().birth_date, "CAD", T0)
    promo = Promotion.define("promo0", terms(per_player_daily_limit=6), T0)
    decision = decide_awards([award_request("p0", "promo0", award_value=4), award_request("p0", "promo0", award_value=4)],
                             {player.id: player, promo.id: promo}, T0)
    assert isinstance(decision.results[1], RateLimited)
    assert decision.claims[0].room == promo.terms_data["budget_spins"] - 4


def test_the_streams_a_group_rests_on_are_its_awards_players_and_promotions_each_once():
    asked = [award_request("p0", "promo0", key="k"), award_request("p0", "promo0", key="k")]
    assert group_stream_ids(asked) == [asked[0].award_id, Player.stream_id("p0"), Promotion.stream_id("promo0")]
