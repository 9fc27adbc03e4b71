"""Compliance over HTTP: the event history and its export, a spin and its replay, a player's last games,
and the scope that guards them."""

from __future__ import annotations

import csv
import io
import json
import uuid
from decimal import Decimal

import pytest

from domain.ids import event_id_for
from projections.catalogue import build
from projections.runner import catch_up
from projections.source import EventSource
from tests.api.helpers import assert_envelope, define, register
from tests.support import ADMIN, COMPLIANCE, NO_SCATTER, THREE_SCATTERS, ScriptedStops, award_json, unique


@pytest.fixture
def random_bytes(request):
    return ScriptedStops(seed=request.node.nodeid)


def index_events(app):
    datastore = app.extensions["spinledger"].ledger.recorder.datastore
    catch_up(build(datastore, "event_index"), EventSource(datastore))


def deposit(client, player_id, amount):
    body = {"transaction_id": unique("tx"), "amount": amount, "currency": "CAD"}
    response = client.post(f"/api/v1/players/{player_id}/deposits", json=body, headers=ADMIN)
    assert response.status_code == 201, response.json


def session_for(client, player_id):
    response = client.post("/api/v1/sessions", json={"player_id": player_id}, headers=ADMIN)
    assert response.status_code == 201, response.json
    return {"Authorization": f"Bearer {response.json['token']}"}


def spin(client, session, body=None, path="/api/v1/game/spin"):
    response = client.post(path, json=body or {"betAmount": "1.00", "currency": "CAD"}, headers={**session, "X-Request-Id": str(uuid.uuid4())})
    assert response.status_code == 200, response.json
    return response.json


def events(client, query):
    response = client.get(f"/api/v1/events?{query}", headers=COMPLIANCE)
    assert response.status_code == 200, response.json
    return response.json


def test_the_event_history_filters_by_player_type_and_time_and_shows_each_event_whole(app, client, clock):
    player_id = register(client)
    deposit(client, player_id, "20.00")
    clock.advance(minutes=5)
    deposit(client, player_id, "30.00")
    spin(client, session_for(client, player_id))
    register(client)  # someone else's events stay out
    index_events(app)
    everything = events(client, f"player_id={player_id}")["data"]
    assert [e["position"] for e in everything] == sorted(e["position"] for e in everything)
    assert {e["player_id"] for e in everything} == {player_id}
    # the idempotency records of the deposits and the spin are the player's events too
    core = [e for e in everything if e["type"] != "RequestRecorded"]
    assert [e["type"] for e in core] == ["PlayerRegistered", "FundsDeposited", "FundsDeposited", "SpinSettled"]
    assert len(everything) == len(core) + 3
    first = core[0]
    assert first["event_id"] == str(event_id_for(uuid.UUID(first["stream_id"]), first["version"])) and first["version"] == 1
    assert first["payload"]["player_id"] == player_id and first["payload"]["region"] == "CA-ON"
    assert core[1]["payload"]["amount"] == "20.00" and core[1]["occurred_at"] == "2026-11-18T10:00:00.000Z"
    assert core[3]["payload"]["spin"]["bet"] == "1.00"
    money = events(client, f"player_id={player_id}&type=FundsDeposited&type=SpinSettled")["data"]
    assert money == core[1:]
    later = events(client, f"player_id={player_id}&type=FundsDeposited&type=SpinSettled&from=2026-11-18T10:01:00Z&to=2026-11-18T11:00:00Z")["data"]
    assert [e["type"] for e in later] == ["FundsDeposited", "SpinSettled"] and later[0]["payload"]["amount"] == "30.00"
    assert events(client, f"player_id={player_id}&to=2026-11-18T10:00:00Z")["data"] == []  # "to" is exclusive
    page = events(client, f"player_id={player_id}&limit=3")
    assert page["data"] == everything[:3] and page["has_more"] and page["next_cursor"] == str(everything[2]["position"])
    rest = events(client, f"player_id={player_id}&limit=100&after={page['next_cursor']}")
    assert rest["data"] == everything[3:] and not rest["has_more"]


