"""The game API through the Flask client on PostgreSQL: seed 001's protocol, its shapes and its codes."""

from __future__ import annotations

import uuid

import pytest

from tests.api.helpers import assert_envelope, define, funded_session, register, spin
from tests.fixtures.seed001 import (
    BASE_SPIN_EXAMPLE,
    BLOCK_COMPLETE_EXAMPLE,
    CONFIG_EXAMPLE_KEYS,
    ERROR_CATALOGUE,
    ERROR_EXAMPLE,
    FREE_SPIN_EXAMPLE,
    STATE_EXAMPLE,
    same_shape,
    validator,
)
from tests.support import ADMIN, NO_SCATTER, THREE_SCATTERS, ScriptedStops, award_json


@pytest.fixture
def random_bytes(request):
    return ScriptedStops(seed=request.node.nodeid)


def assert_seed_spin(body, example=BASE_SPIN_EXAMPLE):
    errors = sorted(e.message for e in validator("SpinResponse").iter_errors(body))
    assert errors == []
    assert same_shape(example, body) == []


def assert_game_error(response, status, code):
    error = assert_envelope(response, status, code)
    assert list(validator("ErrorResponse").iter_errors(response.json)) == []
    expected_status, retryable, retry_after = ERROR_CATALOGUE[code]
    assert (status, error["retryable"], error["retryAfterMs"]) == (expected_status, retryable, retry_after)
    return error


def test_a_cash_spin_answers_in_seed_001s_shape_with_exact_balance_arithmetic(client):
    _, session = funded_session(client)
    response = spin(client, session)
    assert response.status_code == 200, response.json
    body = response.json
    assert_seed_spin(body)
    assert uuid.UUID(body["spinId"]).version == 7 and body["roundId"] == body["spinId"]
    assert body["timestamp"].endswith("Z") and body["funding"] == "cash" and body["awardId"] is None
    before, after = (float(body["balance"][k]) for k in ("before", "after"))  # display only: compared as strings below
    assert body["balance"]["before"] == "100.00"
    from decimal import Decimal

    total = sum((Decimal(w["winAmount"]) for w in body["wins"]), Decimal("0.00"))
    assert str(total) == body["totalWin"]
    assert Decimal(body["balance"]["after"]) == Decimal("100.00") - Decimal("1.00") + total
    assert before >= 0 and after >= 0


def test_the_same_request_id_returns_the_identical_spin_and_settles_nothing_new(client, clock):
    player_id, session = funded_session(client)
    first = spin(client, session, request_id="client-req-1")
    clock.advance(days=30)  # a later session of the same player
    token = client.post("/api/v1/sessions", json={"player_id": player_id}, headers=ADMIN).json["token"]
    session = {"Authorization": f"Bearer {token}"}
    again = spin(client, session, request_id="client-req-1")
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_data() == first.get_data()
    state = client.get("/api/v1/game/state", headers=session).json
    assert state["balance"] == first.json["balance"]["after"]


def test_the_config_carries_the_game_the_session_and_the_players_awards(client):
    player_id, session = funded_session(client, "25.00")
    promo_id = define(client)
    client.post("/api/v1/awards", json=award_json(player_id, promo_id, award_value=7), headers=ADMIN)
    token = session["Authorization"].removeprefix("Bearer ")
    response = client.get(f"/api/v1/game/config?token={token}")
    assert response.status_code == 200, response.json
    config = response.json
    assert set(config) >= CONFIG_EXAMPLE_KEYS
    assert config["gameId"] == "crystal-forge-v1" and config["grid"] == {"columns": 5, "rows": 3, "reelSizes": [32] * 5}
    assert len(config["paylines"]) == 20 and config["paylines"][:5] == [[1] * 5, [0] * 5, [2] * 5, [0, 1, 2, 1, 0], [2, 1, 0, 1, 2]]
    assert config["betConfig"]["minBet"] == "0.20" and config["betConfig"]["maxBet"] == "100.00"
    assert config["bonusConfig"]["freeSpinsByCount"] == {"3": 10, "4": 15, "5": 20}
    assert config["rtp"] == "96.00"
    assert config["session"]["balance"] == "25.00" and config["session"]["resumeState"] is None
    (award,) = config["session"]["freeSpinAwards"]
    assert award["spinsRemaining"] == 7 and award["betAmount"] == "0.20"
    assert client.get("/api/v1/game/config", headers=session).status_code == 200


