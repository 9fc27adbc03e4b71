"""Every error code of the award service, produced by a real request; a refused request records nothing."""

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


def refused(db, send, status, code, field=None):
    """Sends the request and checks its envelope, and that it recorded nothing."""
    before = event_count(db)
    error = assert_envelope(send(), status, code, field)
    assert event_count(db) == before
    return error


def test_an_award_after_the_promotion_ended_is_expired_promo(client, db):
    player_id, promo_id = register(client), define(client, ends_at="2026-11-18T09:00:00Z", starts_at="2026-11-01T00:00:00Z")
    refused(db, lambda: post_award(client, award_json(player_id, promo_id)), 422, "EXPIRED_PROMO", "promo_id")


def test_an_award_before_the_promotion_starts_is_expired_promo(client, db):
    player_id, promo_id = register(client), define(client, starts_at="2026-11-19T00:00:00Z")
    error = refused(db, lambda: post_award(client, award_json(player_id, promo_id)), 422, "EXPIRED_PROMO", "promo_id")
    assert "not started" in error["message"]


def test_a_player_outside_the_allowed_regions_is_region_blocked(client, db):
    player_id, promo_id = register(client, region="CA-QC"), define(client, allowed_regions=["CA-ON"])
    refused(db, lambda: post_award(client, award_json(player_id, promo_id)), 403, "REGION_BLOCKED", "player_id")


def test_an_eighteen_year_old_in_british_columbia_is_ineligible(client, db):
    eighteen = date(T0.year - 18, 1, 1).isoformat()
    player_id, promo_id = register(client, region="CA-BC", birth_date=eighteen), define(client)
    refused(db, lambda: post_award(client, award_json(player_id, promo_id)), 403, "INELIGIBLE", "player_id")


def test_a_game_outside_the_promotion_or_too_many_spins_is_ineligible(client, db):
    player_id, promo_id = register(client), define(client, max_spins_per_award=10)
    refused(db, lambda: post_award(client, award_json(player_id, promo_id, game_code="other-game")), 403, "INELIGIBLE", "game_code")
    refused(db, lambda: post_award(client, award_json(player_id, promo_id, award_value=11)), 403, "INELIGIBLE", "award_value")


def test_a_player_in_another_currency_is_ineligible(client, db):
    player_id, promo_id = register(client, currency="EUR"), define(client)
    refused(db, lambda: post_award(client, award_json(player_id, promo_id)), 403, "INELIGIBLE", "player_id")


def test_self_exclusion_cancels_outstanding_awards_and_blocks_new_ones(client, db):
    player_id, promo_id = register(client), define(client)
    award_id = post_award(client, award_json(player_id, promo_id)).json["award_id"]
    response = client.post(f"/api/v1/players/{player_id}/self-exclusion", json={"period": "6m"}, headers=ADMIN)
    assert response.status_code == 200
    assert response.json["awards_cancelled"] == [award_id]
    assert response.json["self_excluded_until"] == "2027-05-18T10:00:00.000Z"
    assert client.get(f"/api/v1/awards/{award_id}", headers=ADMIN).json["status"] == "cancelled"
    refused(db, lambda: post_award(client, award_json(player_id, promo_id)), 403, "PLAYER_SELF_EXCLUDED", "player_id")


def test_a_full_daily_cap_is_rate_limited_until_midnight_utc(client, db):
    player_id, promo_id = register(client), define(client, per_player_daily_limit=5)
    assert post_award(client, award_json(player_id, promo_id, award_value=5)).status_code == 201
    before = event_count(db)
    response = post_award(client, award_json(player_id, promo_id, award_value=1))
    error = assert_envelope(response, 429, "RATE_LIMIT")
    assert event_count(db) == before
    assert error["retryable"] is True
    assert error["retryAfterMs"] == 14 * 3600 * 1000
    assert response.headers["Retry-After"] == str(14 * 3600)


