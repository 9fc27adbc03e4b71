"""End to end: HTTP over a socket to gunicorn's worker processes, on PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import requests

from tests.support import ADMIN, award_json, terms_json, unique


def iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def setup(server, **term_overrides):
    now = datetime.now(timezone.utc)
    player_id, promo_id = unique("player"), unique("promo")
    player = requests.put(f"{server.base}/api/v1/players/{player_id}", json={"region": "CA-MB", "birth_date": "2000-01-31", "currency": "CAD"}, headers=ADMIN, timeout=10)
    assert player.status_code == 201, player.text
    terms = terms_json(starts_at=iso(now - timedelta(days=1)), ends_at=iso(now + timedelta(days=1)), **term_overrides)
    promo = requests.put(f"{server.base}/api/v1/promotions/{promo_id}", json=terms, headers=ADMIN, timeout=10)
    assert promo.status_code == 201, promo.text
    return player_id, promo_id


def test_an_award_and_its_replay_over_http(server):
    player_id, promo_id = setup(server)
    body = award_json(player_id, promo_id, issued_at=iso(datetime.now(timezone.utc)))
    first = requests.post(f"{server.base}/api/v1/awards", json=body, headers=ADMIN, timeout=10)
    replay = requests.post(f"{server.base}/api/v1/awards", json=body, headers=ADMIN, timeout=10)
    assert (first.status_code, replay.status_code) == (201, 200)
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.content == first.content
    status = requests.get(f"{server.base}/api/v1/awards/{first.json()['award_id']}", headers=ADMIN, timeout=10).json()
    assert (status["status"], status["spins_remaining"]) == ("active", 5)


def test_concurrent_awards_across_worker_processes_stop_at_the_budget(server):
    player_id, promo_id = setup(server, budget_spins=50)

    def post(_: int) -> int:
        body = award_json(player_id, promo_id, award_value=1)
        return requests.post(f"{server.base}/api/v1/awards", json=body, headers=ADMIN, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(post, range(64)))
    assert sorted(statuses) == [201] * 50 + [409] * 14
    promo = requests.get(f"{server.base}/api/v1/promotions/{promo_id}", headers=ADMIN, timeout=10).json()
    assert (promo["spins_reserved"], promo["budget_left"]) == (50, 0)


def test_errors_over_http_are_json_envelopes(server):
    missing = requests.get(f"{server.base}/nowhere", timeout=10)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NOT_FOUND"
    unauthorised = requests.post(f"{server.base}/api/v1/awards", json={}, timeout=10)
    assert unauthorised.status_code == 401 and unauthorised.json()["error"]["code"] == "UNAUTHORIZED"
    document = requests.get(f"{server.base}/openapi.json", timeout=10).json()
    assert "/api/v1/awards" in document["paths"]


def test_the_server_stops_cleanly_on_sigterm(database_url):
    from tests.e2e.conftest import Server

    server = Server(database_url)
    assert requests.get(f"{server.base}/healthz", timeout=5).status_code == 200
    assert server.stop() == 0
