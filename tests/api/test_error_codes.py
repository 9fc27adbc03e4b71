"""Every error code of the award service, produced by a real request, and nothing recorded for any of them."""

from __future__ import annotations

import json
from datetime import date

import pytest

from tests.api.helpers import assert_envelope, define, register
from tests.support import ADMIN, T0, award_json, event_count, terms_json, unique

MARKETING = {"Authorization": "Bearer test-marketing-key"}
FINANCE = {"Authorization": "Bearer test-finance-key"}


def post_award(client, body, headers=ADMIN):
    return client.post("/api/v1/awards", json=body, headers=headers)


def test_expired_promo(client):
    player_id, promo_id = register(client), define(client, ends_at="2026-11-18T09:00:00Z", starts_at="2026-11-01T00:00:00Z")
    assert_envelope(post_award(client, award_json(player_id, promo_id)), 422, "EXPIRED_PROMO", "promo_id")


def test_region_blocked(client):
    player_id, promo_id = register(client, region="CA-QC"), define(client, allowed_regions=["CA-ON"])
    assert_envelope(post_award(client, award_json(player_id, promo_id)), 403, "REGION_BLOCKED", "player_id")


def test_ineligible_under_age(client):
    eighteen = date(T0.year - 18, 1, 1).isoformat()
    player_id, promo_id = register(client, region="CA-BC", birth_date=eighteen), define(client)
    assert_envelope(post_award(client, award_json(player_id, promo_id)), 403, "INELIGIBLE", "player_id")


def test_ineligible_game_and_spins(client):
    player_id, promo_id = register(client), define(client, max_spins_per_award=10)
    assert_envelope(post_award(client, award_json(player_id, promo_id, game_code="other-game")), 403, "INELIGIBLE", "game_code")
    assert_envelope(post_award(client, award_json(player_id, promo_id, award_value=11)), 403, "INELIGIBLE", "award_value")


def test_player_self_excluded(client):
    player_id, promo_id = register(client), define(client)
    award_id = post_award(client, award_json(player_id, promo_id)).json["award_id"]
    response = client.post(f"/api/v1/players/{player_id}/self-exclusion", json={"period": "6m"}, headers=ADMIN)
    assert response.status_code == 200
    assert response.json["awards_cancelled"] == [award_id]
    assert response.json["self_excluded_until"] == "2027-05-18T10:00:00.000Z"
    assert client.get(f"/api/v1/awards/{award_id}", headers=ADMIN).json["status"] == "cancelled"
    assert_envelope(post_award(client, award_json(player_id, promo_id)), 403, "PLAYER_SELF_EXCLUDED", "player_id")


def test_rate_limit_carries_the_wait_until_the_window_ends(client):
    player_id, promo_id = register(client), define(client, per_player_daily_limit=5)
    assert post_award(client, award_json(player_id, promo_id, award_value=5)).status_code == 201
    response = post_award(client, award_json(player_id, promo_id, award_value=1))
    error = assert_envelope(response, 429, "RATE_LIMIT")
    assert error["retryable"] is True
    assert error["retryAfterMs"] == 14 * 3600 * 1000
    assert response.headers["Retry-After"] == str(14 * 3600)


def test_budget_exhausted(client):
    player_id, promo_id = register(client), define(client, budget_spins=5)
    assert post_award(client, award_json(player_id, promo_id, award_value=5)).status_code == 201
    assert_envelope(post_award(client, award_json(player_id, promo_id, award_value=1)), 409, "BUDGET_EXHAUSTED")


