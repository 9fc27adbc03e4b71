"""POST /api/v1/awards and its friends through the Flask test client, on PostgreSQL."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.api.helpers import assert_envelope, define, register
from tests.support import ADMIN, award_json, event_count, unique


def test_an_award_is_created_with_the_seed_response_fields(client):
    player_id, promo_id = register(client), define(client)
    response = client.post("/api/v1/awards", json=award_json(player_id, promo_id, award_value=5), headers=ADMIN)
    assert response.status_code == 201
    body = response.json
    assert set(body) == {"status", "event_id", "award_id", "awarded_count", "server_time", "expires_at"}
    assert (body["status"], body["awarded_count"]) == ("OK", 5)
    assert body["server_time"] == "2026-11-18T10:00:00.000Z"
    assert body["expires_at"] == "2026-11-25T10:00:00.000Z"
    assert "Idempotent-Replayed" not in response.headers


def test_a_replayed_award_returns_the_original_body(client, clock):
    player_id, promo_id = register(client), define(client)
    body = award_json(player_id, promo_id)
    first = client.post("/api/v1/awards", json=body, headers=ADMIN)
    clock.advance(hours=3)
    replay = client.post("/api/v1/awards", json=body, headers=ADMIN)
    assert (first.status_code, replay.status_code) == (201, 200)
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.get_data() == first.get_data()


def test_the_idempotency_key_may_come_in_the_header(client):
    player_id, promo_id = register(client), define(client)
    body = award_json(player_id, promo_id)
    key = body.pop("idempotency_key")
    first = client.post("/api/v1/awards", json=body, headers={**ADMIN, "Idempotency-Key": key})
    replay = client.post("/api/v1/awards", json={**body, "idempotency_key": key}, headers=ADMIN)
    assert (first.status_code, replay.status_code) == (201, 200)
    assert replay.json == first.json


def test_a_header_key_that_contradicts_the_body_key_is_refused(client, db):
    player_id, promo_id = register(client), define(client)
    before = event_count(db)
    response = client.post("/api/v1/awards", json=award_json(player_id, promo_id), headers={**ADMIN, "Idempotency-Key": "other"})
    assert_envelope(response, 400, "VALIDATION_ERROR", "idempotency_key")
    assert event_count(db) == before


def test_the_same_key_with_a_different_request_is_refused_and_records_nothing(client, db):
    player_id, promo_id = register(client), define(client)
    body = award_json(player_id, promo_id, award_value=5)
    client.post("/api/v1/awards", json=body, headers=ADMIN)
    before = event_count(db)
    response = client.post("/api/v1/awards", json={**body, "award_value": 6}, headers=ADMIN)
    assert_envelope(response, 422, "IDEMPOTENCY_KEY_REUSED", "idempotency_key")
    assert event_count(db) == before


def test_a_hundred_concurrent_identical_requests_give_one_201_and_ninety_nine_identical_replays(app, db):
    setup_client = app.test_client()
    player_id, promo_id = register(setup_client), define(setup_client)
    body = award_json(player_id, promo_id)
    before = event_count(db, "FreeSpinsAwarded")
    barrier = threading.Barrier(25)

    def post(_: int):
        client = app.test_client()
        try:
            barrier.wait(timeout=5)
        except threading.BrokenBarrierError:
            pass
        response = client.post("/api/v1/awards", json=body, headers=ADMIN)
        return response.status_code, response.get_data(), response.headers.get("Idempotent-Replayed")

    with ThreadPoolExecutor(max_workers=25) as pool:
        results = list(pool.map(post, range(100)))
    statuses = sorted(status for status, _, _ in results)
    assert statuses == [200] * 99 + [201]
    assert len({body for _, body, _ in results}) == 1
    assert sorted(replayed or "" for _, _, replayed in results) == [""] + ["true"] * 99
    assert event_count(db, "FreeSpinsAwarded") - before == 1


@pytest.mark.parametrize("limit", ["budget_spins", "per_player_daily_limit"])
def test_sixty_four_concurrent_awards_stop_exactly_at_fifty_spins(app, limit):
    setup_client = app.test_client()
    player_id = register(setup_client)
    promo_id = define(setup_client, **{limit: 50})

    def post(_: int) -> int:
        return app.test_client().post("/api/v1/awards", json=award_json(player_id, promo_id, award_value=1), headers=ADMIN).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(post, range(64)))
    refused = 409 if limit == "budget_spins" else 429
    assert sorted(statuses) == [201] * 50 + [refused] * 14
    awards = setup_client.get(f"/api/v1/players/{player_id}/awards?limit=1000", headers=ADMIN).json["data"]
    assert sum(a["spins_awarded"] for a in awards) == 50


def test_a_batch_returns_one_result_per_item_in_order(client, db):
    player_id, promo_id = register(client), define(client, budget_spins=12)
    good = award_json(player_id, promo_id, award_value=10)
    items = [
        good,
        {**award_json(player_id, promo_id), "award_value": "5"},
        award_json(player_id, promo_id, award_value=5),
        good,
        {"player_id": player_id},
        award_json("nobody", promo_id),
    ]
    response = client.post("/api/v1/awards/batch", json={"awards": items}, headers=ADMIN)
    assert response.status_code == 200
    results = response.json["results"]
    assert [r["index"] for r in results] == list(range(6))
    assert [r["status"] for r in results] == [201, 400, 409, 200, 400, 404]
    assert [r["error"]["code"] for r in results if r["error"]] == [
        "VALIDATION_ERROR", "BUDGET_EXHAUSTED", "MISSING_FIELD", "PLAYER_NOT_FOUND",
    ]
    assert results[1]["error"]["field"] == "award_value"
    assert results[3]["body"] == results[0]["body"] and results[3]["idempotent_replayed"]
    assert event_count(db, "FreeSpinsAwarded") >= 1


def test_a_batch_of_more_than_a_thousand_is_refused_whole(client, db):
    player_id, promo_id = register(client), define(client)
    before = event_count(db)
    items = [award_json(player_id, promo_id) for _ in range(1001)]
    response = client.post("/api/v1/awards/batch", json={"awards": items}, headers=ADMIN)
    assert_envelope(response, 400, "VALIDATION_ERROR", "awards")
    assert event_count(db) == before


def test_an_award_reads_back_with_its_spin_counts(client):
    player_id, promo_id = register(client), define(client)
    award_id = client.post("/api/v1/awards", json=award_json(player_id, promo_id, award_value=4), headers=ADMIN).json["award_id"]
    status = client.get(f"/api/v1/awards/{award_id}", headers={"Authorization": "Bearer test-reader-key"})
    assert status.status_code == 200
    assert {k: status.json[k] for k in ("status", "spins_awarded", "spins_used", "spins_remaining", "spins_forfeited")} == {
        "status": "active", "spins_awarded": 4, "spins_used": 0, "spins_remaining": 4, "spins_forfeited": 0,
    }
    assert status.json["bet_per_spin"] == "0.20" and status.json["total_win"] == "0.00"


def test_cancelling_an_award_forfeits_its_spins_and_a_second_cancel_is_refused(client, db):
    player_id, promo_id = register(client), define(client)
    award_id = client.post("/api/v1/awards", json=award_json(player_id, promo_id, award_value=6), headers=ADMIN).json["award_id"]
    cancelled = client.post(f"/api/v1/awards/{award_id}/cancel", json={"reason": "campaign withdrawn"}, headers=ADMIN)
    assert cancelled.status_code == 200
    assert (cancelled.json["status"], cancelled.json["spins_forfeited"], cancelled.json["spins_remaining"]) == ("cancelled", 6, 0)
    before = event_count(db)
    again = client.post(f"/api/v1/awards/{award_id}/cancel", json={"reason": "again"}, headers=ADMIN)
    assert_envelope(again, 409, "AWARD_NOT_CANCELLABLE")
    assert event_count(db) == before


def test_an_expired_award_is_not_cancellable(client, clock):
    player_id, promo_id = register(client), define(client)
    award_id = client.post("/api/v1/awards", json=award_json(player_id, promo_id), headers=ADMIN).json["award_id"]
    clock.advance(days=7, seconds=1)
    assert client.get(f"/api/v1/awards/{award_id}", headers=ADMIN).json["status"] == "expired"
    assert_envelope(client.post(f"/api/v1/awards/{award_id}/cancel", json={"reason": "x"}, headers=ADMIN), 409, "AWARD_NOT_CANCELLABLE")


def test_a_players_awards_page_with_a_cursor(client, clock):
    player_id, promo_id = register(client), define(client)
    created = []
    for _ in range(3):
        created.append(client.post("/api/v1/awards", json=award_json(player_id, promo_id), headers=ADMIN).json["award_id"])
        clock.advance(seconds=1)
    first = client.get(f"/api/v1/players/{player_id}/awards?limit=2", headers=ADMIN).json
    second = client.get(f"/api/v1/players/{player_id}/awards?limit=2&after={first['next_cursor']}", headers=ADMIN).json
    assert [a["award_id"] for a in first["data"] + second["data"]] == created[::-1]
    assert (first["has_more"], second["has_more"], second["next_cursor"]) == (True, False, None)


def test_a_batch_item_with_an_impossible_date_gets_its_own_error(client):
    player_id, promo_id = register(client), define(client)
    items = [award_json(player_id, promo_id, expires_at="9999-12-31T23:59:59-01:00"), award_json(player_id, promo_id)]
    results = client.post("/api/v1/awards/batch", json={"awards": items}, headers=ADMIN).json["results"]
    assert [r["status"] for r in results] == [400, 201]
    assert results[0]["error"]["field"] == "expires_at"


def test_a_key_unknown_to_the_store_and_a_wrong_cursor_are_named(client):
    player_id = register(client)
    assert_envelope(client.get(f"/api/v1/players/{player_id}/awards?page=2", headers=ADMIN), 400, "VALIDATION_ERROR", "page")
    assert_envelope(client.get(f"/api/v1/awards/{unique('x')}", headers=ADMIN), 404, "NOT_FOUND")
    assert_envelope(client.get("/api/v1/awards/8b0c6a3e-3f44-4a51-9b9e-1d2c3b4a5f60", headers=ADMIN), 404, "AWARD_NOT_FOUND")
    assert_envelope(client.get(f"/api/v1/players/{player_id}/awards?after=zzz", headers=ADMIN), 400, "VALIDATION_ERROR", "after")
