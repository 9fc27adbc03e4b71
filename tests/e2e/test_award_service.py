"""End to end: HTTP over a socket to gunicorn's worker processes, on PostgreSQL."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import psycopg
import requests

from domain.ids import award_id_for_key
from tests.support import ADMIN, COMPLIANCE, award_json, event_count, terms_json, unique


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


def test_sigterm_lets_in_flight_requests_finish_and_writes_nothing_by_halves(own_database):
    """Batches of 200 awards in flight when the server is told to stop: each is answered in full, or was
    never taken (the listener had closed) and recorded nothing; the server exits 0."""
    from tests.e2e.conftest import SYNTHETIC_PLAYERS, Server

    server = Server(own_database, env=SYNTHETIC_PLAYERS)
    player_id, promo_id = setup(server, budget_spins=1_000_000)
    batches = {n: [award_json(player_id, promo_id, award_value=1) for _ in range(200)] for n in range(6)}
    answers: dict[int, object] = {}

    def send(n: int) -> None:
        try:
            answers[n] = requests.post(f"{server.base}/api/v1/awards/batch", json={"awards": batches[n]}, headers=ADMIN, timeout=60)
        except requests.RequestException as refused:
            answers[n] = refused

    with ThreadPoolExecutor(len(batches)) as pool, psycopg.connect(own_database, autocommit=True) as conn:
        for n in batches:
            pool.submit(send, n)
        deadline = time.monotonic() + 60
        while event_count(conn, "FreeSpinsAwarded") == 0:  # the first batch is being recorded
            assert time.monotonic() < deadline, "no batch was ever recorded"
            time.sleep(0.005)
        assert server.stop() == 0
    with psycopg.connect(own_database) as conn:
        for n, items in batches.items():
            ids = [award_id_for_key(item["idempotency_key"]) for item in items]
            (recorded,) = conn.execute("SELECT count(*) FROM spinledger_events WHERE originator_id = ANY(%s) AND originator_version = 1", [ids]).fetchone()
            answer = answers[n]
            if isinstance(answer, requests.Response):
                assert answer.status_code == 200 and [r["status"] for r in answer.json()["results"]] == [201] * 200
                assert recorded == 200
            else:
                assert recorded == 0, f"batch {n} was cut off after recording {recorded} awards"
    assert any(isinstance(answer, requests.Response) for answer in answers.values())


def test_any_worker_scraped_reports_the_requests_every_worker_answered(server):
    from prometheus_client.parser import text_string_to_metric_families

    from tests.support import METRICS

    labels = {"method": "GET", "route": "/api/v1/awards/<uuid:award_id>", "status": "404"}

    def answered() -> float:
        text = requests.get(f"{server.base}/metrics", headers=METRICS, timeout=10).text
        return sum(sample.value for family in text_string_to_metric_families(text) for sample in family.samples
                   if sample.name == "spinledger_http_requests_total" and sample.labels == labels)

    before = answered()
    for _ in range(40):  # a connection each: gunicorn's two workers take turns to accept them
        assert requests.get(f"{server.base}/api/v1/awards/{uuid.uuid4()}", headers=ADMIN, timeout=10).status_code == 404
    assert [answered() - before for _ in range(8)] == [40] * 8


def test_an_award_whose_caller_gave_up_before_the_answer_is_found_by_its_key(server):
    import json
    import socket

    player_id, promo_id = setup(server)
    key = unique("timed-out")
    assert requests.get(f"{server.base}/api/v1/awards", params={"idempotency_key": key}, headers=ADMIN, timeout=10).status_code == 404
    body = json.dumps(award_json(player_id, promo_id, key=key, issued_at=None)).encode()
    head = (f"POST /api/v1/awards HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nAuthorization: {ADMIN['Authorization']}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as caller:
        caller.sendall(head + body)  # and hangs up at once, as a client whose timeout ran out does
    deadline = time.monotonic() + 10
    while (found := requests.get(f"{server.base}/api/v1/awards", params={"idempotency_key": key}, headers=ADMIN, timeout=10)).status_code == 404:
        assert time.monotonic() < deadline, "the award never appeared"
        time.sleep(0.05)
    assert found.status_code == 200
    assert (found.json()["award_id"], found.json()["player_id"], found.json()["status"]) == (str(award_id_for_key(key)), player_id, "active")
    retried = requests.post(f"{server.base}/api/v1/awards", data=body, headers={**ADMIN, "Content-Type": "application/json"}, timeout=10)
    assert (retried.status_code, retried.headers["Idempotent-Replayed"]) == (200, "true")


def test_the_worker_judges_a_players_awards_and_a_flag_pauses_the_next_one(own_database):
    from tests.e2e.conftest import Server

    server = Server(own_database, env={"RISK_AWARDS_PER_DAY": "3"})
    try:
        player_id, promo_id = setup(server)
        for _ in range(4):
            assert requests.post(f"{server.base}/api/v1/awards", json=award_json(player_id, promo_id), headers=ADMIN, timeout=10).status_code == 201
        deadline = time.monotonic() + 30
        while not (reviews := requests.get(f"{server.base}/api/v1/reviews?status=open", headers=COMPLIANCE, timeout=10).json()["data"]):
            assert time.monotonic() < deadline, "the worker raised no flag"
            time.sleep(0.2)
        assert [(r["player_id"], r["rule"]) for r in reviews] == [(player_id, "awards_per_day")]
        paused = requests.post(f"{server.base}/api/v1/awards", json=award_json(player_id, promo_id), headers=ADMIN, timeout=10)
        assert paused.status_code == 403 and paused.json()["error"]["code"] == "PROMOTIONS_PAUSED"
    finally:
        server.stop()
