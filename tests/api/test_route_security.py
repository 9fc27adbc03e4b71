"""Every operation of the OpenAPI document, called with every kind of credential: each API key scope alone,
no credential, an unknown key, a game session's token. The document itself says what each operation takes
(``security`` and ``x-required-scopes``); a route it forgets fails here."""

from __future__ import annotations

import random
import re
import uuid
from typing import Any, Iterator

import pytest

from app import create_app
from app.auth import API_KEY_SCHEME, SCOPES, SESSION_SCHEME
from app.config import Settings
from tests.api.helpers import assert_envelope, define, funded_session, spin
from tests.support import ADMIN, NO_SCATTER, FakeClock, ScriptedStops, award_json

ADMIN_KEYS = {"test-admin-key": {"name": "admin", "scopes": sorted(SCOPES)}}  # the helpers' key (tests.support.ADMIN)
SCOPE_KEYS = {f"test-only-{scope}-key": {"name": f"only-{scope}", "scopes": [scope]} for scope in SCOPES}
METHODS = ("get", "post", "put", "patch", "delete")
OPEN = {("get", "/healthz"), ("get", "/readyz")}  # for load balancers

# The scopes each operation accepts, as the README's table lists them: the document must say the same, and
# the walk below proves the service enforces what the document says.
EXPECTED_SCOPES = {
    ("put", "/api/v1/players/{player_id}"): {"players:write"},
    ("get", "/api/v1/players/{player_id}"): {"awards:read", "players:write"},
    ("post", "/api/v1/players/{player_id}/self-exclusion"): {"players:write"},
    ("post", "/api/v1/players/{player_id}/deposits"): {"players:write"},
    ("post", "/api/v1/players/{player_id}/withdrawals"): {"players:write"},
    ("post", "/api/v1/sessions"): {"players:write"},
    ("put", "/api/v1/promotions/{promo_id}"): {"promotions:write"},
    ("get", "/api/v1/promotions/{promo_id}"): {"awards:read", "awards:write", "promotions:write"},
    ("get", "/api/v1/promotions"): {"awards:read", "awards:write", "promotions:write"},
    ("post", "/api/v1/promotions/{promo_id}/end"): {"promotions:write"},
    ("post", "/api/v1/awards"): {"awards:write"},
    ("post", "/api/v1/awards/batch"): {"awards:write"},
    ("get", "/api/v1/awards/{award_id}"): {"awards:read", "awards:write"},
    ("get", "/api/v1/players/{player_id}/awards"): {"awards:read", "awards:write"},
    ("post", "/api/v1/awards/{award_id}/cancel"): {"awards:write"},
    ("get", "/api/v1/awards"): {"awards:read", "awards:write"},
    ("get", "/api/v1/players/{player_id}/transactions/{transaction_id}"): {"players:write", "finance"},
    ("put", "/api/v1/campaigns/{campaign_id}"): {"awards:write"},
    ("get", "/api/v1/campaigns/{campaign_id}"): {"awards:read", "awards:write"},
    ("get", "/api/v1/campaigns"): {"awards:read", "awards:write"},
    ("post", "/api/v1/campaigns/{campaign_id}/audience"): {"awards:write"},
    ("post", "/api/v1/campaigns/{campaign_id}/launch"): {"awards:write"},
    ("post", "/api/v1/campaigns/{campaign_id}/cancel"): {"awards:write"},
    ("get", "/api/v1/campaigns/{campaign_id}/results"): {"awards:read", "awards:write"},
    ("post", "/api/v1/reconciliation/runs"): {"finance"},
    ("get", "/api/v1/reconciliation/runs"): {"finance"},
    ("get", "/api/v1/reconciliation/runs/{run_id}"): {"finance"},
    ("get", "/api/v1/reconciliation/runs/{run_id}/export"): {"finance"},
    ("get", "/api/v1/reports/liability"): {"finance"},
    ("get", "/api/v1/events"): {"compliance"},
    ("get", "/api/v1/events/export"): {"compliance"},
    ("get", "/api/v1/spins/{spin_id}"): {"compliance"},
    ("get", "/api/v1/spins/{spin_id}/replay"): {"compliance"},
    ("get", "/api/v1/players/{player_id}/game-history"): {"compliance"},
    ("get", "/api/v1/audit/requests"): {"compliance"},
    ("get", "/api/v1/audit/requests/{request_id}"): {"compliance"},
    ("get", "/metrics"): {"metrics"},
    ("post", "/api/v1/webhooks"): {"awards:write"},
    ("get", "/api/v1/webhooks"): {"awards:write"},
    ("get", "/api/v1/webhooks/{subscription_id}"): {"awards:write"},
    ("delete", "/api/v1/webhooks/{subscription_id}"): {"awards:write"},
    ("get", "/api/v1/webhooks/{subscription_id}/deliveries"): {"awards:write"},
    ("post", "/api/v1/webhooks/{subscription_id}/redeliver"): {"awards:write"},
    ("put", "/api/v1/players/{player_id}/limits"): {"players:write"},
    ("get", "/api/v1/players/{player_id}/limits"): {"players:write", "compliance"},
    ("post", "/api/v1/players/{player_id}/cooling-off"): {"players:write"},
    ("get", "/api/v1/reviews"): {"compliance"},
    ("get", "/api/v1/games"): {"games:write", "promotions:write", "awards:read", "awards:write"},
    ("get", "/api/v1/games/{game_code}"): {"games:write", "promotions:write", "awards:read", "awards:write"},
    ("put", "/api/v1/games/{game_code}/maintenance"): {"games:write"},
    ("post", "/api/v1/reviews/{review_id}/decision"): {"compliance"},
}
SESSION_OPERATIONS = {("get", "/api/v1/game/config"), ("post", "/api/v1/game/spin"), ("post", "/api/v1/game/bonus/spin"),
                      ("get", "/api/v1/game/state"), ("get", "/api/v1/game/state/pending-spin")}