def test_a_bonus_block_plays_through_the_bonus_endpoint_to_bonus_complete(client, random_bytes):
    player_id, session = funded_session(client)
    random_bytes.plan(THREE_SCATTERS)
    trigger = spin(client, session).json
    assert trigger["bonusTriggered"] and trigger["state"] == "bonus"
    block_id = trigger["bonusData"]["blockId"]
    assert_game_error(spin(client, session), 409, "BONUS_ROUND_ACTIVE")
    random_bytes.plan(THREE_SCATTERS, *[NO_SCATTER] * 19)
    config = client.get("/api/v1/game/config", headers=session).json
    assert config["session"]["resumeState"]["bonusState"]["blockId"] == block_id
    state = client.get("/api/v1/game/state", headers=session).json
    assert same_shape(STATE_EXAMPLE, state) == [] and state["state"] == "bonus"
    player = client.get(f"/api/v1/players/{player_id}", headers=ADMIN).json
    assert player["bonus_block"]["block_id"] == block_id and player["bonus_block"]["total_spins"] == 10
    spins = [spin(client, session, {"blockId": block_id}, path="/api/v1/game/bonus/spin") for _ in range(20)]
    assert [r.status_code for r in spins] == [200] * 20, [r.json for r in spins if r.status_code != 200][:1]
    bodies = [r.json for r in spins]
    assert_seed_spin(bodies[0], FREE_SPIN_EXAMPLE)
    assert bodies[0]["freeSpins"]["retriggerOccurred"] and bodies[0]["freeSpins"]["totalSpins"] == 20
    assert_seed_spin(bodies[-1], BLOCK_COMPLETE_EXAMPLE)
    assert bodies[-1]["state"] == "bonus_complete" and bodies[-1]["blockSummary"]["totalSpinsPlayed"] == 20
    assert_game_error(spin(client, session, {"blockId": block_id}, path="/api/v1/game/bonus/spin"), 409, "NO_BONUS_ROUND_ACTIVE")
    assert client.get(f"/api/v1/players/{player_id}", headers=ADMIN).json["bonus_block"] is None


def test_a_lost_response_comes_back_from_state_and_pending_spin(client):
    _, session = funded_session(client)
    settled = spin(client, session, request_id="lost-1").json
    state = client.get("/api/v1/game/state", headers=session).json
    assert state["pendingSpin"]["spinId"] == settled["spinId"] and state["pendingSpin"]["requestId"] == "lost-1"
    pending = client.get("/api/v1/game/state/pending-spin", headers=session).json["pendingSpin"]
    assert pending == settled


def test_an_awards_free_spin_takes_no_cash_and_says_so(client):
    player_id, session = funded_session(client, "10.00")
    promo_id = define(client)
    award_id = client.post("/api/v1/awards", json=award_json(player_id, promo_id, award_value=1), headers=ADMIN).json["award_id"]
    body = spin(client, session, {"awardId": award_id}).json
    assert body["funding"] == "award" and body["awardId"] == award_id and body["betAmount"] == "0.20"
    assert body["balance"]["before"] == "10.00"
    status = client.get(f"/api/v1/awards/{award_id}", headers=ADMIN).json
    assert status["status"] == "completed" and status["spins_used"] == 1 and status["spins_remaining"] == 0
    assert_envelope(spin(client, session, {"awardId": award_id}), 409, "AWARD_NOT_ACTIVE", field="awardId")


