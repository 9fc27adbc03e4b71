"""Game maintenance through the API, on a database of the module's own (a game's maintenance is the whole
database's): every game call answers 503 GAME_UNDER_MAINTENANCE with the operator's message, a block in play
is finished, awards still work, and play resumes when it is switched off or its ``until`` passes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Iterator

import psycopg
import pytest

from app import create_app
from app.config import Settings
from projections.catalogue import build
from projections.runner import catch_up
from projections.source import EventSource
from tests.api.helpers import assert_envelope, define, funded_session, register, spin
from tests.support import ADMIN, API_KEYS, GAME, OPERATOR, THREE_SCATTERS, FakeClock, ScriptedStops, award_json, event_count, scratch_database

MESSAGE = "Crystal Forge is being updated; back at 11:00 UTC"


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="module")
def random_bytes() -> ScriptedStops:
    return ScriptedStops(seed="maintenance")


@pytest.fixture(scope="module")
def maintenance_app(server_url: str, clock: FakeClock, random_bytes: ScriptedStops) -> Iterator[Any]:
    with scratch_database(server_url, "spinledger_maintenance") as url:
        flask_app = create_app(Settings(database_url=url, api_keys=API_KEYS), clock=clock, random_bytes=random_bytes)
        yield flask_app
        flask_app.extensions["spinledger"].close()


@pytest.fixture
def client(maintenance_app):  # type: ignore[no-untyped-def]
    client = maintenance_app.test_client()
    yield client
    client.put(f"/api/v1/games/{GAME}/maintenance", json={"active": False, "message": "test over"}, headers=OPERATOR)


@pytest.fixture
def db(maintenance_app):  # type: ignore[no-untyped-def]
    with psycopg.connect(maintenance_app.extensions["spinledger"].settings.database_url, autocommit=True) as conn:
        yield conn


def set_maintenance(client, **body):
    return client.put(f"/api/v1/games/{GAME}/maintenance", json=body, headers=OPERATOR)


def game_calls(client, session, block_id="no-block"):
    return {
        "config": client.get("/api/v1/game/config", headers=session),
        "state": client.get("/api/v1/game/state", headers=session),
        "pending-spin": client.get("/api/v1/game/state/pending-spin", headers=session),
        "spin": spin(client, session),
        "bonus spin": spin(client, session, {"blockId": block_id}, path="/api/v1/game/bonus/spin"),
    }


def test_maintenance_closes_every_game_route_with_the_message_and_switching_it_off_resumes_play(client):
    _, session = funded_session(client, "50.00")
    first = spin(client, session, request_id="before-maintenance")
    assert first.status_code == 200
    on = set_maintenance(client, active=True, message=MESSAGE)
    assert on.status_code == 200
    assert on.json == {"game_code": GAME, "name": "Crystal Forge", "version": on.json["version"], "state": "maintenance",
                       "message": MESSAGE, "until": None, "since": "2026-11-18T10:00:00.000Z"}
    for route, response in game_calls(client, session).items():
        error = assert_envelope(response, 503, "GAME_UNDER_MAINTENANCE")
        assert MESSAGE in error["message"], route
        assert error["retryable"] is False and error["retryAfterMs"] is None, route
        assert "Retry-After" not in response.headers
    replayed = spin(client, session, request_id="before-maintenance")  # a spin already made is still replayed
    assert replayed.status_code == 200 and replayed.headers["Idempotent-Replayed"] == "true" and replayed.json == first.json

    off = set_maintenance(client, active=False, message="done")
    assert off.json["state"] == "open" and off.json["message"] is None
    assert spin(client, session).status_code == 200
    assert client.get("/api/v1/game/config", headers=session).json["maintenance"] is None


def test_a_block_in_play_is_finished_under_maintenance_and_a_new_spin_is_not(client, random_bytes):
    _, session = funded_session(client, "50.00")
    random_bytes.plan(THREE_SCATTERS)
    assert spin(client, session).json["state"] == "bonus"
    block_id = client.get("/api/v1/game/state", headers=session).json["bonusState"]["blockId"]
    set_maintenance(client, active=True, message=MESSAGE)

    config = client.get("/api/v1/game/config", headers=session)
    assert config.status_code == 200 and config.json["maintenance"] == {"message": MESSAGE, "until": None}
    assert client.get("/api/v1/game/state/pending-spin", headers=session).status_code == 200
    played = 0
    while True:
        bonus = spin(client, session, {"blockId": block_id}, path="/api/v1/game/bonus/spin")
        assert bonus.status_code == 200, bonus.json
        played += 1
        if bonus.json["state"] != "bonus":
            break
        assert played < 100
    assert played >= 8  # three scatters give a block of several spins, all of them played
    assert_envelope(spin(client, session), 503, "GAME_UNDER_MAINTENANCE")
    assert_envelope(client.get("/api/v1/game/state", headers=session), 503, "GAME_UNDER_MAINTENANCE")


def test_awards_for_a_game_under_maintenance_still_work(client):
    set_maintenance(client, active=True, message=MESSAGE)
    response = client.post("/api/v1/awards", json=award_json(register(client), define(client)), headers=ADMIN)
    assert response.status_code == 201, response.json


def test_maintenance_ends_by_itself_at_its_until(client, clock):
    _, session = funded_session(client, "50.00")
    until = clock.now() + timedelta(minutes=30)
    assert set_maintenance(client, active=True, message=MESSAGE, until=until.isoformat()).json["until"] == "2026-11-18T10:30:00.000Z"
    error = assert_envelope(spin(client, session), 503, "GAME_UNDER_MAINTENANCE")
    assert "2026-11-18T10:30" in error["message"]
    clock.advance(minutes=30)
    assert spin(client, session).status_code == 200
    assert client.get(f"/api/v1/games/{GAME}", headers=ADMIN).json["state"] == "open"


def test_the_games_list_shows_each_games_state_to_marketing_and_operators(client):
    set_maintenance(client, active=True, message=MESSAGE)
    for headers in (ADMIN, OPERATOR):
        listed = client.get("/api/v1/games", headers=headers)
        assert listed.status_code == 200
        assert [(g["game_code"], g["state"], g["message"]) for g in listed.json["data"]] == [(GAME, "maintenance", MESSAGE)]


def test_setting_the_same_maintenance_twice_records_it_once_and_each_change_is_an_event(client, db):
    before = event_count(db, "MaintenanceSet") + event_count(db, "MaintenanceChanged")
    set_maintenance(client, active=True, message=MESSAGE)
    set_maintenance(client, active=True, message=MESSAGE)
    set_maintenance(client, active=True, message="longer than planned")
    assert event_count(db, "MaintenanceSet") + event_count(db, "MaintenanceChanged") - before in (2, 3)  # the first may follow an "off"


@pytest.mark.parametrize("body, field", [
    ({"active": True}, "message"),
    ({"active": True, "message": ""}, "message"),
    ({"active": "yes", "message": "x"}, "active"),
    ({"message": "x"}, "active"),
    ({"active": True, "message": "x", "until": "2026-11-18T09:00:00Z"}, "until"),
    ({"active": True, "message": "x", "until": "2026-11-18T11:00:00"}, "until"),
    ({"active": False, "message": "x", "until": "2026-11-18T11:00:00Z"}, "until"),
    ({"active": True, "message": "x", "colour": "red"}, "colour"),
])
def test_bad_maintenance_is_refused_naming_the_field_and_records_nothing(client, db, body, field):
    before = event_count(db)
    response = set_maintenance(client, **body)
    assert response.status_code == 400, response.json
    assert response.json["error"]["field"] == field
    assert event_count(db) == before


def test_maintenance_needs_games_write_and_a_known_game(client):
    assert_envelope(client.put(f"/api/v1/games/{GAME}/maintenance", json={"active": True, "message": "x"}, headers=ADMIN), 403, "FORBIDDEN")
    assert_envelope(client.put("/api/v1/games/no-such-game/maintenance", json={"active": True, "message": "x"}, headers=OPERATOR), 404, "GAME_NOT_FOUND")


def test_compliance_finds_maintenance_and_campaign_steps_by_their_event_types(client, maintenance_app):
    compliance = {"Authorization": "Bearer test-compliance-key"}
    set_maintenance(client, active=True, message=MESSAGE)
    set_maintenance(client, active=False, message="done")
    datastore = maintenance_app.extensions["spinledger"].ledger.recorder.datastore
    catch_up(build(datastore, "event_index"), EventSource(datastore))  # as the worker does
    changed = client.get("/api/v1/events?type=MaintenanceChanged", headers=compliance).json["data"]
    assert changed and {event["payload"].get("message") for event in changed} >= {MESSAGE, "done"}
    for event_type in ("MaintenanceSet", "MaintenanceChanged", "CampaignDefined", "CampaignLaunched"):
        response = client.get(f"/api/v1/events?type={event_type}", headers=compliance)
        assert response.status_code == 200, (event_type, response.json)
    assert client.get("/api/v1/events?type=NoSuchEvent", headers=compliance).status_code == 400


def test_a_block_started_on_another_server_is_finished_under_maintenance_here(client, maintenance_app, clock, random_bytes):
    """This server last saw the player with no block; the block was started through another server process."""
    _, session = funded_session(client, "50.00")
    assert spin(client, session).status_code == 200  # this server now holds the player as last seen: no block
    other = create_app(Settings(database_url=maintenance_app.extensions["spinledger"].settings.database_url, api_keys=API_KEYS),
                       clock=clock, random_bytes=random_bytes)
    try:
        random_bytes.plan(THREE_SCATTERS)
        assert spin(other.test_client(), session).json["state"] == "bonus"
        block_id = other.test_client().get("/api/v1/game/state", headers=session).json["bonusState"]["blockId"]
    finally:
        other.extensions["spinledger"].close()
    set_maintenance(client, active=True, message=MESSAGE)
    bonus = spin(client, session, {"blockId": block_id}, path="/api/v1/game/bonus/spin")
    assert bonus.status_code == 200, bonus.json
