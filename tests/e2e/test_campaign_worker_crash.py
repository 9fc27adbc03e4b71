"""A 20,000-player campaign issued by a real ``spinledger worker``, killed (SIGKILL) in the middle of it and started
again: the campaign completes with the counts the award rules give, and each awarded player has one award."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date, datetime, timedelta, timezone
from typing import Any

import psycopg

from app import create_app
from app.bootstrap import SystemClock, build_ledger
from app.config import Settings
from domain.player import Player
from domain.requests import AwardRequest
from tests.support import ADMIN, API_KEYS, GAME, terms_json, unique

ELIGIBLE, CAPPED, ABROAD, UNKNOWN = 17_000, 1_000, 1_000, 1_000
PAID = 15_000  # the budget pays this many of the campaign's awards, after the capped players' earlier ones
SPINS, EARLIER_SPINS, DAILY_CAP = 5, 8, 10


def start_worker(database_url: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url, "CAMPAIGN_CHUNK_SIZE": "500", "CAMPAIGN_HEARTBEAT_SECONDS": "1",
           "CAMPAIGN_STALLED_SECONDS": "4", "PROJECTION_POLL_SECONDS": "0.5"}
    return subprocess.Popen([sys.executable, "-m", "app.cli", "worker"], env=env, start_new_session=True)


def register_players(database_url: str, groups: dict[str, tuple[list[str], str, str]], promo_id: str, capped: list[str]) -> None:
    """Registers the players in batches of a thousand a transaction, and gives the capped ones their earlier award."""
    ledger = build_ledger(database_url, SystemClock(), os.urandom)
    try:
        now = datetime.now(timezone.utc)
        players = [Player.register(p, region, date(1990, 4, 1), currency, now) for ids, region, currency in groups.values() for p in ids]
        for start in range(0, len(players), 1000):
            ledger.streams.save(*players[start:start + 1000])
        earlier = ledger.award_batch([AwardRequest(p, promo_id, "FREE_SPINS", EARLIER_SPINS, GAME, unique("earlier")) for p in capped])
        assert all(not isinstance(r, Exception) for r in earlier), earlier[:3]
    finally:
        ledger.close()


def status(client: Any, campaign_id: str) -> dict[str, Any]:
    return client.get(f"/api/v1/campaigns/{campaign_id}", headers=ADMIN).json


def test_a_campaign_survives_its_worker_killed_mid_chunk_with_the_same_counts_and_no_duplicate(own_database):
    flask_app = create_app(Settings(database_url=own_database, api_keys=API_KEYS))
    client = flask_app.test_client()
    worker = None
    try:
        now = datetime.now(timezone.utc)
        promo_id = unique("promo")
        budget = CAPPED * EARLIER_SPINS + PAID * SPINS
        promo = terms_json(starts_at=(now - timedelta(days=1)).isoformat(), ends_at=(now + timedelta(days=30)).isoformat(),
                           budget_spins=budget, per_player_daily_limit=DAILY_CAP)
        assert client.put(f"/api/v1/promotions/{promo_id}", json=promo, headers=ADMIN).status_code == 201
        eligible = [f"cw-{i}" for i in range(ELIGIBLE)]
        capped = [f"cw-capped-{i}" for i in range(CAPPED)]
        abroad = [f"cw-abroad-{i}" for i in range(ABROAD)]
        unknown = [f"cw-nobody-{i}" for i in range(UNKNOWN)]
        register_players(own_database, {"eligible": (eligible + capped, "CA-ON", "CAD"), "abroad": (abroad, "US-NY", "USD")}, promo_id, capped)

        campaign_id = unique("campaign")
        body = {"name": "Crash test", "promo_id": promo_id, "award_value": SPINS, "game_code": GAME}
        assert client.put(f"/api/v1/campaigns/{campaign_id}", json=body, headers=ADMIN).status_code == 201
        audience = eligible[:9000] + capped + abroad + eligible[9000:] + unknown + eligible[:50]  # 50 repeated
        uploaded = client.post(f"/api/v1/campaigns/{campaign_id}/audience", data="player_id\n" + "\n".join(audience) + "\n",
                               headers={**ADMIN, "Content-Type": "text/csv"})
        assert uploaded.json["players_total"] == 20_000, uploaded.json
        assert client.post(f"/api/v1/campaigns/{campaign_id}/launch", headers=ADMIN).status_code == 202

        worker = start_worker(own_database)
        deadline = time.monotonic() + 120
        while status(client, campaign_id)["processed"] < 2_000 and time.monotonic() < deadline:
            time.sleep(0.02)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        at_kill = status(client, campaign_id)
        assert 0 < at_kill["processed"] < 20_000 and at_kill["status"] == "running", at_kill

        worker = start_worker(own_database)
        deadline = time.monotonic() + 240
        while (final := status(client, campaign_id))["status"] != "completed" and time.monotonic() < deadline:
            time.sleep(0.2)
        assert final["status"] == "completed", final
        assert (final["players_total"], final["processed"], final["awarded"], final["replayed"], final["refused"]) == (
            20_000, 20_000, PAID, 0, 20_000 - PAID)
        assert final["refused_by_code"] == {"RATE_LIMIT": CAPPED, "REGION_BLOCKED": ABROAD, "PLAYER_NOT_FOUND": UNKNOWN,
                                            "BUDGET_EXHAUSTED": ELIGIBLE - PAID}
        with psycopg.connect(own_database) as conn:
            awards, players = conn.execute(
                "SELECT count(*), count(DISTINCT convert_from(state, 'UTF8')::jsonb ->> 'player_id') FROM spinledger_events "
                "WHERE topic LIKE '%%FreeSpinsAwarded' AND convert_from(state, 'UTF8')::jsonb ->> 'idempotency_key' LIKE %s",
                [f"campaign:{campaign_id}:%"],
            ).fetchone()
            results = conn.execute("SELECT count(*) FROM campaign_results WHERE campaign_id = %s AND outcome = 'awarded'", [campaign_id]).fetchone()
        assert (awards, players, results[0]) == (PAID, PAID, PAID)
        promo_now = client.get(f"/api/v1/promotions/{promo_id}", headers=ADMIN).json
        assert promo_now["budget_left"] == 0
    finally:
        if worker is not None and worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=60)
        flask_app.extensions["spinledger"].close()


def issuers_of(pid: int) -> set[int]:
    """The campaign issuer processes a worker started: its children spawned by multiprocessing (not the resource
    tracker multiprocessing starts beside them)."""
    found = set()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/status") as status:
                fields = dict(line.split(":", 1) for line in status if ":" in line)
            with open(f"/proc/{entry.name}/cmdline", "rb") as cmdline:
                command = cmdline.read()
        except OSError:
            continue
        if fields.get("PPid", "").strip() == str(pid) and b"spawn_main" in command:
            found.add(int(entry.name))
    return found


def test_a_campaign_issuer_that_dies_is_started_again_by_its_worker(own_database):
    worker = start_worker(own_database)
    try:
        deadline = time.monotonic() + 60
        while not (first := issuers_of(worker.pid)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(first) == 1, first  # CAMPAIGN_PROCESSES=1
        (issuer,) = first
        os.kill(issuer, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while not (again := issuers_of(worker.pid) - {issuer}) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(again) == 1 and worker.poll() is None, again
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)
    assert worker.returncode == 0