def test_an_expired_awards_spin_is_an_error_the_client_can_show(client, clock):
    player_id, session = funded_session(client, "10.00")
    promo_id = define(client, award_ttl_seconds=600)
    award_id = client.post("/api/v1/awards", json=award_json(player_id, promo_id), headers=ADMIN).json["award_id"]
    clock.advance(minutes=11)
    response = spin(client, session, {"awardId": award_id})
    error = assert_envelope(response, 409, "AWARD_EXPIRED", field="awardId")
    assert "expired" in error["message"] and not error["retryable"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"betAmount": 1.0, "currency": "CAD"}, 400, "INVALID_BET_FORMAT"),
        ({"betAmount": "1.1", "currency": "CAD"}, 400, "INVALID_BET_FORMAT"),
        ({"betAmount": "abc", "currency": "CAD"}, 400, "INVALID_BET_FORMAT"),
        ({"betAmount": "0.10", "currency": "CAD"}, 400, "BET_BELOW_MINIMUM"),
        ({"betAmount": "100.20", "currency": "CAD"}, 400, "BET_ABOVE_MAXIMUM"),
        ({"betAmount": "0.30", "currency": "CAD"}, 400, "INVALID_COIN_VALUE"),
        ({"betAmount": "1.00", "currency": "EUR"}, 400, "CURRENCY_MISMATCH"),
        ({"currency": "CAD"}, 400, "MISSING_FIELD"),
        ({"betAmount": "100.00", "currency": "CAD"}, 402, "INSUFFICIENT_FUNDS"),
    ],
)
def test_a_bad_spin_request_gets_its_catalogue_code_and_settles_nothing(client, body, status, code):
    _, session = funded_session(client, "50.00")
    assert_game_error(spin(client, session, body), status, code)
    assert client.get("/api/v1/game/state", headers=session).json["pendingSpin"] is None


def test_a_spin_without_its_request_id_is_missing_a_field(client):
    _, session = funded_session(client)
    response = client.post("/api/v1/game/spin", json={"betAmount": "1.00", "currency": "CAD"}, headers=session)
    assert_envelope(response, 400, "MISSING_FIELD", field="X-Request-Id")


def test_tokens_missing_unknown_and_expired_get_their_codes(client, clock):
    _, session = funded_session(client)
    assert_game_error(client.get("/api/v1/game/state"), 401, "MISSING_TOKEN")
    assert_game_error(client.get("/api/v1/game/state", headers={"Authorization": "Bearer not-a-token"}), 401, "INVALID_TOKEN")
    clock.advance(seconds=3601)
    assert_game_error(spin(client, session), 401, "SESSION_EXPIRED")


def test_an_api_key_is_not_a_session_token(client):
    assert_game_error(client.get("/api/v1/game/state", headers=ADMIN), 401, "INVALID_TOKEN")


def test_self_exclusion_stops_play_within_a_session(client):
    player_id, session = funded_session(client)
    client.post(f"/api/v1/players/{player_id}/self-exclusion", json={"period": "6m"}, headers=ADMIN)
    assert_game_error(spin(client, session), 403, "PLAYER_SELF_EXCLUDED")
    assert_envelope(client.post("/api/v1/sessions", json={"player_id": player_id}, headers=ADMIN), 403, "PLAYER_SELF_EXCLUDED")


def test_a_player_who_moves_outside_the_games_jurisdictions_is_blocked(client):
    player_id, session = funded_session(client)
    client.put(f"/api/v1/players/{player_id}", json={"region": "US-NJ", "birth_date": "1990-04-01", "currency": "CAD"}, headers=ADMIN)
    assert_game_error(spin(client, session), 403, "JURISDICTION_BLOCKED")


def test_bonus_spins_for_no_block_or_another_block_are_refused(client, random_bytes):
    _, session = funded_session(client)
    assert_game_error(spin(client, session, {"blockId": "x"}, path="/api/v1/game/bonus/spin"), 409, "NO_BONUS_ROUND_ACTIVE")
    random_bytes.plan(THREE_SCATTERS)
    spin(client, session)
    assert_game_error(spin(client, session, {"blockId": "another"}, path="/api/v1/game/bonus/spin"), 409, "BLOCK_ID_MISMATCH")


def test_no_session_for_an_unknown_or_under_age_player(client, clock):
    assert_envelope(client.post("/api/v1/sessions", json={"player_id": "nobody"}, headers=ADMIN), 404, "PLAYER_NOT_FOUND")
    young = register(client, region="CA-BC", birth_date=f"{clock.now().year - 18}-01-01")
    assert_envelope(client.post("/api/v1/sessions", json={"player_id": young}, headers=ADMIN), 403, "INELIGIBLE")


def test_the_seeds_own_examples_pass_the_checks_our_responses_pass():
    for example in (BASE_SPIN_EXAMPLE, FREE_SPIN_EXAMPLE, BLOCK_COMPLETE_EXAMPLE):
        assert list(validator("SpinResponse").iter_errors(example)) == []
    assert list(validator("ErrorResponse").iter_errors(ERROR_EXAMPLE)) == []
    assert same_shape(BASE_SPIN_EXAMPLE, {**BASE_SPIN_EXAMPLE, "totalWin": 2.5}) == ["$.totalWin: expected str, got float"]
