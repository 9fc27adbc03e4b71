"""Seed 002's client side: after a timeout, look the call up before sending it again; and cancels that can be
sent again."""

from __future__ import annotations

from tests.api.helpers import assert_envelope, define, register
from tests.support import ADMIN, award_json, unique

FINANCE = {"Authorization": "Bearer test-finance-key"}
READER = {"Authorization": "Bearer test-reader-key"}


def test_an_award_is_found_by_its_idempotency_key_and_a_key_that_made_none_is_not_found(client):
    player_id, promo_id = register(client), define(client)
    key = unique("key")
    made = client.post("/api/v1/awards", json=award_json(player_id, promo_id, key=key), headers=ADMIN)
    assert made.status_code == 201

    found = client.get(f"/api/v1/awards?idempotency_key={key}", headers=READER)
    assert found.status_code == 200
    assert found.json == client.get(f"/api/v1/awards/{made.json['award_id']}", headers=READER).json
    assert (found.json["award_id"], found.json["player_id"], found.json["spins_awarded"]) == (made.json["award_id"], player_id, 5)
    assert_envelope(client.get(f"/api/v1/awards?idempotency_key={unique('never-sent')}", headers=READER), 404, "AWARD_NOT_FOUND")
    assert_envelope(client.get("/api/v1/awards?idempotency_key=has%20space", headers=READER), 400, "VALIDATION_ERROR", "idempotency_key")


def test_a_deposit_and_a_withdrawal_are_found_by_their_transaction_ids(client):
    player_id = register(client)
    deposit_id, withdrawal_id = unique("psp"), unique("psp")
    assert client.post(f"/api/v1/players/{player_id}/deposits", json={"transaction_id": deposit_id, "amount": "50.00", "currency": "CAD"}, headers=ADMIN).status_code == 201
    withdrawn = client.post(f"/api/v1/players/{player_id}/withdrawals", json={"transaction_id": withdrawal_id, "amount": "20.00", "currency": "CAD"}, headers=ADMIN)
    assert withdrawn.status_code == 201

    deposit = client.get(f"/api/v1/players/{player_id}/transactions/{deposit_id}", headers=FINANCE)
    assert deposit.status_code == 200
    assert {k: deposit.json[k] for k in ("transaction_id", "player_id", "type", "direction", "amount", "currency", "balance_after")} == {
        "transaction_id": deposit_id, "player_id": player_id, "type": "deposit", "direction": "credit", "amount": "50.00",
        "currency": "CAD", "balance_after": "50.00"}
    withdrawal = client.get(f"/api/v1/players/{player_id}/transactions/{withdrawal_id}", headers=ADMIN).json
    assert (withdrawal["type"], withdrawal["direction"], withdrawal["amount"], withdrawal["balance_after"]) == ("withdrawal", "debit", "20.00", "30.00")
    assert (withdrawal["event_id"], withdrawal["occurred_at"]) == (withdrawn.json["event_id"], withdrawn.json["server_time"])

    other = register(client)
    assert_envelope(client.get(f"/api/v1/players/{other}/transactions/{deposit_id}", headers=ADMIN), 404, "TRANSACTION_NOT_FOUND", "transaction_id")
    assert_envelope(client.get(f"/api/v1/players/{player_id}/transactions/{unique('psp')}", headers=ADMIN), 404, "TRANSACTION_NOT_FOUND", "transaction_id")


def test_a_retried_cancel_gets_the_first_answer_back_and_another_key_is_still_refused(client):
    player_id, promo_id = register(client), define(client)
    award_id = client.post("/api/v1/awards", json=award_json(player_id, promo_id), headers=ADMIN).json["award_id"]
    key = unique("cancel")

    first = client.post(f"/api/v1/awards/{award_id}/cancel", json={"reason": "withdrawn"}, headers={**ADMIN, "Idempotency-Key": key})
    assert first.status_code == 200 and first.json["status"] == "cancelled"
    assert "Idempotent-Replayed" not in first.headers
    again = client.post(f"/api/v1/awards/{award_id}/cancel", json={"reason": "withdrawn"}, headers={**ADMIN, "Idempotency-Key": key})
    assert (again.status_code, again.headers.get("Idempotent-Replayed"), again.json) == (200, "true", first.json)
    in_body = client.post(f"/api/v1/awards/{award_id}/cancel", json={"reason": "withdrawn", "idempotency_key": key}, headers=ADMIN)
    assert (in_body.status_code, in_body.json) == (200, first.json)

    assert_envelope(client.post(f"/api/v1/awards/{award_id}/cancel", json={"reason": "withdrawn"}, headers={**ADMIN, "Idempotency-Key": unique("other")}),
                    409, "AWARD_NOT_CANCELLABLE")
    assert_envelope(client.post(f"/api/v1/awards/{award_id}/cancel", json={"reason": "withdrawn"}, headers=ADMIN), 409, "AWARD_NOT_CANCELLABLE")
    assert_envelope(client.post(f"/api/v1/awards/{award_id}/cancel", json={"reason": "another reason"}, headers={**ADMIN, "Idempotency-Key": key}),
                    422, "IDEMPOTENCY_KEY_REUSED", "idempotency_key")
    assert_envelope(client.post(f"/api/v1/awards/{award_id}/cancel", json={"reason": "withdrawn", "idempotency_key": key},
                                headers={**ADMIN, "Idempotency-Key": unique("other")}), 400, "VALIDATION_ERROR", "idempotency_key")
