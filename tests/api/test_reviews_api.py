"""Risk reviews through the API, on a database of the module's own (the follower judges every event of the store),
with the follower run as the worker runs it."""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from app import create_app
from app.config import Settings
from projections.risk_review import RiskReviewProjection, RiskReviewView
from projections.runner import catch_up
from projections.source import EventSource
from tests.api.helpers import assert_envelope, define, register
from tests.support import ADMIN, API_KEYS, COMPLIANCE, FakeClock, award_json, scratch_database, unique

@pytest.fixture(scope="module")
def reviews_app(server_url: str) -> Iterator[Any]:
    with scratch_database(server_url, "spinledger_reviews") as url:
        flask_app = create_app(Settings(database_url=url, api_keys=API_KEYS), clock=FakeClock())
        yield flask_app
        flask_app.extensions["spinledger"].close()


@pytest.fixture
def client(reviews_app):  # type: ignore[no-untyped-def]
    return reviews_app.test_client()


def judge(reviews_app: Any) -> None:
    services = reviews_app.extensions["spinledger"]
    datastore = services.ledger.recorder.datastore
    projection = RiskReviewProjection(RiskReviewView(datastore, rules=services.settings.risk_rules(), raise_flag=services.ledger.raise_risk_flag))
    for _ in range(2):  # the events, then the flags they raised
        catch_up(projection, EventSource(datastore))


def test_a_flagged_player_is_paused_until_compliance_clears_the_review(client, reviews_app):
    player_id, promo_id = register(client), define(client)
    for amount in ("600.00", "400.01"):  # 1,000.01 within 24 hours: past RISK_DEPOSITS_24H_AMOUNT's 1,000.00
        assert client.post(f"/api/v1/players/{player_id}/deposits", json={"transaction_id": unique("tx"), "amount": amount, "currency": "CAD"},
                           headers=ADMIN).status_code == 201
    judge(reviews_app)

    listed = client.get("/api/v1/reviews?status=open", headers=COMPLIANCE)
    assert listed.status_code == 200
    (review,) = [r for r in listed.json["data"] if r["player_id"] == player_id]
    assert review["rule"] == "deposits_over_24h" and review["status"] == "open" and review["decision"] is None
    assert review["evidence"]["total"] == "1000.01"
    paused = assert_envelope(client.post("/api/v1/awards", json=award_json(player_id, promo_id), headers=ADMIN), 403, "PROMOTIONS_PAUSED", "player_id")
    assert "review" in paused["message"]

    decided = client.post(f"/api/v1/reviews/{review['review_id']}/decision", json={"decision": "clear", "note": "salary day, verified"}, headers=COMPLIANCE)
    assert decided.status_code == 200, decided.json
    assert (decided.json["status"], decided.json["decision"], decided.json["decided_by"]) == ("cleared", "clear", "compliance")
    assert client.post("/api/v1/awards", json=award_json(player_id, promo_id), headers=ADMIN).status_code == 201
    again = client.post(f"/api/v1/reviews/{review['review_id']}/decision", json={"decision": "clear", "note": "again"}, headers=COMPLIANCE)
    assert again.status_code == 200 and again.json["note"] == "salary day, verified"  # decided already: as it stands
    assert_envelope(client.post(f"/api/v1/reviews/{review['review_id']}/decision", json={"decision": "keep_paused", "note": "x"}, headers=COMPLIANCE),
                    409, "REVIEW_ALREADY_DECIDED")

    judge(reviews_app)
    cleared = client.get("/api/v1/reviews?status=cleared", headers=COMPLIANCE).json["data"]
    assert review["review_id"] in [r["review_id"] for r in cleared]
    assert review["review_id"] not in [r["review_id"] for r in client.get("/api/v1/reviews?status=open", headers=COMPLIANCE).json["data"]]


def test_reviews_page_newest_first(client, reviews_app):
    players = [register(client) for _ in range(3)]
    for player_id in players:
        client.post(f"/api/v1/players/{player_id}/deposits", json={"transaction_id": unique("tx"), "amount": "1000.01", "currency": "CAD"}, headers=ADMIN)
    judge(reviews_app)
    first = client.get("/api/v1/reviews?limit=2", headers=COMPLIANCE).json
    assert first["has_more"] and [r["player_id"] for r in first["data"]] == players[::-1][:2]
    rest = client.get(f"/api/v1/reviews?limit=2&after={first['next_cursor']}", headers=COMPLIANCE).json
    assert rest["data"][0]["player_id"] == players[0]


@pytest.mark.parametrize(("body", "field"), [
    ({"decision": "approve", "note": "x"}, "decision"),
    ({"decision": "clear"}, "note"),
    ({"decision": "clear", "note": ""}, "note"),
])
def test_a_bad_decision_is_refused_naming_the_field(client, body, field):
    response = client.post("/api/v1/reviews/3b7c8f4e-1d2a-4c5b-9e6f-7a8b9c0d1e2f/decision", json=body, headers=COMPLIANCE)
    assert response.status_code == 400 and response.json["error"]["field"] == field


def test_an_unknown_review_is_not_found_and_the_list_takes_known_statuses_only(client):
    assert_envelope(client.post("/api/v1/reviews/3b7c8f4e-1d2a-4c5b-9e6f-7a8b9c0d1e2f/decision", json={"decision": "clear", "note": "x"},
                                headers=COMPLIANCE), 404, "REVIEW_NOT_FOUND")
    assert_envelope(client.get("/api/v1/reviews?status=closed", headers=COMPLIANCE), 400, "VALIDATION_ERROR", "status")
    assert_envelope(client.get("/api/v1/reviews?after=abc", headers=COMPLIANCE), 400, "VALIDATION_ERROR", "after")
