"""Gold coins through the Flask client: GOLD_COINS promotions and awards, the coin balance, a session in GC playing
Crystal Forge in coins, and coins kept apart from money in the reconciliation and the liability report."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest

from tests.api.helpers import assert_envelope, define, register
from tests.api.test_operations_api import caught_up
from tests.support import ADMIN, NO_SCATTER, THREE_SCATTERS, ScriptedStops, event_count, terms_json, unique

FINANCE = {"Authorization": "Bearer test-finance-key"}
COMPLIANCE = {"Authorization": "Bearer test-compliance-key"}


@pytest.fixture
def random_bytes(request: pytest.FixtureRequest) -> ScriptedStops:
    return ScriptedStops(seed=request.node.nodeid)


def coin_terms(**overrides: Any) -> dict[str, Any]:
    body = terms_json(award_type="GOLD_COINS", max_coins_per_award="1000.00", budget_coins="5000.00")
    for spins_only in ("max_spins_per_award", "bet_per_spin", "currency", "budget_spins", "award_ttl_seconds"):
        del body[spins_only]
    return {**body, **overrides}


def define_coins(client, **overrides: Any) -> str:
    promo_id = unique("coins")
    response = client.put(f"/api/v1/promotions/{promo_id}", json=coin_terms(**overrides), headers=ADMIN)
    assert response.status_code == 201, response.json
    return promo_id


def coin_award(player_id: str, promo_id: str, value: Any = "500.00", **overrides: Any) -> dict[str, Any]:
    return {"player_id": player_id, "promo_id": promo_id, "award_type": "GOLD_COINS", "award_value": value,
            "game_code": "crystal-forge-v1", "idempotency_key": unique("coin-key"), **overrides}


def coin_session(client, player_id: str) -> dict[str, str]:
    response = client.post("/api/v1/sessions", json={"player_id": player_id, "currency": "GC"}, headers=ADMIN)
    assert response.status_code == 201, response.json
    assert response.json["currency"] == "GC"
    return {"Authorization": f"Bearer {response.json['token']}"}


def play(client, session, path: str = "/api/v1/game/spin", body: dict[str, Any] | None = None):
    return client.post(path, json={"betAmount": "1.00", "currency": "GC"} if body is None else body,
                       headers={**session, "X-Request-Id": str(uuid.uuid4())})


def test_a_gold_coins_promotion_takes_coin_terms_and_shows_no_spin_terms(client):
    promo_id = define_coins(client, per_player_daily_limit="1500.00", per_player_weekly_limit="3000.00")
    promo = client.get(f"/api/v1/promotions/{promo_id}", headers=ADMIN).json
    assert promo["award_type"] == "GOLD_COINS"
    assert (promo["max_coins_per_award"], promo["budget_coins"], promo["coins_reserved"], promo["budget_left"]) == (
        "1000.00", "5000.00", "0.00", "5000.00")
    assert (promo["per_player_daily_limit"], promo["per_player_weekly_limit"]) == ("1500.00", "3000.00")
    assert not {"bet_per_spin", "currency", "max_spins_per_award", "budget_spins", "spins_reserved"} & set(promo)


@pytest.mark.parametrize("overrides, field", [
    ({"bet_per_spin": "0.20"}, "bet_per_spin"),
    ({"currency": "CAD"}, "currency"),
    ({"max_spins_per_award": 10}, "max_spins_per_award"),
    ({"budget_coins": 5000.5}, "budget_coins"),
    ({"budget_coins": "-5.00"}, "budget_coins"),
    ({"max_coins_per_award": "0.00"}, "max_coins_per_award"),
    ({"max_coins_per_award": "10.001"}, "max_coins_per_award"),
    ({"per_player_daily_limit": 100}, "per_player_daily_limit"),
    ({"per_player_daily_limit": 1.5}, "per_player_daily_limit"),
])
def test_a_gold_coins_promotion_with_bad_or_foreign_terms_is_refused_naming_the_field(client, db, overrides, field):
    before = event_count(db)
    response = client.put(f"/api/v1/promotions/{unique('coins')}", json=coin_terms(**overrides), headers=ADMIN)
    assert_envelope(response, 400, response.json["error"]["code"], field)
    assert event_count(db) == before


def test_a_gold_coins_promotion_without_its_budget_is_refused(client):
    body = coin_terms()
    del body["budget_coins"]
    assert_envelope(client.put(f"/api/v1/promotions/{unique('coins')}", json=body, headers=ADMIN), 400, "MISSING_FIELD", "budget_coins")


def test_an_award_of_coins_credits_the_coin_balance_and_no_cash(client):
    player_id, promo_id = register(client), define_coins(client)
    body = coin_award(player_id, promo_id, "500.00")
    created = client.post("/api/v1/awards", json=body, headers=ADMIN)
    assert created.status_code == 201, created.json
    assert set(created.json) == {"status", "event_id", "award_id", "award_type", "awarded_coins", "server_time"}
    assert (created.json["award_type"], created.json["awarded_coins"]) == ("GOLD_COINS", "500.00")
    replayed = client.post("/api/v1/awards", json=body, headers=ADMIN)
    assert replayed.status_code == 200 and replayed.json == created.json
    player = client.get(f"/api/v1/players/{player_id}", headers=ADMIN).json
    assert (player["coin_balance"], player["balance"], player["awards"]) == ("500.00", "0.00", [])
    award = client.get(f"/api/v1/awards/{created.json['award_id']}", headers=ADMIN).json
    assert (award["award_type"], award["coins_awarded"], award["status"], award["currency"], award["expires_at"]) == (
        "GOLD_COINS", "500.00", "completed", "GC", None)
    promo = client.get(f"/api/v1/promotions/{promo_id}", headers=ADMIN).json
    assert (promo["coins_reserved"], promo["budget_left"]) == ("500.00", "4500.00")
    listed = client.get(f"/api/v1/players/{player_id}/awards", headers=ADMIN).json["data"]
    assert [a["award_id"] for a in listed] == [created.json["award_id"]]


@pytest.mark.parametrize("value, message", [
    (500.5, "decimal string"), (500, "decimal string of coins"), ("-5.00", "two decimals"), ("0.00", "greater than zero"),
    ("5.5", "two decimals"), ("1e3", "two decimals"),
])
def test_an_award_of_coins_as_a_float_negative_or_malformed_value_is_refused_and_records_nothing(client, db, value, message):
    player_id, promo_id = register(client), define_coins(client)
    before = event_count(db)
    error = assert_envelope(client.post("/api/v1/awards", json=coin_award(player_id, promo_id, value), headers=ADMIN),
                            400, "VALIDATION_ERROR", "award_value")
    assert message in error["message"]
    assert event_count(db) == before


def test_an_award_type_other_than_the_promotions_is_refused(client):
    player_id, coins, spins = register(client), define_coins(client), define(client)
    assert_envelope(client.post("/api/v1/awards", json=coin_award(player_id, coins, 5, award_type="FREE_SPINS"), headers=ADMIN),
                    400, "VALIDATION_ERROR", "award_type")
    assert_envelope(client.post("/api/v1/awards", json=coin_award(player_id, spins, "5.00"), headers=ADMIN),
                    400, "VALIDATION_ERROR", "award_type")


def test_coin_caps_and_budget_are_counted_in_coins(client):
    promo_id = define_coins(client, per_player_daily_limit="800.00", budget_coins="1200.00")
    first, second = register(client), register(client)
    assert client.post("/api/v1/awards", json=coin_award(first, promo_id, "600.00"), headers=ADMIN).status_code == 201
    error = assert_envelope(client.post("/api/v1/awards", json=coin_award(first, promo_id, "200.01"), headers=ADMIN), 429, "RATE_LIMIT")
    assert error["retryAfterMs"] > 0
    assert client.post("/api/v1/awards", json=coin_award(first, promo_id, "200.00"), headers=ADMIN).status_code == 201
    assert_envelope(client.post("/api/v1/awards", json=coin_award(second, promo_id, "400.01"), headers=ADMIN), 409, "BUDGET_EXHAUSTED")
    assert client.post("/api/v1/awards", json=coin_award(second, promo_id, "400.00"), headers=ADMIN).status_code == 201
    assert_envelope(client.post("/api/v1/awards", json=coin_award(second, promo_id, "1001.00"), headers=ADMIN), 403, "INELIGIBLE")


def test_a_coin_session_plays_crystal_forge_in_coins_through_a_bonus_block_and_moves_no_cash(app, client, random_bytes):
    player_id, promo_id = register(client), define_coins(client)
    client.post(f"/api/v1/players/{player_id}/deposits", json={"transaction_id": unique("tx"), "amount": "20.00", "currency": "CAD"},
                headers=ADMIN)
    assert client.post("/api/v1/awards", json=coin_award(player_id, promo_id, "500.00"), headers=ADMIN).status_code == 201
    session = coin_session(client, player_id)
    config = client.get("/api/v1/game/config", headers=session).json
    assert (config["session"]["balance"], config["session"]["currency"], config["betConfig"]["currency"]) == ("500.00", "GC", "GC")

    random_bytes.plan(THREE_SCATTERS, *[NO_SCATTER] * 40)
    spins = [play(client, session, body={"betAmount": "2.00", "currency": "GC"})]
    first = spins[0].json
    assert spins[0].status_code == 200, first
    assert first["currency"] == "GC" and first["bonusTriggered"] is True
    block_id = first["bonusData"]["blockId"]
    while spins[-1].json["state"] != "bonus_complete":
        spins.append(play(client, session, "/api/v1/game/bonus/spin", {"blockId": block_id}))
        assert spins[-1].status_code == 200, spins[-1].json
        assert spins[-1].json["currency"] == "GC"
    wins = sum(Decimal(s.json["totalWin"]) for s in spins)
    assert first["funding"] == "coins" and first["balance"]["before"] == "500.00"
    assert Decimal(spins[-1].json["balance"]["after"]) == Decimal("500.00") - Decimal("2.00") + wins

    player = client.get(f"/api/v1/players/{player_id}", headers=ADMIN).json
    assert Decimal(player["coin_balance"]) == Decimal("498.00") + wins
    assert player["balance"] == "20.00"  # no cash moved
    caught_up(app)
    history = client.get(f"/api/v1/events?player_id={player_id}&type=SpinSettled&limit=100", headers=COMPLIANCE).json["data"]
    fundings = [event["payload"]["spin"]["funding"] for event in history]
    assert sorted(fundings) == sorted(["coins"] + ["bonus"] * (len(spins) - 1))
    for played in (spins[0], spins[1], spins[-1]):  # the coin spin, and free spins of its coin block, replay exactly
        replay = client.get(f"/api/v1/spins/{played.json['spinId']}/replay", headers=COMPLIANCE)
        assert replay.status_code == 200 and replay.json["matches"] is True, replay.json


def test_a_coin_session_refuses_cash_currency_awards_and_bets_past_the_coin_balance(client):
    player_id, promo_id = register(client), define_coins(client)
    spins_promo = define(client)
    award = client.post("/api/v1/awards", json={"player_id": player_id, "promo_id": spins_promo, "award_type": "FREE_SPINS",
                                                "award_value": 3, "game_code": "crystal-forge-v1", "idempotency_key": unique("k")},
                        headers=ADMIN).json
    client.post("/api/v1/awards", json=coin_award(player_id, promo_id, "1.50"), headers=ADMIN)
    session = coin_session(client, player_id)
    assert_envelope(play(client, session, body={"betAmount": "1.00", "currency": "CAD"}), 400, "CURRENCY_MISMATCH", "currency")
    assert_envelope(play(client, session, body={"awardId": award["award_id"]}), 400, "VALIDATION_ERROR", "awardId")
    assert_envelope(play(client, session, body={"betAmount": "2.00", "currency": "GC"}), 402, "INSUFFICIENT_FUNDS")
    state = client.get("/api/v1/game/state", headers=session).json
    assert (state["balance"], state["currency"], state["freeSpinAwards"]) == ("1.50", "GC", [])


def test_a_session_in_a_currency_neither_the_players_nor_gc_is_refused(client):
    player_id = register(client)
    assert_envelope(client.post("/api/v1/sessions", json={"player_id": player_id, "currency": "EUR"}, headers=ADMIN),
                    400, "CURRENCY_MISMATCH", "currency")


def test_the_reconciliation_reports_coins_apart_from_money_and_is_clean(app, client, random_bytes):
    player_id, promo_id = register(client), define_coins(client)
    client.post(f"/api/v1/players/{player_id}/deposits", json={"transaction_id": unique("tx"), "amount": "30.00", "currency": "CAD"},
                headers=ADMIN)
    client.post("/api/v1/awards", json=coin_award(player_id, promo_id, "250.00"), headers=ADMIN)
    session = coin_session(client, player_id)
    random_bytes.plan(NO_SCATTER, NO_SCATTER)
    for _ in range(2):
        assert play(client, session).status_code == 200
    caught_up(app)
    run = client.post("/api/v1/reconciliation/runs", json={}, headers=FINANCE).json
    assert run["status"] == "ok" and run["discrepancies"] == [], run
    checks = {check["name"]: check for check in run["checks"]}
    assert {"coin balances", "coins awarded", "coin bets", "coin wins", "promotion coins reserved"} <= set(checks)
    assert all(not check["alert"] for check in checks.values())
    # The coins never enter the money figures: the global bets are the cash bets alone.
    assert Decimal(checks["coin bets"]["expected"]) >= Decimal("2.00")
    report = client.get("/api/v1/reports/liability", headers=FINANCE).json
    (line,) = [line for line in report["data"] if line["promo_id"] == promo_id]
    assert (line["award_type"], line["coins_reserved"], line["liability"]) == ("GOLD_COINS", "250.00", "0.00")
    assert Decimal(report["coins"]["awarded"]) >= Decimal("250.00")
    assert Decimal(report["coins"]["balances"]) >= Decimal("248.00")


def test_smoke_test_players_and_promotions_are_left_out_of_liability_and_money_totals(app, client):
    caught_up(app)
    before = {c["name"]: c for c in client.post("/api/v1/reconciliation/runs", json={}, headers=FINANCE).json["checks"]}
    player_id = register(client, test=True)
    promo_id = define(client, test=True, bet_per_spin="0.40")
    client.post(f"/api/v1/players/{player_id}/deposits", json={"transaction_id": unique("tx"), "amount": "55.00", "currency": "CAD"},
                headers=ADMIN)
    client.post("/api/v1/awards", json={"player_id": player_id, "promo_id": promo_id, "award_type": "FREE_SPINS", "award_value": 5,
                                        "game_code": "crystal-forge-v1", "idempotency_key": unique("k")}, headers=ADMIN)
    assert client.get(f"/api/v1/players/{player_id}", headers=ADMIN).json["test"] is True
    assert client.get(f"/api/v1/promotions/{promo_id}", headers=ADMIN).json["test"] is True
    caught_up(app)
    run = client.post("/api/v1/reconciliation/runs", json={}, headers=FINANCE).json
    assert run["status"] == "ok" and run["discrepancies"] == [], run
    after = {c["name"]: c for c in run["checks"]}
    for money in ("money in (deposits)", "player balances", "promotion liability"):
        assert after[money]["expected"] == before[money]["expected"], money
    assert [line for line in client.get("/api/v1/reports/liability", headers=FINANCE).json["data"] if line["promo_id"] == promo_id] == []
    # ... and they stay in the event log.
    events = client.get(f"/api/v1/events?player_id={player_id}", headers=COMPLIANCE).json["data"]
    assert {"PlayerRegistered", "FundsDeposited", "AwardReceived"} <= {event["type"] for event in events}


def test_a_test_mark_is_set_at_definition_and_never_changes(client):
    player_id = register(client, test=True)
    assert_envelope(client.put(f"/api/v1/players/{player_id}", json={"region": "CA-ON", "birth_date": "1990-04-01", "currency": "CAD"},
                               headers=ADMIN), 400, "VALIDATION_ERROR", "test")
    promo_id = define(client)
    assert_envelope(client.put(f"/api/v1/promotions/{promo_id}", json=terms_json(test=True), headers=ADMIN), 400, "VALIDATION_ERROR", "test")
    assert_envelope(client.put(f"/api/v1/promotions/{promo_id}", json=coin_terms(), headers=ADMIN), 400, "VALIDATION_ERROR", "award_type")


def test_a_test_promotion_awards_only_test_players_and_a_test_player_only_test_promotions(client, db):
    real_player, test_player = register(client), register(client, test=True)
    real_promo, test_promo = define(client), define(client, test=True)
    before = event_count(db)
    for player_id, promo_id, message in ((real_player, test_promo, "a test promotion awards only test players"),
                                         (test_player, real_promo, "a test player takes awards only from test promotions")):
        body = {"player_id": player_id, "promo_id": promo_id, "award_type": "FREE_SPINS", "award_value": 5,
                "game_code": "crystal-forge-v1", "idempotency_key": unique("k")}
        error = assert_envelope(client.post("/api/v1/awards", json=body, headers=ADMIN), 403, "INELIGIBLE", "player_id")
        assert error["message"] == message
    assert event_count(db) == before
    body = {"player_id": test_player, "promo_id": test_promo, "award_type": "FREE_SPINS", "award_value": 5,
            "game_code": "crystal-forge-v1", "idempotency_key": unique("k")}
    assert client.post("/api/v1/awards", json=body, headers=ADMIN).status_code == 201
