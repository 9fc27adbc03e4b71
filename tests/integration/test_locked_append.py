"""The award path's lock on PostgreSQL: taken with a read, let go of by the append, never left behind; and the
append a small group makes without it, which holds only if what it read still stands."""

from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator
from uuid import UUID, uuid4

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError, OperationalError, StoredEvent

from app.eventstore import APPEND_LOCK_KEY, LOCK_TIMEOUT_SECONDS, SpinledgerRecorder, open_ledger
from domain.errors import BudgetExhausted
from domain.ledger import BudgetClaim
from domain.promotion import Promotion
from domain.results import AwardOutcome
from tests.support import adult, award_request, scratch_database, terms, unique

KEY = 0x7E57  # not the service's own key: these tests hold and drop it at will


@pytest.fixture(scope="module")
def database_url(server_url):
    """A database of this module's own: its tests append events that are not the domain's and hold the events
    table's lock, which the other tests' projections and reconciliations would meet."""
    with scratch_database(server_url, "spinledger_lock_test") as url:
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


def holders(db: psycopg.Connection, key: int = KEY) -> int:
    """Sessions holding the advisory lock ``key`` in this database (pg_locks shows every database's)."""
    (count,) = db.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = 0 AND objid = %s"
        " AND objsubid = 1 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        " AND pid <> pg_backend_pid()",
        [key],
    ).fetchone()
    return count


def test_the_first_read_takes_the_lock_and_the_append_lets_go_of_it(recorder, db):
    stream = uuid4()
    with recorder.locked_append(KEY) as session:
        assert holders(db) == 0
        assert session.read_streams({stream: 0}) == {}
        assert holders(db) == 1
        session.insert_events([event(stream, 1)])
        assert holders(db) == 0
    assert [e.originator_version for e in recorder.read_streams({stream: 0})[stream]] == [1]


def test_a_block_left_without_an_append_lets_go_of_the_lock(recorder, db):
    with pytest.raises(RuntimeError, match="decided against"):
        with recorder.locked_append(KEY) as session:
            session.read_streams({uuid4(): 0})
            raise RuntimeError("decided against")
    assert holders(db) == 0
    with recorder.locked_append(KEY) as session:
        session.read_streams({uuid4(): 0})
    assert holders(db) == 0


def test_an_append_that_conflicts_keeps_the_lock_so_the_streams_can_be_read_again(recorder, db):
    stream = uuid4()
    recorder.insert_events([event(stream, 1)])
    with recorder.locked_append(KEY) as session:
        session.read_streams({stream: 1})
        with pytest.raises(IntegrityError):
            session.insert_events([event(stream, 1)])
        assert holders(db) == 1
        assert [e.originator_version for e in session.read_streams({stream: 0})[stream]] == [1]
        session.insert_events([event(stream, 2)])
        assert holders(db) == 0