@pytest.mark.parametrize("query, field", [
    ("type=NoSuchEvent", "type"),
    ("after=abc", "after"),
    ("limit=1001", "limit"),
    ("from=2026-11-18T10:00:00", "from"),
    ("from=2026-11-18T11:00:00Z&to=2026-11-18T10:00:00Z", "to"),
    ("player=x", "player"),
])
def test_a_bad_event_query_is_refused_naming_the_field(client, query, field):
    assert_envelope(client.get(f"/api/v1/events?{query}", headers=COMPLIANCE), 400, "VALIDATION_ERROR", field=field)


def test_the_export_streams_the_selection_as_json_lines_and_as_csv(app, client):
    player_id = register(client)
    for amount in ("1.00", "2.00", "3.00"):
        deposit(client, player_id, amount)
    index_events(app)
    paged = events(client, f"player_id={player_id}")["data"]
    deposits = [e for e in paged if e["type"] == "FundsDeposited"]
    jsonl = client.get(f"/api/v1/events/export?player_id={player_id}", headers=COMPLIANCE)
    assert jsonl.status_code == 200 and jsonl.mimetype == "application/x-ndjson"
    assert [json.loads(line) for line in jsonl.get_data(as_text=True).splitlines()] == paged
    exported = client.get(f"/api/v1/events/export?player_id={player_id}&format=csv&type=FundsDeposited", headers=COMPLIANCE)
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert [json.loads(r["payload"])["amount"] for r in rows] == ["1.00", "2.00", "3.00"]
    assert [int(r["position"]) for r in rows] == [e["position"] for e in deposits]
    assert [r["event_id"] for r in rows] == [e["event_id"] for e in deposits]


def test_a_spin_is_served_as_stored_and_replays_with_matches_true(app, client):
    player_id = register(client)
    deposit(client, player_id, "10.00")
    played = spin(client, session_for(client, player_id))
    index_events(app)
    stored = client.get(f"/api/v1/spins/{played['spinId']}", headers=COMPLIANCE)
    assert stored.status_code == 200, stored.json
    record = stored.json["record"]
    assert stored.json["player_id"] == player_id and record["spin_id"] == played["spinId"]
    assert record["reel_stops"] == played["reelStops"]
    assert (record["bet"], record["balance_before"], record["total_win"]) == ("1.00", "10.00", played["totalWin"])
    replay = client.get(f"/api/v1/spins/{played['spinId']}/replay", headers=COMPLIANCE)
    assert replay.status_code == 200, replay.json
    assert replay.json["matches"] is True and replay.json["mismatches"] == []
    assert replay.json["recomputed"] == replay.json["stored"] and replay.json["recomputed"]["total_win"] == played["totalWin"]
    assert replay.json["game_version"] == record["game_version"]
    assert_envelope(client.get(f"/api/v1/spins/{uuid.uuid4()}", headers=COMPLIANCE), 404, "SPIN_NOT_FOUND")
    assert_envelope(client.get("/api/v1/spins/not-a-spin/replay", headers=COMPLIANCE), 404, "NOT_FOUND")


