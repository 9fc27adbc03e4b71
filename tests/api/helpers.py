from __future__ import annotations

import uuid
from typing import Any

from tests.support import ADMIN, terms_json, unique


def register(client, player_id: str | None = None, **profile: Any) -> str:
    player_id = player_id or unique("player")
    body = {"region": "CA-ON", "birth_date": "1990-04-01", "currency": "CAD", **profile}
    response = client.put(f"/api/v1/players/{player_id}", json=body, headers=ADMIN)
    assert response.status_code == 201, response.json
    return player_id


def define(client, promo_id: str | None = None, **overrides: Any) -> str:
    promo_id = promo_id or unique("promo")
    response = client.put(f"/api/v1/promotions/{promo_id}", json=terms_json(**overrides), headers=ADMIN)
    assert response.status_code == 201, response.json
    return promo_id


def assert_envelope(response, status: int, code: str, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    error = response.json["error"]
    assert error["code"] == code
    assert set(error) >= {"code", "message", "requestId", "timestamp", "retryable", "retryAfterMs"}
    assert error["timestamp"].endswith("Z")
    if field is not None:
        assert error.get("field") == field, error
        if status == 400:  # bad input: the message itself names the field
            assert field.split(".")[-1] in error["message"], error
    return error


def funded_session(client, amount="100.00", **profile):
    player_id = register(client, **profile)
    if amount:
        response = client.post(f"/api/v1/players/{player_id}/deposits", json={"transaction_id": unique("tx"), "amount": amount, "currency": "CAD"}, headers=ADMIN)
        assert response.status_code == 201, response.json
    response = client.post("/api/v1/sessions", json={"player_id": player_id}, headers=ADMIN)
    assert response.status_code == 201, response.json
    return player_id, {"Authorization": f"Bearer {response.json['token']}"}


def spin(client, session, body=None, request_id=None, path="/api/v1/game/spin"):
    headers = {**session, "X-Request-Id": request_id or str(uuid.uuid4())}
    return client.post(path, json={"betAmount": "1.00", "currency": "CAD"} if body is None else body, headers=headers)
