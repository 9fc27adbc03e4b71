"""The one append path on PostgreSQL: an award group decided out of any lock is appended only if what it rested
on still stands (no stream moved; a promotion's budget taken since only by others' reservations that leave room
for this group's), and is decided again on what is recorded when it does not."""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Callable, Iterator
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import IntegrityError, OperationalError, StoredEvent

from app.bootstrap import build_ledger
from app.eventstore import SpinledgerRecorder
from domain.award_decision import BudgetClaim
from domain.errors import BudgetExhausted, IdempotencyKeyReused
from domain.promotion import Promotion
from domain.results import AwardOutcome
from tests.support import adult, award_request, scratch_database, terms, unique


@pytest.fixture(scope="module")
def database_url(server_url):
    """A database of this module's own: its tests append events that are not the domain's, which the other tests'
    projections and reconciliations would meet."""
    with scratch_database(server_url, "spinledger_append_test") as url:
        yield url


@pytest.fixture
def recorder(ledger):
    """The service's recorder, on this module's database."""
    return ledger.recorder


def event(stream: UUID, version: int) -> StoredEvent:
    return StoredEvent(originator_id=stream, originator_version=version, topic="tests:Event", state=b"{}")


RESERVED = "tests:Reserved"


def reserved(stream: UUID, version: int, spins: int) -> StoredEvent:
    return StoredEvent(originator_id=stream, originator_version=version, topic=RESERVED, state=b'{"spins": %d}' % spins)


def versions(recorder: SpinledgerRecorder, stream: UUID) -> list[tuple[int, str]]:
    return [(e.originator_version, e.topic) for e in recorder.read_streams({stream: 0}).get(stream, [])]


# -- the append function -------------------------------------------------------------------------------


def test_an_append_records_its_reservation_after_those_made_since_its_read(recorder):
    promo, player = uuid4(), uuid4()
    recorder.insert_events([event(promo, 1)])  # read at version 1 ...
    recorder.insert_events([reserved(promo, 2, spins=3)])  # ... then another group reserves 3 spins
    recorded_at = recorder.append_claiming([reserved(promo, 2, spins=4), event(player, 1)], [BudgetClaim(promo, 1, room=3)], RESERVED)
    assert recorded_at == {promo: 3}
    assert versions(recorder, promo) == [(1, "tests:Event"), (2, RESERVED), (3, RESERVED)]
    assert versions(recorder, player) == [(1, "tests:Event")]


def test_an_append_records_nothing_when_others_reserved_more_than_its_room(recorder):
    promo, player = uuid4(), uuid4()
    recorder.insert_events([event(promo, 1), reserved(promo, 2, spins=3)])
    assert recorder.append_claiming([reserved(promo, 2, spins=4), event(player, 1)], [BudgetClaim(promo, 1, room=2)], RESERVED) is None
    assert versions(recorder, promo) == [(1, "tests:Event"), (2, RESERVED)]
    assert versions(recorder, player) == []


def test_an_append_records_nothing_when_the_promotion_changed_otherwise(recorder):
    promo, player = uuid4(), uuid4()
    recorder.insert_events([event(promo, 1), event(promo, 2)])  # new terms, say: not a reservation
    assert recorder.append_claiming([reserved(promo, 2, spins=1), event(player, 1)], [BudgetClaim(promo, 1, room=100)], RESERVED) is None
    assert versions(recorder, player) == []


def test_an_append_fails_like_any_other_when_one_of_its_streams_was_appended_to_first(recorder):
    promo, player = uuid4(), uuid4()
    recorder.insert_events([event(promo, 1), event(player, 1)])
    with pytest.raises(IntegrityError):
        recorder.append_claiming([reserved(promo, 2, spins=1), event(player, 1)], [BudgetClaim(promo, 1, room=100)], RESERVED)
    assert versions(recorder, promo) == [(1, "tests:Event")]


@contextmanager
def before_each_append(ledger, act: Callable[[], None]) -> Iterator[list]:  # type: ignore[no-untyped-def]
    """Runs ``act`` between a group's decision and its append; yields what each append returned or raised."""
    unlocked, outcomes = ledger.recorder.append_claiming, []

    def append(*args):  # type: ignore[no-untyped-def]
        act()
        try:
            outcomes.append(unlocked(*args))
        except Exception as error:
            outcomes.append(error)
            raise
        return outcomes[-1]

    ledger.recorder.append_claiming = append
    try:
        yield outcomes
    finally:
        ledger.recorder.append_claiming = unlocked


