"""A real ``spinledger worker`` killed (SIGKILL) in the middle of catching up, then started again: the views
it leaves equal views built from zero, so no event was lost or applied twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from app.bootstrap import build_ledger
from app.bootstrap import projections_datastore
from domain.requests import AwardRequest
from projections.catalogue import PROJECTIONS, build
from tests.e2e.conftest import SYNTHETIC_PLAYERS
from projections.rebuild import _drop
from projections.runner import catch_up, position_of
from projections.source import EventSource
from tests.support import adult, terms, unique

CHECK = "crashcheck_"


def start_worker(database_url: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url, "PROJECTION_POLL_SECONDS": "0.2", **SYNTHETIC_PLAYERS}
    return subprocess.Popen([sys.executable, "-m", "app.cli", "worker"], env=env)


def positions(datastore) -> dict[str, int]:
    found = {}
    for name in PROJECTIONS:
        try:
            found[name] = position_of(build(datastore, name))
        except Exception:  # the worker has not created this view yet
            found[name] = 0
    return found


def contents(datastore, view, prefix=""):
    with datastore.get_connection() as conn:
        return {table: conn.execute(f"SELECT * FROM {prefix}{table} ORDER BY 1").fetchall() for table in view.tables}


def test_a_worker_killed_mid_stream_and_restarted_leaves_the_views_a_rebuild_would(own_database, clock):
    ledger = build_ledger(own_database, clock, os.urandom)
    try:
        players = [unique("crash") for _ in range(50)]
        for player_id in players:
            ledger.register_player(player_id, adult())
        promo_id = unique("promo")
        ledger.define_promotion(promo_id, terms(budget_spins=10_000_000))
        for batch in range(12):
            ledger.award_batch([AwardRequest(players[i % 50], promo_id, "FREE_SPINS", 5, "crystal-forge-v1", f"crash-{batch}-{i}")
                                for i in range(1000)])
    finally:
        ledger.close()
    datastore = projections_datastore(own_database)
    head = EventSource(datastore).head()

    worker = start_worker(own_database)
    try:
        deadline = time.monotonic() + 60
        while not 0 < positions(datastore)["event_index"] and time.monotonic() < deadline:
            time.sleep(0.01)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        at_kill = positions(datastore)
        assert 0 < at_kill["event_index"] < head, at_kill  # killed in the middle of the stream

        worker = start_worker(own_database)
        deadline = time.monotonic() + 120
        while min(positions(datastore).values()) < head and time.monotonic() < deadline:
            time.sleep(0.1)
        assert min(positions(datastore).values()) == head
    finally:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=30)

    try:
        for name in PROJECTIONS:
            fresh = build(datastore, name, prefix=CHECK)
            catch_up(fresh, EventSource(datastore), head)
            assert contents(datastore, fresh.view, CHECK) == contents(datastore, build(datastore, name).view), name
            _drop(datastore, fresh.view)
        with datastore.get_connection() as conn:
            indexed = conn.execute("SELECT count(*) AS n, count(DISTINCT position) AS d FROM event_index").fetchone()
            stored = conn.execute("SELECT count(*) AS n FROM spinledger_events").fetchone()
        assert indexed["n"] == indexed["d"] == stored["n"]
    finally:
        datastore.close()
