"""Deposits, withdrawals and sessions through the Flask client on PostgreSQL."""

from __future__ import annotations

import pytest

from tests.api.helpers import assert_envelope, register
from tests.support import ADMIN, event_count, unique

MARKETING = {"Authorization": "Bearer test-marketing-key"}


def move(client, player_id, kind="deposits", amount="50.00", transaction_id=None, headers=ADMIN, **extra):
    body = {"transaction_id": transaction_id or unique("tx"), "amount": amount, "currency": "CAD", **extra}
    return client.post(f"/api/v1/players/{player_id}/{kind}", json=body, headers=headers)


def test_a_deposit_answers_with_the_new_balance(client):
    player_id = register(client)
    response = move(client, player_id, amount="125.40", transaction_id="psp-1-" + player_id)
    assert response.status_code == 201, response.json
    body = response.json
    assert body["balance"] == "125.40" and body["type"] == "deposit" and body["amount"] == "125.40"
    assert body["transaction_id"] == "psp-1-" + player_id and body["player_id"] == player_id
    assert client.get(f"/api/v1/players/{player_id}", headers=ADMIN).json["balance"] == "125.40"


def test_a_replayed_deposit_returns_the_identical_body_and_credits_nothing(client, db):
    player_id = register(client)
    first = move(client, player_id, transaction_id="tx-replay-" + player_id)
    before = event_count(db, "FundsDeposited")
    again = move(client, player_id, transaction_id="tx-replay-" + player_id)
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_data() == first.get_data()
    assert event_count(db, "FundsDeposited") == before


def test_a_transaction_id_reused_for_another_amount_is_refused_and_records_nothing(client, db):
    player_id = register(client)
    move(client, player_id, amount="10.00", transaction_id="tx-reuse-" + player_id)
    before = event_count(db)
    response = move(client, player_id, amount="10.01", transaction_id="tx-reuse-" + player_id)
    assert_envelope(response, 422, "IDEMPOTENCY_KEY_REUSED", field="transaction_id")
    assert event_count(db) == before


def test_a_withdrawal_beyond_the_balance_is_payment_required(client):
    player_id = register(client)
    move(client, player_id, amount="20.00")
    assert_envelope(move(client, player_id, "withdrawals", amount="20.01"), 402, "INSUFFICIENT_FUNDS")
    response = move(client, player_id, "withdrawals", amount="20.00")
    assert response.status_code == 201 and response.json["balance"] == "0.00" and response.json["type"] == "withdrawal"


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"amount": 10.5}, "VALIDATION_ERROR", "amount"),
        ({"amount": "10.5"}, "VALIDATION_ERROR", "amount"),
        ({"amount": "0.00"}, "VALIDATION_ERROR", "amount"),
        ({"amount": "-5.00"}, "VALIDATION_ERROR", "amount"),
        ({"currency": "EUR"}, "VALIDATION_ERROR", "currency"),
        ({"transaction_id": ""}, "VALIDATION_ERROR", "transaction_id"),
        ({"note": "x"}, "VALIDATION_ERROR", "note"),
    ],
)
def test_bad_money_input_names_its_field_and_records_nothing(client, db, overrides, code, field):
    player_id = register(client)
    before = event_count(db)
    body = {"transaction_id": unique("tx"), "amount": "10.00", "currency": "CAD", **overrides}
    assert_envelope(client.post(f"/api/v1/players/{player_id}/deposits", json=body, headers=ADMIN), 400, code, field=field)
    assert event_count(db) == before


def test_money_needs_the_players_write_scope_and_a_known_player(client):
    player_id = register(client)
    assert_envelope(move(client, player_id, headers=MARKETING), 403, "FORBIDDEN")
    assert_envelope(move(client, player_id, headers={}), 401, "UNAUTHORIZED")
    assert_envelope(move(client, "nobody-" + unique("p")), 404, "PLAYER_NOT_FOUND")


def test_a_session_token_is_stored_only_as_its_digest(client, db):
    player_id = register(client)
    response = client.post("/api/v1/sessions", json={"player_id": player_id}, headers=ADMIN)
    assert response.status_code == 201
    token = response.json["token"]
    assert len(token) >= 43 and response.json["expires_at"] == "2026-11-18T11:00:00.000Z"
    rows = db.execute("SELECT token_digest::text, player_id FROM spinledger_sessions WHERE player_id = %s", [player_id]).fetchall()
    assert len(rows) == 1 and token not in rows[0][0]
    assert_envelope(client.post("/api/v1/sessions", json={"player_id": player_id}, headers=MARKETING), 403, "FORBIDDEN")