@pytest.fixture
def other_process(database_url, clock):  # type: ignore[no-untyped-def]
    other = build_ledger(database_url, clock, os.urandom)
    yield other
    other.close()


def award_elsewhere(other, promo_id: str, spins: int) -> Callable[[], None]:  # type: ignore[no-untyped-def]
    def act() -> None:
        other.register_player(rival := unique("player"), adult())
        assert isinstance(other.award_batch([award_request(rival, promo_id, award_value=spins)])[0], AwardOutcome)

    return act


def test_a_group_whose_room_was_taken_between_its_read_and_its_append_is_decided_again_on_what_is_recorded(ledger, other_process):
    player_id, promo_id = unique("player"), unique("promo")
    ledger.register_player(player_id, adult())
    ledger.define_promotion(promo_id, terms(budget_spins=10))
    with before_each_append(ledger, award_elsewhere(other_process, promo_id, 8)) as appended:
        result = ledger.award_batch([award_request(player_id, promo_id, award_value=5)])[0]
    assert appended == [None]  # read with 10 left, 5 for itself: the other's 8 did not fit
    assert isinstance(result, BudgetExhausted)
    assert ledger.get_promotion(promo_id).spins_reserved == 8
    assert isinstance(ledger.award_batch([award_request(player_id, promo_id, award_value=2)])[0], AwardOutcome)


def test_a_promotion_whose_reservation_went_after_anothers_is_read_again_not_taken_from_memory(ledger, other_process):
    """Its state in memory lacks the other's reservation: cached, it would let the next group overspend."""
    player_id, promo_id = unique("player"), unique("promo")
    ledger.register_player(player_id, adult())
    ledger.define_promotion(promo_id, terms(budget_spins=10))
    with before_each_append(ledger, award_elsewhere(other_process, promo_id, 8)) as appended:
        assert isinstance(ledger.award_batch([award_request(player_id, promo_id, award_value=1)])[0], AwardOutcome)
    assert appended == [{Promotion.stream_id(promo_id): 3}]  # defined at 1, the other's 8 at 2, this 1 at 3
    assert isinstance(ledger.award_batch([award_request(player_id, promo_id, award_value=5)])[0], BudgetExhausted)
    assert isinstance(ledger.award_batch([award_request(player_id, promo_id, award_value=1)])[0], AwardOutcome)
    assert ledger.get_promotion(promo_id).spins_reserved == 10


def test_a_promotion_whose_reservation_went_after_anothers_past_a_multiple_of_its_interval_is_snapshotted(ledger, other_process):
    player_id, promo_id = unique("player"), unique("promo")
    ledger.register_player(player_id, adult())
    ledger.define_promotion(promo_id, terms())
    for _ in range(22):  # the promotion is at version 23
        ledger.award_free_spins(award_request(player_id, promo_id, award_value=1))
    with before_each_append(ledger, award_elsewhere(other_process, promo_id, 1)) as appended:
        ledger.award_free_spins(award_request(player_id, promo_id, award_value=1))
    promo_stream = Promotion.stream_id(promo_id)
    assert appended == [{promo_stream: 25}]  # the other's at 24 (not a multiple of 25: no snapshot), this at 25
    snapshot = max(ledger.snapshots.get(promo_stream), key=lambda s: s.originator_version)
    assert (snapshot.originator_version, snapshot.state["spins_reserved"]) == (25, 24)


def test_a_group_recorded_after_anothers_is_answered_even_if_reading_its_promotion_again_to_snapshot_it_fails(ledger, other_process):
    player_id, promo_id = unique("player"), unique("promo")
    ledger.register_player(player_id, adult())
    ledger.define_promotion(promo_id, terms())
    for _ in range(22):  # the promotion is at version 23: the next reservation after another's crosses 25
        ledger.award_free_spins(award_request(player_id, promo_id, award_value=1))
    reads = ledger.recorder.read_streams

    def unreadable(*args):  # type: ignore[no-untyped-def]
        raise OperationalError("the connection was lost")

    def then_the_database_goes_away() -> None:
        award_elsewhere(other_process, promo_id, 1)()
        ledger.recorder.read_streams = unreadable  # the group's own read is done; the re-read after its append fails

    try:
        with before_each_append(ledger, then_the_database_goes_away) as appended:
            outcome = ledger.award_free_spins(award_request(player_id, promo_id, award_value=1))
    finally:
        ledger.recorder.read_streams = reads
    assert appended == [{Promotion.stream_id(promo_id): 25}]
    assert not outcome.replayed
    assert ledger.get_award(UUID(outcome.receipt.award_id)).spins_awarded == 1


