"""Idempotency, cancellation and self-exclusion on PostgreSQL."""

from datetime import timedelta
from uuid import UUID

import pytest

from domain.errors import AwardNotCancellable, BudgetExhausted, IdempotencyKeyReused, PlayerNotFound, PromotionNotFound
from domain.results import AwardOutcome
from tests.support import adult, award_request, terms, unique


@pytest.fixture
def player_and_promo(ledger):
    player_id, promo_id = unique("player"), unique("promo")
    ledger.register_player(player_id, adult())
    ledger.define_promotion(promo_id, terms(budget_spins=100))
    return player_id, promo_id


def test_a_replayed_award_returns_the_original_receipt(ledger, player_and_promo, clock):
    request = award_request(*player_and_promo)
    first = ledger.award_free_spins(request)
    clock.advance(minutes=5)
    again = ledger.award_free_spins(request)
    assert again.replayed and not first.replayed
    assert again.receipt == first.receipt
    assert ledger.get_promotion(player_and_promo[1]).spins_reserved == 5


def test_a_reused_key_with_a_different_request_is_refused_and_records_nothing(ledger, player_and_promo):
    key = unique("key")
    ledger.award_free_spins(award_request(*player_and_promo, key=key, award_value=5))
    with pytest.raises(IdempotencyKeyReused):
        ledger.award_free_spins(award_request(*player_and_promo, key=key, award_value=6))
    assert ledger.get_promotion(player_and_promo[1]).spins_reserved == 5


def test_a_new_request_id_on_a_retry_is_still_the_same_request(ledger, player_and_promo):
    key = unique("key")
    first = ledger.award_free_spins(award_request(*player_and_promo, key=key, request_id="r-1"))
    retry = ledger.award_free_spins(award_request(*player_and_promo, key=key, request_id="r-2"))
    assert retry.replayed and retry.receipt == first.receipt


def test_a_refused_request_can_be_retried_with_the_same_key_once_fixed(ledger, player_and_promo):
    player_id, promo_id = player_and_promo
    key = unique("key")
    with pytest.raises(PromotionNotFound):
        ledger.award_free_spins(award_request(player_id, "no-such-promo", key=key))
    assert not ledger.award_free_spins(award_request(player_id, promo_id, key=key)).replayed


def test_an_unknown_player_is_player_not_found(ledger, player_and_promo):
    with pytest.raises(PlayerNotFound):
        ledger.award_free_spins(award_request("nobody", player_and_promo[1]))


def test_a_batch_answers_each_item_in_order_and_replays_a_key_repeated_within_it(ledger, player_and_promo):
    player_id, promo_id = player_and_promo
    repeated = award_request(player_id, promo_id)
    results = ledger.award_batch(
        [
            repeated,
            award_request("nobody", promo_id),
            repeated,
            award_request(player_id, promo_id, award_value=50),
            award_request(player_id, promo_id, award_value=50),
        ]
    )
    assert isinstance(results[0], AwardOutcome) and not results[0].replayed
    assert isinstance(results[1], PlayerNotFound)
    assert isinstance(results[2], AwardOutcome) and results[2].replayed and results[2].receipt == results[0].receipt
    assert isinstance(results[3], AwardOutcome)
    assert isinstance(results[4], BudgetExhausted)
    assert ledger.get_promotion(promo_id).spins_reserved == 55


def test_cancelling_records_the_unplayed_spins_as_forfeited(ledger, player_and_promo):
    receipt = ledger.award_free_spins(award_request(*player_and_promo, award_value=8)).receipt
    status, replayed = ledger.cancel_award(UUID(receipt.award_id), "withdrawn")
    assert not replayed
    assert (status.status, status.spins_forfeited, status.spins_remaining) == ("cancelled", 8, 0)
    assert status.spins_used + status.spins_remaining + status.spins_forfeited == status.spins_awarded
    cancelled = list(ledger.events.get(UUID(receipt.award_id)))[-1]
    assert (type(cancelled).__name__, cancelled.spins_forfeited, cancelled.reason) == ("AwardCancelled", 8, "withdrawn")