def test_unknown_player_promotion_and_award(client):
    player_id, promo_id = register(client), define(client)
    assert_envelope(post_award(client, award_json("nobody", promo_id)), 404, "PLAYER_NOT_FOUND", "player_id")
    assert_envelope(post_award(client, award_json(player_id, "no-promo")), 404, "PROMO_NOT_FOUND", "promo_id")
    assert_envelope(client.get("/api/v1/players/nobody", headers=ADMIN), 404, "PLAYER_NOT_FOUND")
    assert_envelope(client.get("/api/v1/promotions/nothing", headers=ADMIN), 404, "PROMO_NOT_FOUND")
    missing = "/api/v1/awards/0f0e0d0c-0b0a-4909-8807-060504030201/cancel"
    assert_envelope(client.post(missing, json={"reason": "x"}, headers=ADMIN), 404, "AWARD_NOT_FOUND")


def test_unauthorized_and_forbidden(client):
    player_id, promo_id = register(client), define(client)
    assert_envelope(post_award(client, award_json(player_id, promo_id), headers={}), 401, "UNAUTHORIZED")
    assert_envelope(post_award(client, award_json(player_id, promo_id), headers={"Authorization": "Bearer nope"}), 401, "UNAUTHORIZED")
    assert_envelope(post_award(client, award_json(player_id, promo_id), headers={"Authorization": "Basic abc"}), 401, "UNAUTHORIZED")
    assert_envelope(post_award(client, award_json(player_id, promo_id), headers=FINANCE), 403, "FORBIDDEN")
    assert_envelope(client.put(f"/api/v1/promotions/{promo_id}", json=terms_json(), headers=MARKETING), 403, "FORBIDDEN")
    assert post_award(client, award_json(player_id, promo_id), headers=MARKETING).status_code == 201


def test_not_found_and_method_not_allowed_are_enveloped(client):
    assert_envelope(client.get("/api/v1/no-such-thing", headers=ADMIN), 404, "NOT_FOUND")
    assert_envelope(client.get("/", headers=ADMIN), 404, "NOT_FOUND")
    assert_envelope(client.delete("/api/v1/awards", headers=ADMIN), 405, "METHOD_NOT_ALLOWED")
    assert_envelope(client.get("/api/v1/awards", headers=ADMIN), 405, "METHOD_NOT_ALLOWED")


def bad_award_bodies(player_id: str, promo_id: str):
    good = award_json(player_id, promo_id)
    yield "award_value zero", {**good, "award_value": 0}, "VALIDATION_ERROR", "award_value"
    yield "award_value negative", {**good, "award_value": -5}, "VALIDATION_ERROR", "award_value"
    yield "award_value a float", {**good, "award_value": 5.0}, "VALIDATION_ERROR", "award_value"
    yield "award_value a string", {**good, "award_value": "5"}, "VALIDATION_ERROR", "award_value"
    yield "award_value a boolean", {**good, "award_value": True}, "VALIDATION_ERROR", "award_value"
    yield "award_value huge", {**good, "award_value": 10**30}, "VALIDATION_ERROR", "award_value"
    yield "unknown field", {**good, "bonus": 1}, "VALIDATION_ERROR", "bonus"
    yield "missing player", {k: v for k, v in good.items() if k != "player_id"}, "MISSING_FIELD", "player_id"
    yield "missing key", {k: v for k, v in good.items() if k != "idempotency_key"}, "MISSING_FIELD", "idempotency_key"
    yield "wrong award type", {**good, "award_type": "CASH"}, "VALIDATION_ERROR", "award_type"
    yield "player id injection", {**good, "player_id": "1'; DROP TABLE spinledger_events;--"}, "VALIDATION_ERROR", "player_id"
    yield "player id html", {**good, "player_id": "<script>alert(1)</script>"}, "VALIDATION_ERROR", "player_id"
    yield "player id unicode", {**good, "player_id": "joueur-é"}, "VALIDATION_ERROR", "player_id"
    yield "expires without offset", {**good, "expires_at": "2026-11-20T10:00:00"}, "VALIDATION_ERROR", "expires_at"
    yield "expires in the past", {**good, "expires_at": "2026-11-17T10:00:00Z"}, "VALIDATION_ERROR", "expires_at"
    yield "expires garbage", {**good, "expires_at": "tomorrow"}, "VALIDATION_ERROR", "expires_at"
    yield "key with spaces", {**good, "idempotency_key": "a key"}, "VALIDATION_ERROR", "idempotency_key"
    yield "key too long", {**good, "idempotency_key": "k" * 256}, "VALIDATION_ERROR", "idempotency_key"
    yield "request id with control", {**good, "request_id": "a\u0000b"}, "VALIDATION_ERROR", "request_id"
    yield "body is a list", [good], "VALIDATION_ERROR", None


