"""The award path on PostgreSQL: one event per key and no overspending, whatever the concurrency."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal
from uuid import UUID

from app.bootstrap import build_ledger
from domain.errors import BudgetExhausted, RateLimited
from domain.promotion import Promotion
from domain.results import AwardOutcome
from tests.support import adult, award_request, event_count, terms, unique


def define(ledger, **term_overrides):
    player_id, promo_id = unique("player"), unique("promo")
    ledger.register_player(player_id, adult())
    ledger.define_promotion(promo_id, terms(**term_overrides))
    return player_id, promo_id


def test_an_award_is_read_back_from_postgresql_exactly_as_granted(ledger):
    player_id, promo_id = define(ledger)
    receipt = ledger.award_free_spins(award_request(player_id, promo_id, award_value=9)).receipt
    status = ledger.get_award(UUID(receipt.award_id))
    assert (status.player_id, status.spins_awarded, status.status, status.expires_at) == (
        player_id, 9, "active", receipt.expires_at,
    )


def test_reading_many_streams_at_once_matches_the_repository_even_past_a_snapshot(ledger):
    player_id, promo_id = define(ledger)
    for _ in range(30):  # past the promotion's snapshot interval of 25
        ledger.award_free_spins(award_request(player_id, promo_id, award_value=1))
    promo_stream = Promotion.stream_id(promo_id)
    bulk = ledger.streams.load([promo_stream])[promo_stream]
    single = ledger.repository.get(promo_stream)
    assert (bulk.version, bulk.spins_reserved) == (single.version, single.spins_reserved) == (31, 30)
    assert ledger.snapshots is not None and list(ledger.snapshots.get(promo_stream))


def test_a_hundred_concurrent_identical_requests_record_one_award(ledger, db):
    player_id, promo_id = define(ledger)
    request = award_request(player_id, promo_id)
    before = event_count(db, "FreeSpinsAwarded")
    with ThreadPoolExecutor(max_workers=32) as pool:
        outcomes = list(pool.map(lambda _: ledger.award_free_spins(request), range(100)))
    assert event_count(db, "FreeSpinsAwarded") - before == 1
    assert sum(not o.replayed for o in outcomes) == 1
    assert len({o.receipt for o in outcomes}) == 1


def race_two_processes(ledger, database_url, clock, player_id, promo_id):
    """64 one-spin awards, sent 16 at a time through two Application instances standing for two
    server processes."""
    other = build_ledger(database_url, clock, os.urandom)
    try:
        requests = [award_request(player_id, promo_id, award_value=1) for _ in range(64)]
        with ThreadPoolExecutor(max_workers=16) as pool:
            return list(pool.map(lambda pair: pair[0].award_batch([pair[1]])[0], zip([ledger, other] * 32, requests)))
    finally:
        other.close()


def test_two_processes_racing_on_one_promotion_never_overspend_its_budget(ledger, database_url, clock):
    player_id, promo_id = define(ledger, budget_spins=50)
    results = race_two_processes(ledger, database_url, clock, player_id, promo_id)
    assert sum(isinstance(r, AwardOutcome) for r in results) == 50
    assert all(isinstance(r, BudgetExhausted) for r in results if not isinstance(r, AwardOutcome))
    assert ledger.get_promotion(promo_id).budget_left == 0


def test_sixty_four_concurrent_awards_never_pass_a_players_daily_cap(ledger, database_url, clock):
    player_id, promo_id = define(ledger, per_player_daily_limit=50)
    results = race_two_processes(ledger, database_url, clock, player_id, promo_id)
    assert sum(isinstance(r, AwardOutcome) for r in results) == 50
    assert sum(isinstance(r, RateLimited) for r in results) == 14
    awards = ledger.list_player_awards(player_id, None, 1000).data
    assert sum(a.spins_awarded for a in awards) == 50


def test_a_batch_of_a_thousand_awards_replays_whole_and_records_nothing_twice(ledger, db):
    promo_id = unique("promo")
    ledger.define_promotion(promo_id, terms(budget_spins=1_000_000))
    players = [unique("player") for _ in range(1000)]
    for player_id in players:
        ledger.register_player(player_id, adult())
    requests = [award_request(p, promo_id) for p in players]
    first = ledger.award_batch(requests)
    assert all(isinstance(r, AwardOutcome) and not r.replayed for r in first)
    assert len({r.receipt.award_id for r in first}) == 1000
    recorded = event_count(db)
    again = ledger.award_batch(requests)
    assert all(isinstance(r, AwardOutcome) and r.replayed for r in again)
    assert [r.receipt for r in again] == [r.receipt for r in first]
    assert event_count(db) == recorded
    assert ledger.get_promotion(promo_id).spins_reserved == 5000


def test_an_award_is_made_on_the_terms_recorded_when_it_is_granted_not_on_those_a_process_cached(ledger, database_url, clock):
    """Awards are drafted before the lock on the cached terms; terms another process changed since win."""
    player_id, promo_id = define(ledger, bet_per_spin=Decimal("0.20"), award_ttl_seconds=86400)
    ledger.award_free_spins(award_request(player_id, promo_id))  # this process now caches the promotion
    other = build_ledger(database_url, clock, os.urandom)
    try:
        other.define_promotion(promo_id, terms(bet_per_spin=Decimal("0.40"), award_ttl_seconds=3600))
    finally:
        other.close()
    receipt = ledger.award_free_spins(award_request(player_id, promo_id)).receipt
    status = ledger.get_award(UUID(receipt.award_id))
    assert (status.bet_per_spin, status.expires_at) == (Decimal("0.40"), clock.now() + timedelta(seconds=3600))
    assert receipt.expires_at == clock.now() + timedelta(seconds=3600)
