"""The gated pool on real connections: to a port where no PostgreSQL listens, and to one whose connections are
cut under it."""

from __future__ import annotations

import os
import socket
import time

import psycopg
import pytest

from app.bootstrap import SystemClock, build_ledger
from app.database_gate import REQUEST_DEADLINE, DatabaseGate, DatabaseUnavailable, gate_pool


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again on leaving: nothing listens there


@pytest.fixture
def in_a_request():
    def start(gate: DatabaseGate) -> None:
        REQUEST_DEADLINE.set(gate.deadline())

    yield start
    REQUEST_DEADLINE.set(None)


def test_a_request_meeting_no_database_is_answered_within_its_wait_and_the_next_at_once(database_url, in_a_request):
    ledger = build_ledger(database_url, SystemClock(), os.urandom)  # (its recorder reads the database as it starts)
    gate = DatabaseGate(1.0)
    gate_pool(ledger.recorder.datastore, gate)
    # The gated pool, not opened yet, connects from now on where no PostgreSQL listens.
    ledger.recorder.datastore.pool.kwargs.update(host="127.0.0.1", port=closed_port())
    try:
        in_a_request(gate)
        started = time.monotonic()
        with pytest.raises(DatabaseUnavailable):
            ledger.recorder.max_notification_id()  # the library would retry this ten times, 5 s each
        assert time.monotonic() - started <= 1.0
        assert gate.down
        in_a_request(gate)
        started = time.monotonic()
        with pytest.raises(DatabaseUnavailable):
            ledger.recorder.max_notification_id()
        assert time.monotonic() - started < 0.05
    finally:
        ledger.close()


def test_connections_cut_under_the_pool_are_replaced_and_the_request_is_served(database_url, clock, random_bytes, in_a_request):
    ledger = build_ledger(database_url, clock, random_bytes)
    gate = DatabaseGate(2.0)
    gate_pool(ledger.recorder.datastore, gate)
    try:
        in_a_request(gate)
        before = ledger.recorder.max_notification_id()
        pool = ledger.recorder.datastore.pool
        with psycopg.connect(database_url, autocommit=True) as admin:
            cut = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchone()[0]
        assert cut >= 1
        in_a_request(gate)
        assert ledger.recorder.max_notification_id() == before
        assert not gate.down
        assert pool.get_stats()["connections_lost"] >= 1  # found by the check the broken one set off
    finally:
        ledger.close()
