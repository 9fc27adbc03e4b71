"""Player protection through the API: deposit and loss limits with their 24-hour rule and UTC windows, and
cooling-off on every game route, with an injected clock."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tests.api.helpers import assert_envelope, define, funded_session, register, spin
from tests.support import ADMIN, LOSING, T0, THREE_SCATTERS, ScriptedStops, award_json, event_count, unique


@pytest.fixture
def random_bytes(request):
    return ScriptedStops(seed=request.node.nodeid)


def put_limits(client, player_id: str, **limits):
    response = client.put(f"/api/v1/players/{player_id}/limits", json=limits, headers=ADMIN)
    assert response.status_code == 200, response.json
    return response.json


def deposit(client, player_id: str, amount: str):
    return client.post(f"/api/v1/players/{player_id}/deposits", json={"transaction_id": unique("tx"), "amount": amount, "currency": "CAD"}, headers=ADMIN)


def ms_until(clock, at: datetime) -> int:
    return int((at - clock.now()).total_seconds() * 1000)


def test_a_lower_limit_applies_at_once_and_a_higher_one_or_a_removal_only_after_24_hours(client, clock):
    player_id = register(client)
    first = put_limits(client, player_id, deposit_daily="100.00")
    assert first["limits"] == {"deposit_daily": "100.00", "deposit_weekly": None, "deposit_monthly": None,
                               "loss_daily": None, "loss_weekly": None, "loss_monthly": None}
    assert first["pending"] == []
    assert put_limits(client, player_id, deposit_daily="50.00")["limits"]["deposit_daily"] == "50.00"

    raised = put_limits(client, player_id, deposit_daily="200.00", loss_weekly="30.00")
    assert raised["limits"]["deposit_daily"] == "50.00" and raised["limits"]["loss_weekly"] == "30.00"
    assert raised["pending"] == [{"limit": "deposit_daily", "value": "200.00", "effective_at": "2026-11-19T10:00:00.000Z"}]
    assert put_limits(client, player_id, deposit_daily="200.00")["pending"][0]["effective_at"] == "2026-11-19T10:00:00.000Z"  # asked again: the clock does not restart
    clock.advance(hours=1)
    removed = put_limits(client, player_id, loss_weekly=None)
    assert removed["limits"]["loss_weekly"] == "30.00"
    assert [p["limit"] for p in removed["pending"]] == ["deposit_daily", "loss_weekly"]

    clock.advance(hours=22, minutes=59, seconds=59)
    assert client.get(f"/api/v1/players/{player_id}/limits", headers=ADMIN).json["limits"]["deposit_daily"] == "50.00"
    assert_envelope(deposit(client, player_id, "50.01"), 403, "DEPOSIT_LIMIT_EXCEEDED", "amount")
    clock.advance(seconds=1)
    after = client.get(f"/api/v1/players/{player_id}/limits", headers=ADMIN).json
    assert after["limits"]["deposit_daily"] == "200.00" and after["limits"]["loss_weekly"] == "30.00"
    assert [p["limit"] for p in after["pending"]] == ["loss_weekly"]  # its 24 hours started an hour later
    assert deposit(client, player_id, "150.00").status_code == 201
    clock.advance(hours=1)
    later = client.get(f"/api/v1/players/{player_id}/limits", headers=ADMIN).json
    assert later["limits"]["loss_weekly"] is None and later["pending"] == []


def test_asking_for_the_limit_in_force_withdraws_a_raise_waiting(client, clock):
    player_id = register(client)
    put_limits(client, player_id, loss_daily="20.00")
    put_limits(client, player_id, loss_daily="80.00")
    withdrawn = put_limits(client, player_id, loss_daily="20.00")
    assert withdrawn["pending"] == [] and withdrawn["limits"]["loss_daily"] == "20.00"
    clock.advance(days=2)
    assert client.get(f"/api/v1/players/{player_id}/limits", headers=ADMIN).json["limits"]["loss_daily"] == "20.00"


def test_a_deposit_exactly_at_the_limit_passes_and_one_cent_over_is_refused_recording_nothing(client, clock, db):
    player_id = register(client)
    put_limits(client, player_id, deposit_daily="100.00")
    assert deposit(client, player_id, "60.00").status_code == 201
    before = event_count(db)
    refused = assert_envelope(deposit(client, player_id, "40.01"), 403, "DEPOSIT_LIMIT_EXCEEDED", "amount")
    assert refused["retryAfterMs"] == ms_until(clock, datetime(2026, 11, 19, tzinfo=timezone.utc))
    assert event_count(db) == before
    assert deposit(client, player_id, "40.00").status_code == 201
    used = client.get(f"/api/v1/players/{player_id}/limits", headers=ADMIN).json["used"]["deposit_daily"]
    assert used == {"value": "100.00", "used": "100.00", "remaining": "0.00", "window_ends_at": "2026-11-19T00:00:00.000Z"}
    assert client.post(f"/api/v1/players/{player_id}/withdrawals", json={"transaction_id": unique("tx"), "amount": "10.00", "currency": "CAD"},
                       headers=ADMIN).status_code == 201  # withdrawals are not limited, and give no room back
    assert_envelope(deposit(client, player_id, "0.01"), 403, "DEPOSIT_LIMIT_EXCEEDED")


def test_deposit_windows_roll_over_at_their_utc_day_iso_week_and_calendar_month(client, clock):
    player_id = register(client)  # T0: Wednesday 18 November 2026, 10:00 UTC
    put_limits(client, player_id, deposit_daily="100.00", deposit_weekly="150.00", deposit_monthly="200.00")
    assert deposit(client, player_id, "100.00").status_code == 201
    clock.set(datetime(2026, 11, 18, 23, 59, 59, tzinfo=timezone.utc))
    assert_envelope(deposit(client, player_id, "0.01"), 403, "DEPOSIT_LIMIT_EXCEEDED")
    clock.set(datetime(2026, 11, 19, tzinfo=timezone.utc))  # a new day, the same week
    assert deposit(client, player_id, "50.00").status_code == 201
    weekly = assert_envelope(deposit(client, player_id, "0.01"), 403, "DEPOSIT_LIMIT_EXCEEDED")
    assert weekly["retryAfterMs"] == ms_until(clock, datetime(2026, 11, 23, tzinfo=timezone.utc))  # Monday 00:00 UTC
    clock.set(datetime(2026, 11, 22, 23, 59, 59, tzinfo=timezone.utc))
    assert_envelope(deposit(client, player_id, "0.01"), 403, "DEPOSIT_LIMIT_EXCEEDED")
    clock.set(datetime(2026, 11, 23, tzinfo=timezone.utc))  # a new ISO week, the same month
    assert deposit(client, player_id, "50.00").status_code == 201
    clock.set(datetime(2026, 11, 24, tzinfo=timezone.utc))
    monthly = assert_envelope(deposit(client, player_id, "0.01"), 403, "DEPOSIT_LIMIT_EXCEEDED")
    assert monthly["retryAfterMs"] == ms_until(clock, datetime(2026, 12, 1, tzinfo=timezone.utc))
    clock.set(datetime(2026, 12, 1, tzinfo=timezone.utc))
    assert deposit(client, player_id, "100.00").status_code == 201


def test_cash_spins_stop_exactly_where_the_next_bet_could_pass_the_loss_limit_and_promotional_spins_still_play(client, clock, random_bytes):
    player_id, session = funded_session(client, "100.00")
    put_limits(client, player_id, loss_daily="5.50")
    random_bytes.plan(*[LOSING] * 10)
    for _ in range(5):  # 1.00 lost each: 5.00, and 5.00 + 1.00 would pass 5.50
        assert spin(client, session).status_code == 200
    refused = assert_envelope(spin(client, session), 403, "LOSS_LIMIT_REACHED")
    assert refused["retryAfterMs"] == ms_until(clock, datetime(2026, 11, 19, tzinfo=timezone.utc))
    assert spin(client, session, {"betAmount": "0.40", "currency": "CAD"}).status_code == 200  # 5.40: still within
    assert_envelope(spin(client, session, {"betAmount": "0.20", "currency": "CAD"}), 403, "LOSS_LIMIT_REACHED")
    used = client.get(f"/api/v1/players/{player_id}/limits", headers=ADMIN).json["used"]["loss_daily"]
    assert (used["used"], used["remaining"]) == ("5.40", "0.10")

    award_id = client.post("/api/v1/awards", json=award_json(player_id, define(client)), headers=ADMIN).json["award_id"]
    assert spin(client, session, {"awardId": award_id}).status_code == 200  # promotional: not cash, not refused
    clock.set(datetime(2026, 11, 19, tzinfo=timezone.utc))
    session = {"Authorization": "Bearer " + client.post("/api/v1/sessions", json={"player_id": player_id}, headers=ADMIN).json["token"]}
    assert spin(client, session).status_code == 200  # a new day


def test_cooling_off_closes_every_game_route_and_awards_but_not_deposits_and_cannot_be_shortened(client, clock, random_bytes):
    player_id, session = funded_session(client, "100.00")
    random_bytes.plan(THREE_SCATTERS)
    started = spin(client, session).json
    assert started["state"] == "bonus"
    block_id = client.get("/api/v1/game/state", headers=session).json["bonusState"]["blockId"]

    cooling = client.post(f"/api/v1/players/{player_id}/cooling-off", json={"period": "7d"}, headers=ADMIN)
    assert cooling.status_code == 200
    assert cooling.json == {"player_id": player_id, "period": "7d", "cooling_off_until": "2026-11-25T10:00:00.000Z"}
    shorter = client.post(f"/api/v1/players/{player_id}/cooling-off", json={"period": "24h"}, headers=ADMIN)
    assert shorter.json["cooling_off_until"] == "2026-11-25T10:00:00.000Z"

    for response in (
        client.get("/api/v1/game/config", headers=session),
        client.get("/api/v1/game/state", headers=session),
        client.get("/api/v1/game/state/pending-spin", headers=session),
        spin(client, session),
        spin(client, session, {"blockId": block_id}, path="/api/v1/game/bonus/spin"),
    ):
        error = assert_envelope(response, 403, "PLAYER_COOLING_OFF")
        assert error["retryable"] is False and "2026-11-25" in error["message"]
    assert_envelope(client.post("/api/v1/sessions", json={"player_id": player_id}, headers=ADMIN), 403, "PLAYER_COOLING_OFF")
    assert_envelope(client.post("/api/v1/awards", json=award_json(player_id, define(client)), headers=ADMIN), 403, "PLAYER_COOLING_OFF", "player_id")
    assert deposit(client, player_id, "10.00").status_code == 201
    assert_envelope(client.post(f"/api/v1/players/{player_id}/cooling-off", json={"period": "2d"}, headers=ADMIN), 400, "VALIDATION_ERROR", "period")

    clock.set(datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc))  # the period is over: the block resumes
    session = {"Authorization": "Bearer " + client.post("/api/v1/sessions", json={"player_id": player_id}, headers=ADMIN).json["token"]}
    resumed = spin(client, session, {"blockId": block_id}, path="/api/v1/game/bonus/spin")
    assert resumed.status_code == 200 and resumed.json["freeSpins"]["spinNumber"] == 1


@pytest.mark.parametrize(("body", "field"), [
    ({}, "limits"),
    ({"deposit_daily": 100}, "deposit_daily"),
    ({"deposit_daily": "100"}, "deposit_daily"),
    ({"loss_weekly": "-5.00"}, "loss_weekly"),
    ({"loss_weekly": "0.00"}, "loss_weekly"),
    ({"deposit_yearly": "5.00"}, "deposit_yearly"),
])
def test_bad_limits_are_refused_naming_the_field_and_record_nothing(client, db, body, field):
    player_id = register(client)
    before = event_count(db)
    assert_envelope(client.put(f"/api/v1/players/{player_id}/limits", json=body, headers=ADMIN), 400, "VALIDATION_ERROR", field)
    assert event_count(db) == before


def test_limits_of_an_unknown_player_are_not_found(client):
    assert_envelope(client.put(f"/api/v1/players/{unique('nobody')}/limits", json={"deposit_daily": "5.00"}, headers=ADMIN), 404, "PLAYER_NOT_FOUND")
