"""The receiver kit: a delivery verifies only with its own body, id and a recent timestamp, once."""

from __future__ import annotations

import pytest

from app.webhooks.signature import InvalidWebhook, WebhookVerifier, sign

SECRET = "whsec_test-secret"
NOW = 1_795_000_000
BODY = b'{"event_id":"e1","type":"FreeSpinsAwarded"}'


def headers(webhook_id: str = "w1", timestamp: int = NOW, body: bytes = BODY, secret: str = SECRET) -> dict[str, str]:
    return {"Webhook-Id": webhook_id, "Webhook-Timestamp": str(timestamp), "Webhook-Signature": sign(secret, webhook_id, timestamp, body)}


def verifier() -> WebhookVerifier:
    return WebhookVerifier(SECRET, clock=lambda: NOW)


def test_a_signed_delivery_verifies_and_gives_its_id():
    assert verifier().verify(headers(), BODY) == "w1"


@pytest.mark.parametrize("tampered", [BODY.replace(b"e1", b"e2"), BODY + b" ", b""])
def test_a_tampered_body_fails(tampered):
    with pytest.raises(InvalidWebhook, match="Signature"):
        verifier().verify(headers(), tampered)


def test_a_signature_moved_to_another_id_or_made_with_another_secret_fails():
    moved = {**headers(), "Webhook-Id": "w2"}
    with pytest.raises(InvalidWebhook):
        verifier().verify(moved, BODY)
    with pytest.raises(InvalidWebhook):
        verifier().verify(headers(secret="whsec_other"), BODY)


@pytest.mark.parametrize("age", [301, -301, 86_400])
def test_a_timestamp_more_than_five_minutes_away_fails_even_when_signed(age):
    with pytest.raises(InvalidWebhook, match="Timestamp"):
        verifier().verify(headers(timestamp=NOW - age), BODY)


def test_a_timestamp_within_five_minutes_passes():
    assert verifier().verify(headers(timestamp=NOW - 299), BODY) == "w1"


@pytest.mark.parametrize("missing", ["Webhook-Id", "Webhook-Timestamp", "Webhook-Signature"])
def test_a_missing_header_fails_naming_it(missing):
    sent = headers()
    del sent[missing]
    with pytest.raises(InvalidWebhook, match=missing):
        verifier().verify(sent, BODY)


def test_one_of_several_signatures_matching_is_enough_while_a_secret_rotates():
    sent = headers()
    sent["Webhook-Signature"] = sign("whsec_old", "w1", NOW, BODY) + " " + sent["Webhook-Signature"]
    assert verifier().verify(sent, BODY) == "w1"


def test_headers_are_found_whatever_their_case():
    assert verifier().verify({k.lower(): v for k, v in headers().items()}, BODY) == "w1"


def test_a_webhook_id_is_seen_once_remembered_and_not_before():
    kit = verifier()
    assert not kit.seen("w1")  # verified, not yet handled: a failed handling leaves it unseen, to be retried
    kit.remember("w1")
    assert kit.seen("w1") and not kit.seen("w2")