def test_every_bad_award_body_is_refused_naming_the_field_and_records_nothing(client, db):
    player_id, promo_id = register(client), define(client)
    before = event_count(db)
    for label, body, code, field in bad_award_bodies(player_id, promo_id):
        response = client.post("/api/v1/awards", data=json.dumps(body), headers={**ADMIN, "Content-Type": "application/json"})
        assert response.status_code == 400, label
        assert_envelope(response, 400, code, field)
    assert event_count(db) == before


@pytest.mark.parametrize(
    ("raw", "content_type", "status", "code"),
    [
        (b"{not json", "application/json", 400, "VALIDATION_ERROR"),
        (b'{"award_value": NaN}', "application/json", 400, "VALIDATION_ERROR"),
        (b'{"award_value": Infinity}', "application/json", 400, "VALIDATION_ERROR"),
        (b"[" * 100_000 + b"]" * 100_000, "application/json", 413, "PAYLOAD_TOO_LARGE"),
        (b"[" * 30_000 + b"]" * 30_000, "application/json", 400, "VALIDATION_ERROR"),
        (b"\xff\xfe\x00", "application/json", 400, "VALIDATION_ERROR"),
        (b"player_id=1", "application/x-www-form-urlencoded", 415, "UNSUPPORTED_MEDIA_TYPE"),
        (b'{"a": 1}', "text/plain", 415, "UNSUPPORTED_MEDIA_TYPE"),
        (b"x" * (1024 * 1024), "application/json", 413, "PAYLOAD_TOO_LARGE"),
    ],
)
def test_malformed_oversized_and_mistyped_bodies_get_an_envelope_and_record_nothing(client, db, raw, content_type, status, code):
    before = event_count(db)
    response = client.post("/api/v1/awards", data=raw, headers={**ADMIN, "Content-Type": content_type})
    assert_envelope(response, status, code)
    assert event_count(db) == before
    assert client.get("/healthz").status_code == 200


def test_a_one_megabyte_batch_is_payload_too_large(client, db):
    before = event_count(db)
    body = json.dumps({"awards": [{"idempotency_key": "k" * 1000}] * 1100}).encode()
    assert len(body) > 1_000_000
    response = client.post("/api/v1/awards/batch", data=body, headers={**ADMIN, "Content-Type": "application/json"})
    assert_envelope(response, 413, "PAYLOAD_TOO_LARGE")
    assert event_count(db) == before


def test_a_failed_request_can_be_retried_with_the_same_key(client):
    player_id, promo_id = register(client), define(client)
    body = award_json(player_id, promo_id, award_value=5)
    assert post_award(client, {**body, "promo_id": "missing-promo"}).status_code == 404
    assert post_award(client, body).status_code == 201


def test_an_error_echoes_the_callers_request_id(client):
    response = client.post("/api/v1/awards", json={}, headers={**ADMIN, "X-Request-Id": "trace-123"})
    assert response.json["error"]["requestId"] == "trace-123"
    assert response.headers["X-Request-Id"] == "trace-123"


def test_a_duplicate_idempotency_key_across_promotions_is_still_one_award(client, db):
    player_id, promo_a, promo_b = register(client), define(client), define(client)
    key = unique("key")
    assert post_award(client, award_json(player_id, promo_a, key=key)).status_code == 201
    before = event_count(db)
    assert_envelope(post_award(client, award_json(player_id, promo_b, key=key)), 422, "IDEMPOTENCY_KEY_REUSED")
    assert event_count(db) == before