def test_a_full_weekly_cap_is_rate_limited_until_monday_midnight_utc(client, db, clock):
    player_id, promo_id = register(client), define(client, per_player_daily_limit=5, per_player_weekly_limit=8)
    assert post_award(client, award_json(player_id, promo_id, award_value=5)).status_code == 201
    clock.advance(days=1)
    assert post_award(client, award_json(player_id, promo_id, award_value=3)).status_code == 201
    clock.advance(days=1)  # Friday 10:00 UTC: the day is fresh, the week is full
    error = refused(db, lambda: post_award(client, award_json(player_id, promo_id, award_value=1)), 429, "RATE_LIMIT")
    assert error["retryAfterMs"] == (2 * 24 + 14) * 3600 * 1000


def test_an_award_the_budget_cannot_cover_is_budget_exhausted(client, db):
    player_id, promo_id = register(client), define(client, budget_spins=5)
    assert post_award(client, award_json(player_id, promo_id, award_value=5)).status_code == 201
    refused(db, lambda: post_award(client, award_json(player_id, promo_id, award_value=1)), 409, "BUDGET_EXHAUSTED")


def test_an_expiry_past_the_time_to_live_is_clamped_to_it(client):
    player_id, promo_id = register(client), define(client, award_ttl_seconds=3600)
    body = award_json(player_id, promo_id, expires_at="2026-12-01T00:00:00Z")
    assert post_award(client, body).json["expires_at"] == "2026-11-18T11:00:00.000Z"


def test_unknown_players_promotions_and_awards_are_named(client, db):
    player_id, promo_id = register(client), define(client)
    refused(db, lambda: post_award(client, award_json("nobody", promo_id)), 404, "PLAYER_NOT_FOUND", "player_id")
    refused(db, lambda: post_award(client, award_json(player_id, "no-promo")), 404, "PROMO_NOT_FOUND", "promo_id")
    assert_envelope(client.get("/api/v1/players/nobody", headers=ADMIN), 404, "PLAYER_NOT_FOUND")
    assert_envelope(client.get("/api/v1/promotions/nothing", headers=ADMIN), 404, "PROMO_NOT_FOUND")
    missing = "/api/v1/awards/0f0e0d0c-0b0a-4909-8807-060504030201/cancel"
    refused(db, lambda: client.post(missing, json={"reason": "x"}, headers=ADMIN), 404, "AWARD_NOT_FOUND")


def test_a_missing_or_unknown_key_is_unauthorized_and_a_wrong_scope_forbidden(client, db):
    player_id, promo_id = register(client), define(client)
    body = award_json(player_id, promo_id)
    refused(db, lambda: post_award(client, body, headers={}), 401, "UNAUTHORIZED")
    refused(db, lambda: post_award(client, body, headers={"Authorization": "Bearer nope"}), 401, "UNAUTHORIZED")
    refused(db, lambda: post_award(client, body, headers={"Authorization": "Basic abc"}), 401, "UNAUTHORIZED")
    refused(db, lambda: post_award(client, body, headers=FINANCE), 403, "FORBIDDEN")
    refused(db, lambda: client.put(f"/api/v1/promotions/{promo_id}", json=terms_json(), headers=MARKETING), 403, "FORBIDDEN")
    assert post_award(client, body, headers=MARKETING).status_code == 201


def test_an_unauthenticated_body_is_not_even_parsed(client):
    response = client.post("/api/v1/awards", data=b"{not json", headers={"Content-Type": "application/json"})
    assert_envelope(response, 401, "UNAUTHORIZED")


def test_not_found_and_method_not_allowed_are_enveloped(client):
    assert_envelope(client.get("/api/v1/no-such-thing", headers=ADMIN), 404, "NOT_FOUND")
    assert_envelope(client.get("/", headers=ADMIN), 404, "NOT_FOUND")
    assert_envelope(client.delete("/api/v1/awards", headers=ADMIN), 405, "METHOD_NOT_ALLOWED")
    assert_envelope(client.patch("/api/v1/awards", headers=ADMIN), 405, "METHOD_NOT_ALLOWED")
    # GET /api/v1/awards looks an award up by its key (issue 21): without one, the field is named.
    assert_envelope(client.get("/api/v1/awards", headers=ADMIN), 400, "MISSING_FIELD", "idempotency_key")


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
    yield "expires out of range", {**good, "expires_at": "9999-12-31T23:59:59-01:00"}, "VALIDATION_ERROR", "expires_at"
    yield "issued out of range", {**good, "issued_at": "0001-01-01T00:00:00+01:00"}, "VALIDATION_ERROR", "issued_at"
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