def test_a_cancelled_award_cannot_be_cancelled_again(ledger, player_and_promo):
    award_id = UUID(ledger.award_free_spins(award_request(*player_and_promo)).receipt.award_id)
    ledger.cancel_award(award_id, "withdrawn")
    with pytest.raises(AwardNotCancellable):
        ledger.cancel_award(award_id, "withdrawn")


def test_an_expired_award_cannot_be_cancelled_and_shows_its_spins_forfeited(ledger, player_and_promo, clock):
    award_id = UUID(ledger.award_free_spins(award_request(*player_and_promo)).receipt.award_id)
    clock.advance(days=8)
    with pytest.raises(AwardNotCancellable):
        ledger.cancel_award(award_id, "too late")
    status = ledger.get_award(award_id)
    assert (status.status, status.spins_remaining, status.spins_forfeited) == ("expired", 0, 5)


def test_self_exclusion_cancels_every_outstanding_award(ledger, player_and_promo, clock):
    player_id, promo_id = player_and_promo
    first = ledger.award_free_spins(award_request(player_id, promo_id)).receipt.award_id
    second = ledger.award_free_spins(award_request(player_id, promo_id)).receipt.award_id
    result = ledger.start_self_exclusion(player_id, "1y")
    assert sorted(result.awards_cancelled) == sorted([first, second])
    assert result.self_excluded_until == clock.now().replace(year=clock.now().year + 1)
    assert ledger.get_player(player_id).awards == []
    statuses = {a.award_id: a.status for a in ledger.list_player_awards(player_id, None, 10).data}
    assert statuses == {first: "cancelled", second: "cancelled"}


def test_a_shorter_self_exclusion_never_shortens_a_longer_one(ledger, player_and_promo):
    player_id, _ = player_and_promo
    long = ledger.start_self_exclusion(player_id, "5y").self_excluded_until
    assert ledger.start_self_exclusion(player_id, "6m").self_excluded_until == long


def test_a_players_awards_page_newest_first_with_a_cursor(ledger, player_and_promo, clock):
    ids = []
    for _ in range(5):
        ids.append(ledger.award_free_spins(award_request(*player_and_promo)).receipt.award_id)
        clock.advance(seconds=1)
    first = ledger.list_player_awards(player_and_promo[0], None, 2)
    second = ledger.list_player_awards(player_and_promo[0], first.next_cursor, 2)
    third = ledger.list_player_awards(player_and_promo[0], second.next_cursor, 2)
    seen = [a.award_id for page in (first, second, third) for a in page.data]
    assert seen == ids[::-1]
    assert first.has_more and second.has_more and not third.has_more and third.next_cursor is None


def test_an_unchanged_promotion_put_records_nothing(ledger, player_and_promo):
    _, promo_id = player_and_promo
    before = ledger.get_promotion(promo_id)
    view, created = ledger.define_promotion(promo_id, terms(budget_spins=100))
    assert not created and view.updated_at == before.updated_at


def test_a_promotion_update_changes_its_terms_for_later_awards(ledger, player_and_promo, clock):
    player_id, promo_id = player_and_promo
    clock.advance(seconds=1)
    view, created = ledger.define_promotion(promo_id, terms(budget_spins=100, max_spins_per_award=3))
    assert not created and view.terms.max_spins_per_award == 3
    assert view.updated_at > view.created_at
    assert ledger.award_free_spins(award_request(player_id, promo_id, award_value=3)).receipt.awarded_count == 3


def test_the_expiry_of_an_award_is_stored_as_a_utc_instant(ledger, player_and_promo):
    receipt = ledger.award_free_spins(award_request(*player_and_promo)).receipt
    assert receipt.expires_at.utcoffset() == timedelta(0)
