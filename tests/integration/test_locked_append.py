"""The award path's lock on PostgreSQL: taken with a read, let go of by the append, never left behind."""

from __future__ import annotations

import threading
import time
from uuid import UUID, uuid4

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.postgres import PostgresAggregateRecorder

from app.eventstore import APPEND_LOCK_KEY, LOCK_TIMEOUT_SECONDS, SpinledgerRecorder
from tests.support import adult, award_request, terms, unique

KEY = 0x7E57  # not the service's own key: these tests hold and drop it at will


@pytest.fixture
def recorder(ledger):
    """The service's recorder on tables of its own: these tests' events are not the domain's, and the
    other tests' projections and reconciliations read every event of the service's tables."""
    datastore, name = ledger.recorder.datastore, unique("lock_test").replace("-", "_")
    PostgresAggregateRecorder(datastore, events_table_name=f"{name}_snapshots").create_table()
    own = SpinledgerRecorder(datastore, events_table_name=f"{name}_events")
    own.create_table()
    return own


def event(stream: UUID, version: int) -> StoredEvent:
    return StoredEvent(originator_id=stream, originator_version=version, topic="tests:Event", state=b"{}")


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