def test_each_holder_reads_what_the_previous_holder_appended(recorder):
    """The previous holder lets go of the lock before its append commits; the next one must still read
    the appended events (or it would append a version that exists, and fail)."""
    stream, conflicts = uuid4(), []

    def append_next(rounds: int) -> None:
        for _ in range(rounds):
            with recorder.locked_append(KEY) as session:
                found = session.read_streams({stream: 0}).get(stream, [])
                try:
                    session.insert_events([event(stream, len(found) + 1)])
                except IntegrityError as conflict:
                    conflicts.append(conflict)

    threads = [threading.Thread(target=append_next, args=(40,)) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert conflicts == []
    assert len(recorder.read_streams({stream: 0})[stream]) == 240


def test_a_read_that_cannot_get_the_lock_in_time_fails_and_leaves_nothing_held(recorder, database_url, db):
    with psycopg.connect(database_url, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", [KEY])
        started = time.monotonic()
        with pytest.raises(Exception, match="lock timeout"):
            with recorder.locked_append(KEY) as session:
                session.read_streams({uuid4(): 0})
        assert time.monotonic() - started >= LOCK_TIMEOUT_SECONDS * 0.9
        other.execute("SELECT pg_advisory_unlock(%s)", [KEY])
    assert holders(db) == 0
    with recorder.locked_append(KEY) as session:  # the pool hands out a working connection again
        session.read_streams({uuid4(): 0})
        session.insert_events([event(uuid4(), 1)])


def test_a_read_that_gets_the_lock_but_times_out_waiting_for_an_append_leaves_nothing_held(recorder, database_url, db):
    """The advisory lock is taken first, then the read waits for appends in flight: if that wait times out,
    the session holds the advisory lock, and only closing its connection lets go of it."""
    with psycopg.connect(database_url) as other:  # a transaction that appends and does not commit
        other.execute(f"LOCK TABLE {recorder.events_table_name} IN EXCLUSIVE MODE")
        with pytest.raises(Exception, match="lock timeout"):
            with recorder.locked_append(KEY) as session:
                session.read_streams({uuid4(): 0})
        assert holders(db) == 0
        other.rollback()
    with recorder.locked_append(KEY) as session:
        session.read_streams({uuid4(): 0})
        assert holders(db) == 1


def test_the_ledger_lets_go_of_the_award_lock_after_every_group(ledger, db):
    player_id, promo_id = unique("player"), unique("promo")
    ledger.register_player(player_id, adult())
    ledger.define_promotion(promo_id, terms())
    ledger.award_free_spins(award_request(player_id, promo_id))
    ledger.award_batch([award_request(player_id, "no-such-promo")])  # refused: read under the lock, nothing appended
    assert holders(db, APPEND_LOCK_KEY) == 0


# -- the append without the lock ---------------------------------------------------------------------


def test_an_append_without_the_lock_records_its_reservation_after_those_made_since_its_read(recorder):
    promo, player = uuid4(), uuid4()
    recorder.insert_events([event(promo, 1)])  # read at version 1 ...
    recorder.insert_events([reserved(promo, 2, spins=3)])  # ... then another group reserves 3 spins
    recorded_at = recorder.append_reserving(KEY, [reserved(promo, 2, spins=4), event(player, 1)], [BudgetClaim(promo, 1, room=3)], RESERVED)
    assert recorded_at == {promo: 3}
    assert versions(recorder, promo) == [(1, "tests:Event"), (2, RESERVED), (3, RESERVED)]
    assert versions(recorder, player) == [(1, "tests:Event")]


def test_an_append_without_the_lock_records_nothing_when_others_reserved_more_than_its_room(recorder):
    promo, player = uuid4(), uuid4()
    recorder.insert_events([event(promo, 1), reserved(promo, 2, spins=3)])
    assert recorder.append_reserving(KEY, [reserved(promo, 2, spins=4), event(player, 1)], [BudgetClaim(promo, 1, room=2)], RESERVED) is None
    assert versions(recorder, promo) == [(1, "tests:Event"), (2, RESERVED)]
    assert versions(recorder, player) == []


def test_an_append_without_the_lock_records_nothing_when_the_promotion_changed_otherwise(recorder):
    promo, player = uuid4(), uuid4()
    recorder.insert_events([event(promo, 1), event(promo, 2)])  # new terms, say: not a reservation
    assert recorder.append_reserving(KEY, [reserved(promo, 2, spins=1), event(player, 1)], [BudgetClaim(promo, 1, room=100)], RESERVED) is None
    assert versions(recorder, player) == []


def test_an_append_without_the_lock_fails_like_any_other_when_one_of_its_streams_was_appended_to_first(recorder):
    promo, player = uuid4(), uuid4()
    recorder.insert_events([event(promo, 1), event(player, 1)])
    with pytest.raises(IntegrityError):
        recorder.append_reserving(KEY, [reserved(promo, 2, spins=1), event(player, 1)], [BudgetClaim(promo, 1, room=100)], RESERVED)
    assert versions(recorder, promo) == [(1, "tests:Event")]


def test_an_append_without_the_lock_waits_while_a_group_holds_it_and_then_goes_after_that_group(recorder, db):
    promo, player = uuid4(), uuid4()
    recorder.insert_events([event(promo, 1)])
    results = []
    with recorder.locked_append(KEY) as session:
        session.read_streams({promo: 1})
        waiting = threading.Thread(target=lambda: results.append(
            recorder.append_reserving(KEY, [reserved(promo, 2, spins=1), event(player, 1)], [BudgetClaim(promo, 1, room=5)], RESERVED)
        ))
        waiting.start()
        deadline = time.monotonic() + 10
        while not waiters(db) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert waiters(db) == 1
        assert versions(recorder, player) == []
        session.insert_events([reserved(promo, 2, spins=5)])  # the group under the lock takes 5 of the room
    waiting.join(timeout=10)
    assert results == [{promo: 3}]  # the 5 spins reserved under the lock fit in its room of 5
    assert versions(recorder, promo) == [(1, "tests:Event"), (2, RESERVED), (3, RESERVED)]


def waiters(db: psycopg.Connection, key: int = KEY) -> int:
    (count,) = db.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = %s"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        [key],
    ).fetchone()
    return count


def test_the_ledger_records_a_small_group_without_the_award_lock(ledger, db):
    player_id, promo_id = unique("player"), unique("promo")
    ledger.register_player(player_id, adult())
    ledger.define_promotion(promo_id, terms())

    def no_lock():  # type: ignore[no-untyped-def]
        raise AssertionError("a small group took the award lock")

    ledger.append_lock = no_lock
    outcome = ledger.award_free_spins(award_request(player_id, promo_id, award_value=7))
    assert not outcome.replayed
    assert ledger.get_promotion(promo_id).budget_left == terms().budget_spins - 7


@contextmanager
def before_each_append_without_the_lock(ledger, act: Callable[[], None]) -> Iterator[list]:  # type: ignore[no-untyped-def]
    """Runs ``act`` between a group's read and its append without the lock; yields what each append returned
    or raised."""
    unlocked, outcomes = ledger.append_reserving, []

    def append(*args):  # type: ignore[no-untyped-def]
        act()
        try:
            outcomes.append(unlocked(*args))
        except Exception as error:
            outcomes.append(error)
            raise
        return outcomes[-1]

    ledger.append_reserving = append
    try:
        yield outcomes
    finally:
        ledger.append_reserving = unlocked


@pytest.fixture
def other_process(database_url, clock):  # type: ignore[no-untyped-def]
    other = open_ledger(database_url, clock, os.urandom)
    yield other
    other.close()


def award_elsewhere(other, promo_id: str, spins: int) -> Callable[[], None]:  # type: ignore[no-untyped-def]
    def act() -> None:
        other.register_player(rival := unique("player"), adult())
        assert isinstance(other.award_batch([award_request(rival, promo_id, award_value=spins)])[0], AwardOutcome)

    return act


def test_a_group_whose_room_was_taken_between_its_read_and_its_append_is_decided_again_under_the_lock(ledger, other_process):
    player_id, promo_id = unique("player"), unique("promo")
    ledger.register_player(player_id, adult())
    ledger.define_promotion(promo_id, terms(budget_spins=10))
    with before_each_append_without_the_lock(ledger, award_elsewhere(other_process, promo_id, 8)) as appended:
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
    with before_each_append_without_the_lock(ledger, award_elsewhere(other_process, promo_id, 8)) as appended:
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
    with before_each_append_without_the_lock(ledger, award_elsewhere(other_process, promo_id, 1)) as appended:
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
        with before_each_append_without_the_lock(ledger, then_the_database_goes_away) as appended:
            outcome = ledger.award_free_spins(award_request(player_id, promo_id, award_value=1))
    finally:
        ledger.recorder.read_streams = reads
    assert appended == [{Promotion.stream_id(promo_id): 25}]
    assert not outcome.replayed
    assert ledger.get_award(UUID(outcome.receipt.award_id)).spins_awarded == 1


def test_a_group_whose_player_changed_between_its_read_and_its_append_is_decided_again_under_the_lock(ledger, other_process):
    player_id, promo_id = unique("player"), unique("promo")
    ledger.register_player(player_id, adult())
    ledger.define_promotion(promo_id, terms())
    moved = lambda: other_process.register_player(player_id, adult(region="CA-QC"))  # noqa: E731
    with before_each_append_without_the_lock(ledger, moved) as appended:
        outcome = ledger.award_free_spins(award_request(player_id, promo_id, award_value=3))
    assert len(appended) == 1 and isinstance(appended[0], IntegrityError)
    assert not outcome.replayed
    assert [a.award_id for a in ledger.list_player_awards(player_id, None, 10).data] == [outcome.receipt.award_id]
    assert ledger.get_player(player_id).region == "CA-QC"


def test_a_group_whose_append_failed_on_the_database_is_recorded_under_the_lock(ledger):
    player_id, promo_id = unique("player"), unique("promo")
    ledger.register_player(player_id, adult())
    ledger.define_promotion(promo_id, terms())

    def lock_not_granted(*args):  # type: ignore[no-untyped-def]
        raise OperationalError("canceling statement due to lock timeout")

    unlocked, ledger.append_reserving = ledger.append_reserving, lock_not_granted
    try:
        outcome = ledger.award_free_spins(award_request(player_id, promo_id, award_value=4))
    finally:
        ledger.append_reserving = unlocked
    assert not outcome.replayed
    assert ledger.get_promotion(promo_id).spins_reserved == 4


def test_appends_without_the_lock_do_not_wait_for_each_other(recorder, database_url):
    with psycopg.connect(database_url) as other:  # one in flight holds the lock shared until it commits
        other.execute("SELECT pg_advisory_xact_lock_shared(%s)", [KEY])
        promo = uuid4()
        recorder.insert_events([event(promo, 1)])
        assert recorder.append_reserving(KEY, [reserved(promo, 2, spins=1)], [BudgetClaim(promo, 1, room=0)], RESERVED) == {promo: 2}
        other.rollback()


def test_an_append_without_the_lock_records_nothing_when_any_one_of_its_claims_fails(recorder):
    roomy, tight, player = uuid4(), uuid4(), uuid4()
    recorder.insert_events([event(roomy, 1), event(tight, 1), reserved(roomy, 2, spins=1), reserved(tight, 2, spins=3)])
    claims = [BudgetClaim(roomy, 1, room=5), BudgetClaim(tight, 1, room=2)]
    events = [reserved(roomy, 2, spins=1), reserved(tight, 2, spins=1), event(player, 1)]
    assert recorder.append_reserving(KEY, events, claims, RESERVED) is None
    assert (len(versions(recorder, roomy)), len(versions(recorder, tight)), versions(recorder, player)) == (2, 2, [])