def test_game_history_after_a_cash_spin_a_promotional_spin_and_a_full_bonus_block(client, random_bytes):
    player_id = register(client)
    deposit(client, player_id, "50.00")
    session = session_for(client, player_id)
    random_bytes.plan(NO_SCATTER)
    cash = spin(client, session)
    promo_id = define(client)
    award_id = client.post("/api/v1/awards", json=award_json(player_id, promo_id, award_value=1), headers=ADMIN).json["award_id"]
    random_bytes.plan(NO_SCATTER)
    promotional = spin(client, session, {"awardId": award_id})
    random_bytes.plan(THREE_SCATTERS, *[NO_SCATTER] * 10)
    trigger = spin(client, session)
    block_id = trigger["bonusData"]["blockId"]
    free = [spin(client, session, {"blockId": block_id}, "/api/v1/game/bonus/spin") for _ in range(10)]
    assert free[-1]["state"] == "bonus_complete"
    response = client.get(f"/api/v1/players/{player_id}/game-history", headers=COMPLIANCE)
    assert response.status_code == 200, response.json
    games = response.json["data"]
    assert [g["funding"] for g in games] == ["cash", "award", "cash"] and response.json["has_more"] is False
    block, award, cashed = games
    assert block["round_id"] == block_id and block["block_id"] == block_id and block["complete"] is True
    assert [s["spin_id"] for s in block["spins"]] == [trigger["spinId"], *[f["spinId"] for f in free]]
    assert block["bet"] == "1.00" and block["total_win"] == str(sum(Decimal(s["totalWin"]) for s in [trigger, *free]))
    assert award["award_id"] == award_id and award["bet"] == "0.00" and award["spins"][0]["spin_id"] == promotional["spinId"]
    assert cashed["round_id"] == cash["spinId"] and cashed["balance_start"] == "50.00" and cashed["bet"] == "1.00"
    assert cashed["balance_end"] == award["balance_start"] and award["balance_end"] == block["balance_start"]
    assert Decimal(block["balance_end"]) == Decimal(block["balance_start"]) - Decimal(block["bet"]) + Decimal(block["total_win"])
    older = client.get(f"/api/v1/players/{player_id}/game-history?limit=2", headers=COMPLIANCE).json
    assert [g["round_id"] for g in older["data"]] == [block_id, award["round_id"]] and older["has_more"]
    oldest = client.get(f"/api/v1/players/{player_id}/game-history?limit=2&after={older['next_cursor']}", headers=COMPLIANCE).json
    assert [g["round_id"] for g in oldest["data"]] == [cash["spinId"]] and not oldest["has_more"]
    assert_envelope(client.get("/api/v1/players/nobody-here/game-history", headers=COMPLIANCE), 404, "PLAYER_NOT_FOUND")


COMPLIANCE_ROUTES = [
    "/api/v1/events",
    "/api/v1/events/export",
    f"/api/v1/spins/{uuid.uuid4()}",
    f"/api/v1/spins/{uuid.uuid4()}/replay",
    "/api/v1/players/somebody/game-history",
]


@pytest.mark.parametrize("path", COMPLIANCE_ROUTES)
def test_only_compliance_keys_reach_the_compliance_routes(client, path):
    for key in ("test-admin-key", "test-marketing-key", "test-reader-key", "test-finance-key"):
        assert_envelope(client.get(path, headers={"Authorization": f"Bearer {key}"}), 403, "FORBIDDEN")
    assert_envelope(client.get(path), 401, "UNAUTHORIZED")
    assert client.get(path, headers=COMPLIANCE).status_code in (200, 404)


def test_the_cli_exports_what_the_api_exports(app, client, database_url, monkeypatch, tmp_path, capsys):
    from app.cli import main

    player_id = register(client)
    for amount in ("4.00", "5.00"):
        deposit(client, player_id, amount)
    index_events(app)
    monkeypatch.setenv("DATABASE_URL", database_url)
    for fmt in ("jsonl", "csv"):
        target = tmp_path / f"events.{fmt}"
        assert main(["events", "export", "--player-id", player_id, "--type", "FundsDeposited", "--format", fmt, "--output", str(target)]) == 0
        served = client.get(f"/api/v1/events/export?player_id={player_id}&type=FundsDeposited&format={fmt}", headers=COMPLIANCE)
        written = target.read_bytes().decode()
        assert written == served.get_data(as_text=True) and "5.00" in written
    assert "2 events written" in capsys.readouterr().err
    assert main(["events", "export", "--from", "yesterday"]) == 2
    assert "--from:" in capsys.readouterr().err
