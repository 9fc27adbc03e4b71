"""Seed 000's case B end to end: a campaign issued by a real ``spinledger worker``, each award confirmed by a webhook
to each of two subscriptions; one subscription deleted in the middle of the campaign, while its deliveries are in
flight."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import date, datetime, timedelta, timezone

import psycopg

from app import create_app
from app.bootstrap import SystemClock, build_ledger
from app.config import Settings
from domain.player import Player
from tests.receiver import Receiver
from tests.support import ADMIN, API_KEYS, GAME, terms_json, unique

PLAYERS = 3_000


def start_worker(database_url: str, log: object) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url, "WEBHOOK_ALLOW_PRIVATE": "true", "PROJECTION_POLL_SECONDS": "0.2",
           "CAMPAIGN_CHUNK_SIZE": "250", "WEBHOOK_RETRY_BASE_SECONDS": "0.2"}
    return subprocess.Popen([sys.executable, "-m", "app.cli", "worker"], env=env, stderr=log, start_new_session=True)


def wait_for(condition, seconds: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_each_award_of_a_campaign_reaches_each_subscription_once_and_a_deleted_one_stops_cleanly(own_database, tmp_path):
    flask_app = create_app(Settings(database_url=own_database, api_keys=API_KEYS))
    client = flask_app.test_client()
    receiver = Receiver()
    log = open(tmp_path / "worker.log", "wb")
    worker = None
    try:
        now = datetime.now(timezone.utc)
        promo_id = unique("promo")
        promo = terms_json(starts_at=(now - timedelta(days=1)).isoformat(), ends_at=(now + timedelta(days=30)).isoformat(), budget_spins=10**6)
        assert client.put(f"/api/v1/promotions/{promo_id}", json=promo, headers=ADMIN).status_code == 201
        players = [f"hook-{i}" for i in range(PLAYERS)]
        ledger = build_ledger(own_database, SystemClock(), os.urandom)
        try:
            ledger.streams.save(*(Player.register(p, "CA-ON", date(1990, 4, 1), "CAD", now) for p in players))
        finally:
            ledger.close()
        subscriptions = {}
        for path in ("/kept", "/deleted"):
            made = client.post("/api/v1/webhooks", json={"url": receiver.url(path), "event_types": ["FreeSpinsAwarded"]}, headers=ADMIN)
            assert made.status_code == 201, made.json
            receiver.expect(path, made.json["secret"])
            subscriptions[path] = made.json["id"]

        campaign_id = unique("campaign")
        body = {"name": "Confirmed", "promo_id": promo_id, "award_value": 5, "game_code": GAME}
        assert client.put(f"/api/v1/campaigns/{campaign_id}", json=body, headers=ADMIN).status_code == 201
        csv = "player_id\n" + "\n".join(players) + "\n"
        assert client.post(f"/api/v1/campaigns/{campaign_id}/audience", data=csv, headers={**ADMIN, "Content-Type": "text/csv"}).status_code == 200
        assert client.post(f"/api/v1/campaigns/{campaign_id}/launch", headers=ADMIN).status_code == 202
        worker = start_worker(own_database, log)

        def received(path: str) -> list:  # type: ignore[type-arg]
            return [r for r in list(receiver.received) if r.path == path]

        wait_for(lambda: len(received("/deleted")) >= 300, 120, "the deliveries did not start")
        deleted = client.delete(f"/api/v1/webhooks/{subscriptions['/deleted']}", headers=ADMIN)
        assert deleted.status_code in (200, 204), deleted.get_data(as_text=True)
        at_delete = len(received("/deleted"))
        wait_for(lambda: client.get(f"/api/v1/campaigns/{campaign_id}", headers=ADMIN).json["status"] == "completed", 180, "campaign not completed")
        wait_for(lambda: len({r.webhook_id for r in received("/kept")}) >= PLAYERS, 180, "the kept subscription missed deliveries")
        time.sleep(1)  # anything still on its way to the deleted one

        kept = received("/kept")
        assert all(r.valid and r.whole for r in kept)
        awards = Counter(r.body["stream_id"] for r in kept if r.body)
        assert len(awards) == PLAYERS and len({r.webhook_id for r in kept}) == PLAYERS  # one Webhook-Id per award, each award once
        assert {r.body["data"]["idempotency_key"] for r in kept if r.body} == {f"campaign:{campaign_id}:{p}" for p in players}
        gone = received("/deleted")
        assert len({r.webhook_id for r in gone}) < PLAYERS
        assert len(gone) <= at_delete + 64  # at most what was in flight at the deletion (a lane's queue)
        with psycopg.connect(own_database) as conn:
            left = dict(conn.execute("SELECT status, count(*) FROM webhook_deliveries WHERE subscription_id = %s GROUP BY status",
                                     [subscriptions["/deleted"]]).fetchall())
        assert set(left) <= {"delivered", "cancelled"} and left.get("cancelled", 0) > 0, left
    finally:
        if worker is not None and worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=60)
        log.close()
        receiver.release.set()
        receiver.stop()
        flask_app.extensions["spinledger"].close()
    assert b"deadlock" not in (tmp_path / "worker.log").read_bytes()