@pytest.fixture(scope="module")
def stops() -> ScriptedStops:
    return ScriptedStops(seed="route-security")


@pytest.fixture(scope="module")
def secured(database_url: str, stops: ScriptedStops) -> Iterator[Any]:
    flask_app = create_app(Settings(database_url=database_url, api_keys={**ADMIN_KEYS, **SCOPE_KEYS}), clock=FakeClock(), random_bytes=stops)
    yield flask_app
    flask_app.extensions["spinledger"].close()


@pytest.fixture(scope="module")
def web(secured):  # type: ignore[no-untyped-def]
    return secured.test_client()


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, operation) for path, item in document["paths"].items() for method, operation in item.items() if method in METHODS]


INTEGER_PARAMETERS = {"{request_id}"}  # an audit log row's id


def concrete(path: str) -> str:
    """The path with each parameter filled with a value of the right shape (nothing exists under it)."""
    def value(name: str) -> str:
        if name in INTEGER_PARAMETERS:
            return str(random.Random(name).randrange(10**9, 10**10))
        if "id" in name and "player" not in name and "promo" not in name:
            return str(uuid.UUID(int=random.Random(name).getrandbits(128), version=4))
        return "p-nobody"
    return re.sub(r"\{[^}]+\}", lambda m: value(m.group(0)), path)


def call(web, method: str, path: str, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    kwargs: dict[str, Any] = {"headers": {**headers, "X-Request-Id": str(uuid.uuid4())}}
    if method in ("post", "put", "patch"):
        kwargs["json"] = {}
    return getattr(web, method)(concrete(path), **kwargs)


def test_every_operation_says_how_it_is_authenticated_as_the_readme_lists(web):
    document = web.get("/openapi.json").json
    documented = {(method, path): operation for method, path, operation in operations(document)}
    assert set(documented) == set(EXPECTED_SCOPES) | SESSION_OPERATIONS | OPEN
    for (method, path), operation in documented.items():
        security = operation.get("security")
        if (method, path) in OPEN:
            assert not security, (method, path)
        elif (method, path) in SESSION_OPERATIONS:
            assert security == [{SESSION_SCHEME: []}], (method, path)
        else:
            assert security == [{API_KEY_SCHEME: []}], (method, path)
            assert set(operation["x-required-scopes"]) == EXPECTED_SCOPES[(method, path)], (method, path)


def test_every_api_key_operation_refuses_every_scope_it_does_not_name(web):
    document = web.get("/openapi.json").json
    walked = 0
    for method, path, operation in operations(document):
        if operation.get("security") != [{API_KEY_SCHEME: []}]:
            continue
        accepted = set(operation["x-required-scopes"])
        assert_envelope(call(web, method, path, {}), 401, "UNAUTHORIZED")
        assert_envelope(call(web, method, path, {"Authorization": "Bearer not-a-key"}), 401, "UNAUTHORIZED")
        for key, spec in SCOPE_KEYS.items():
            response = call(web, method, path, {"Authorization": f"Bearer {key}"})
            if spec["scopes"][0] in accepted:
                assert response.status_code not in (401, 403) and response.status_code < 500, (method, path, spec, response.json)
            else:
                assert_envelope(response, 403, "FORBIDDEN")
            walked += 1
    assert walked >= 20 * len(SCOPES)


def test_game_operations_take_a_session_token_and_never_an_api_key(web):
    document = web.get("/openapi.json").json
    game = [(method, path) for method, path, operation in operations(document) if operation.get("security") == [{SESSION_SCHEME: []}]]
    assert len(game) == 5
    _, session = funded_session(web)
    for method, path in game:
        for headers in ({}, ADMIN, {"Authorization": "Bearer not-a-session"}):
            response = call(web, method, path, headers)
            assert response.status_code == 401, (method, path, headers, response.json)
        assert call(web, method, path, session).status_code not in (401, 403), (method, path)


def test_operations_left_open_are_only_health_and_readiness(web):
    document = web.get("/openapi.json").json
    assert {(method, path) for method, path, operation in operations(document) if not operation.get("security")} == OPEN


def test_a_player_session_never_reaches_another_players_data(web, stops):
    alice, alice_session = funded_session(web, amount="50.00")
    bob, bob_session = funded_session(web, amount="80.00")
    promo_id = define(web)
    granted = web.post("/api/v1/awards", json=award_json(bob, promo_id, award_value=5), headers=ADMIN)
    assert granted.status_code == 201, granted.json
    bobs_award = granted.json["award_id"]

    stops.plan(NO_SCATTER)
    taken = spin(web, alice_session, body={"betAmount": "1.00", "currency": "CAD", "awardId": bobs_award})
    assert taken.status_code in (400, 404, 409), taken.json
    state = web.get("/api/v1/game/state", headers=alice_session).json
    assert state["balance"] == "50.00" and bobs_award not in str(state)
    bobs_state = web.get("/api/v1/game/state", headers=bob_session).json
    assert bobs_state["balance"] == "80.00"
    assert [a["awardId"] for a in bobs_state["freeSpinAwards"]] == [bobs_award]
    assert web.get(f"/api/v1/players/{bob}/awards", headers=alice_session).status_code == 401