def test_a_group_whose_player_changed_between_its_read_and_its_append_is_decided_again_on_what_is_recorded(ledger, other_process):
    player_id, promo_id = unique("player"), unique("promo")
    ledger.register_player(player_id, adult())
    ledger.define_promotion(promo_id, terms())
    moved = lambda: other_process.register_player(player_id, adult(region="CA-QC"))  # noqa: E731
    with before_each_append(ledger, moved) as appended:
        outcome = ledger.award_free_spins(award_request(player_id, promo_id, award_value=3))
    assert len(appended) == 2 and isinstance(appended[0], IntegrityError)  # then decided again, on the moved player
    assert appended[1] == {Promotion.stream_id(promo_id): 2}
    assert not outcome.replayed
    assert [a.award_id for a in ledger.list_player_awards(player_id, None, 10).data] == [outcome.receipt.award_id]
    assert ledger.get_player(player_id).region == "CA-QC"


def test_a_group_whose_append_failed_on_the_database_is_decided_again_on_what_is_recorded(ledger):
    player_id, promo_id = unique("player"), unique("promo")
    ledger.register_player(player_id, adult())
    ledger.define_promotion(promo_id, terms())

    def lock_not_granted(*args):  # type: ignore[no-untyped-def]
        raise OperationalError("canceling statement due to lock timeout")

    appended = []

    def fails_once(*args):  # type: ignore[no-untyped-def]
        if not appended:
            appended.append(lock_not_granted)
            lock_not_granted()
        return unlocked(*args)

    unlocked, ledger.recorder.append_claiming = ledger.recorder.append_claiming, fails_once
    try:
        outcome = ledger.award_free_spins(award_request(player_id, promo_id, award_value=4))
    finally:
        ledger.recorder.append_claiming = unlocked
    assert not outcome.replayed
    assert ledger.get_promotion(promo_id).spins_reserved == 4


def test_an_append_records_nothing_when_any_one_of_its_claims_fails(recorder):
    roomy, tight, player = uuid4(), uuid4(), uuid4()
    recorder.insert_events([event(roomy, 1), event(tight, 1), reserved(roomy, 2, spins=1), reserved(tight, 2, spins=3)])
    claims = [BudgetClaim(roomy, 1, room=5), BudgetClaim(tight, 1, room=2)]
    events = [reserved(roomy, 2, spins=1), reserved(tight, 2, spins=1), event(player, 1)]
    assert recorder.append_claiming(events, claims, RESERVED) is None
    assert (len(versions(recorder, roomy)), len(versions(recorder, tight)), versions(recorder, player)) == (2, 2, [])


def test_a_replay_is_answered_with_its_award_though_the_budget_the_cap_and_the_promotions_end_would_refuse_it_now(ledger):
    player_id, promo_id = unique("player"), unique("promo")
    ledger.register_player(player_id, adult())
    ledger.define_promotion(promo_id, terms(budget_spins=5, per_player_daily_limit=5))
    request = award_request(player_id, promo_id, award_value=5)
    first = ledger.award_free_spins(request)  # the budget and the player's cap are both spent by it
    again = ledger.award_batch([request])[0]
    assert isinstance(again, AwardOutcome) and again.replayed and again.receipt == first.receipt
    ledger.end_promotion(promo_id, "campaign over")
    after_end = ledger.award_batch([request])[0]
    assert isinstance(after_end, AwardOutcome) and after_end.replayed and after_end.receipt == first.receipt
    reused = ledger.award_batch([award_request(player_id, promo_id, key=request.idempotency_key, award_value=4)])[0]
    assert isinstance(reused, IdempotencyKeyReused)


def test_a_process_refuses_on_the_promotion_as_recorded_not_as_it_last_saw_it(ledger, other_process):
    player_id, promo_id = unique("player"), unique("promo")
    ledger.register_player(player_id, adult())
    ledger.define_promotion(promo_id, terms(budget_spins=5))
    assert isinstance(ledger.award_free_spins(award_request(player_id, promo_id, award_value=5)), AwardOutcome)
    assert isinstance(ledger.award_batch([award_request(player_id, promo_id, award_value=5)])[0], BudgetExhausted)
    other_process.define_promotion(promo_id, terms(budget_spins=1000))  # raised elsewhere
    assert isinstance(ledger.award_batch([award_request(player_id, promo_id, award_value=5)])[0], AwardOutcome)
