"""The reconciliation's streams: every one reads the run's snapshot, in order, and leaves nothing behind."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from psycopg import IsolationLevel, sql

from reconciliation.recompute import _parse
from reconciliation.snapshot import FETCH, Snapshot


@pytest.fixture
def numbers(own_database):
    with psycopg.connect(own_database, autocommit=True) as conn:
        conn.execute("CREATE TABLE numbers (n integer PRIMARY KEY)")
        conn.execute("INSERT INTO numbers SELECT generate_series(1, %s)", [FETCH * 2 + 7])
    return own_database


def run_transaction(database_url: str) -> psycopg.Connection:
    conn = psycopg.connect(database_url)
    conn.isolation_level = IsolationLevel.REPEATABLE_READ
    conn.read_only = True
    conn.execute("SELECT 1")  # the snapshot is taken here
    return conn


def backends(database_url: str) -> int:
    with psycopg.connect(database_url, autocommit=True) as conn:
        return conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()[0]


def backends_once_settled(database_url: str, expected: int) -> int:
    """The backends left, once those closing have had up to 5 s to go (a closed connection's backend exits
    a moment after the client has let go)."""
    deadline = time.monotonic() + 5
    while (count := backends(database_url)) > expected and time.monotonic() < deadline:
        time.sleep(0.05)
    return count


def stream_threads() -> int:
    return sum(1 for thread in threading.enumerate() if thread.name == "reconciliation-fetch")


def test_a_stream_reads_every_row_in_order_across_batches(numbers):
    with run_transaction(numbers) as conn:
        rows = list(Snapshot(numbers, conn).rows(sql.SQL("SELECT n FROM numbers ORDER BY n")))
    assert rows == [(n,) for n in range(1, FETCH * 2 + 8)]


def test_streams_read_the_run_s_snapshot_not_rows_committed_after_it(numbers):
    with run_transaction(numbers) as conn:
        snapshot = Snapshot(numbers, conn)
        with psycopg.connect(numbers, autocommit=True) as writer:
            writer.execute("INSERT INTO numbers VALUES (-1)")
            writer.execute("DELETE FROM numbers WHERE n = 1")
        seen = [row["n"] for row in snapshot.dicts(sql.SQL("SELECT n FROM numbers ORDER BY n"))]
    assert seen[0] == 1 and -1 not in seen and len(seen) == FETCH * 2 + 7


def test_two_streams_read_side_by_side_from_one_snapshot(numbers):
    with run_transaction(numbers) as conn:
        snapshot = Snapshot(numbers, conn)
        odd = snapshot.rows(sql.SQL("SELECT n FROM numbers WHERE n % 2 = 1 ORDER BY n"))
        even = snapshot.rows(sql.SQL("SELECT n FROM numbers WHERE n % 2 = 0 ORDER BY n"))
        merged = [value for pair in zip(odd, even) for (value,) in pair]
    assert merged == list(range(1, len(merged) + 1)) and len(merged) == FETCH * 2 + 6


def test_a_reader_that_stops_early_leaves_no_thread_or_connection_behind(numbers):
    idle = backends(numbers)
    with run_transaction(numbers) as conn:
        stream = Snapshot(numbers, conn).rows(sql.SQL("SELECT n FROM numbers ORDER BY n"))
        assert next(stream) == (1,)
        assert stream_threads() == 1
        stream.close()
        assert stream_threads() == 0
    assert backends_once_settled(numbers, idle) == idle


def test_leaving_the_snapshot_s_block_on_an_error_closes_the_streams_it_opened(numbers):
    idle = backends(numbers)
    with run_transaction(numbers) as conn, pytest.raises(RuntimeError, match="midway"):
        with Snapshot(numbers, conn) as snapshot:
            first = snapshot.rows(sql.SQL("SELECT n FROM numbers ORDER BY n"))
            second = snapshot.dicts(sql.SQL("SELECT n FROM numbers ORDER BY n DESC"))
            assert next(first) == (1,) and next(second) == {"n": FETCH * 2 + 7}
            assert stream_threads() == 2
            raise RuntimeError("a comparison failing midway, its streams unfinished")
    assert stream_threads() == 0
    assert backends_once_settled(numbers, idle) == idle


def test_a_failing_query_fails_the_reader_with_the_database_s_error(numbers):
    with run_transaction(numbers) as conn:
        stream = Snapshot(numbers, conn).rows(sql.SQL("SELECT no_such_column FROM numbers"))
        with pytest.raises(psycopg.errors.UndefinedColumn):
            next(stream)
    assert stream_threads() == 0


def test_events_are_parsed_by_orjson_and_what_it_refuses_by_the_standard_parser():
    assert _parse(b'{"spins": 5, "amount": {"_type_": "decimal", "_data_": "0.20"}}') == {"spins": 5, "amount": {"_type_": "decimal", "_data_": "0.20"}}
    huge = 2**70
    assert _parse(b'{"n": %d}' % huge) == {"n": huge}
