"""The back office's reads — a player, an award, a player's awards — served from the views once they are
current, and from the event store while they are not, with the same answers either way."""

from __future__ import annotations

import uuid

import pytest

from app import create_app
from app.config import Settings
from projections.catalogue import PROJECTIONS, build
from projections.runner import catch_up
from projections.source import EventSource
from tests.api.helpers import define, register
from tests.support import ADMIN, API_KEYS, THREE_SCATTERS, ScriptedStops, award_json, unique


@pytest.fixture
def random_bytes(request):
    return ScriptedStops(seed=request.node.nodeid)


@pytest.fixture
def app(database_url, clock, random_bytes):
    flask_app = create_app(Settings(database_url=database_url, api_keys=API_KEYS, read_wait_seconds=0), clock=clock, random_bytes=random_bytes)
    yield flask_app
    flask_app.extensions["spinledger"].close()


def catch_up_all(app):
    datastore = app.extensions["spinledger"].ledger.recorder.datastore
    for name in PROJECTIONS:
        catch_up(build(datastore, name), EventSource(datastore))


def a_player_with_history(client, random_bytes):
    """Five awards (three in one batch), one cancelled, one partly played; cash; a free-spins block in play."""
    player_id, promo_id = register(client), define(client)
    batch = [award_json(player_id, promo_id, unique("batch"), award_value=4) for _ in range(3)]
    assert client.post("/api/v1/awards/batch", json={"awards": batch}, headers=ADMIN).status_code in (200, 207)
    singles = [client.post("/api/v1/awards", json=award_json(player_id, promo_id), headers=ADMIN).json["award_id"] for _ in range(2)]
    assert client.post(f"/api/v1/awards/{singles[0]}/cancel", json={"reason": "test"}, headers=ADMIN).status_code == 200
    deposit = {"transaction_id": unique("tx"), "amount": "40.00", "currency": "CAD"}
    assert client.post(f"/api/v1/players/{player_id}/deposits", json=deposit, headers=ADMIN).status_code == 201
    session = {"Authorization": "Bearer " + client.post("/api/v1/sessions", json={"player_id": player_id}, headers=ADMIN).json["token"]}
    spin = {"betAmount": "0.20", "currency": "CAD", "awardId": singles[1]}
    assert client.post("/api/v1/game/spin", json=spin, headers={**session, "X-Request-Id": str(uuid.uuid4())}).status_code == 200
    random_bytes.plan(THREE_SCATTERS)
    cash = {"betAmount": "1.00", "currency": "CAD"}
    assert client.post("/api/v1/game/spin", json=cash, headers={**session, "X-Request-Id": str(uuid.uuid4())}).json["bonusTriggered"]
    return player_id, singles


def reads(client, player_id, award_ids):
    pages, after = [], None
    while True:
        page = client.get(f"/api/v1/players/{player_id}/awards?limit=2" + (f"&after={after}" if after else ""), headers=ADMIN).json
        pages.append(page)
        if not page["has_more"]:
            break
        after = page["next_cursor"]
    return {
        "player": client.get(f"/api/v1/players/{player_id}", headers=ADMIN).json,
        "awards": [client.get(f"/api/v1/awards/{award_id}", headers=ADMIN).json for award_id in award_ids],
        "pages": pages,
    }


def test_once_the_views_are_current_they_answer_exactly_as_the_event_store_does(app, random_bytes, monkeypatch):
    client = app.test_client()
    player_id, award_ids = a_player_with_history(client, random_bytes)
    from_events = reads(client, player_id, award_ids)  # the views have not caught up: the event store answers
    assert len([a for p in from_events["pages"] for a in p["data"]]) == 5 and from_events["player"]["bonus_block"] is not None
    catch_up_all(app)
    ledger = app.extensions["spinledger"].ledger
    for read in ("get_award", "get_player", "list_player_awards"):
        monkeypatch.setattr(ledger, read, lambda *args, **kwargs: pytest.fail("the views should have answered"))
    assert reads(client, player_id, award_ids) == from_events


def test_a_read_right_after_a_write_is_never_stale(app, random_bytes):
    client = app.test_client()
    player_id, _ = a_player_with_history(client, random_bytes)
    catch_up_all(app)
    promo_id = define(client)
    award_id = client.post("/api/v1/awards", json=award_json(player_id, promo_id), headers=ADMIN).json["award_id"]
    assert client.get(f"/api/v1/awards/{award_id}", headers=ADMIN).json["status"] == "active"
    assert client.get(f"/api/v1/players/{player_id}/awards?limit=1", headers=ADMIN).json["data"][0]["award_id"] == award_id
    assert award_id in [a["award_id"] for a in client.get(f"/api/v1/players/{player_id}", headers=ADMIN).json["awards"]]
    assert client.post(f"/api/v1/awards/{award_id}/cancel", json={"reason": "test"}, headers=ADMIN).status_code == 200
    assert client.get(f"/api/v1/awards/{award_id}", headers=ADMIN).json["status"] == "cancelled"
    assert award_id not in [a["award_id"] for a in client.get(f"/api/v1/players/{player_id}", headers=ADMIN).json["awards"]]


def test_an_unknown_player_or_award_is_not_found_whichever_side_answers(app):
    client = app.test_client()
    catch_up_all(app)
    assert client.get(f"/api/v1/players/{unique('nobody')}", headers=ADMIN).status_code == 404
    assert client.get(f"/api/v1/players/{unique('nobody')}/awards", headers=ADMIN).status_code == 404
    assert client.get(f"/api/v1/awards/{uuid.uuid4()}", headers=ADMIN).status_code == 404
