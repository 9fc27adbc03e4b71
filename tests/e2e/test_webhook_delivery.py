"""Webhooks through the real processes: ``spinledger serve`` takes the awards, ``spinledger worker``
enqueues and sends them. Killing everything mid-delivery repeats a delivery at most (same Webhook-Id,
same body), and loses none."""

from __future__ import annotations

import time
import uuid
from collections import defaultdict

import requests

from tests.e2e.conftest import SYNTHETIC_PLAYERS, Server
from tests.e2e.test_award_service import setup
from tests.receiver import Receiver
from tests.support import ADMIN, award_json

FAST_RETRIES = {"WEBHOOK_LEASE_SECONDS": "2", "WEBHOOK_RETRY_BASE_SECONDS": "0.2", "WEBHOOK_TIMEOUT_SECONDS": "5",
                "WEBHOOK_ALLOW_PRIVATE": "true"}  # the receiver is on loopback


def test_killing_the_sender_mid_delivery_repeats_a_delivery_at_most_and_loses_none(own_database):
    receiver = Receiver()
    server = Server(own_database, env={**FAST_RETRIES, **SYNTHETIC_PLAYERS})
    try:
        player_id, promo_id = setup(server, budget_spins=1_000_000)
        made = requests.post(f"{server.base}/api/v1/webhooks", json={"url": receiver.url("/crm"), "event_types": ["FreeSpinsAwarded"]},
                             headers=ADMIN, timeout=10)
        assert made.status_code == 201, made.text
        subscription, secret = made.json()["id"], made.json()["secret"]
        receiver.expect("/crm", secret)
        receiver.answer = lambda path, n: "hang" if n < 4 else 200  # the first four are held until the kill
        awards = []
        for _ in range(30):
            response = requests.post(f"{server.base}/api/v1/awards", json=award_json(player_id, promo_id, award_value=1), headers=ADMIN, timeout=10)
            assert response.status_code == 201, response.text
            awards.append(response.json()["award_id"])
        deadline = time.monotonic() + 60
        while receiver.arrived("/crm") < 4:
            assert time.monotonic() < deadline, "the worker never sent the deliveries"
            time.sleep(0.02)
        server.kill()  # the worker with four deliveries on the wire
        receiver.release.set()  # the receiver takes them: their sender is gone and never records it
        server = server.restarted()

        deadline = time.monotonic() + 120
        while len(requests.get(f"{server.base}/api/v1/webhooks/{subscription}/deliveries?status=delivered&limit=100",
                               headers=ADMIN, timeout=10).json()["data"]) < 30:  # as the service records it
            assert time.monotonic() < deadline, "the deliveries were never all recorded as delivered"
            time.sleep(0.1)
        delivered = receiver.wait_for("/crm", 30)
        assert {body["stream_id"] for body in delivered.values()} == set(awards)
        assert set(delivered) == {str(uuid.uuid5(uuid.UUID(subscription), body["event_id"])) for body in delivered.values()}
        bodies = defaultdict(list)
        for received in receiver.received:
            if received.valid:
                bodies[received.webhook_id].append(received.body)
        repeated = {webhook_id: sent for webhook_id, sent in bodies.items() if len(sent) > 1}
        assert repeated, "no delivery was repeated: the kill met none on the wire"
        assert all(all(body == sent[0] for body in sent) for sent in repeated.values())
        # http.client sends a request's headers and its body in two writes: a kill between them cuts the body,
        # which no receiver can verify. Every request that arrived whole verifies.
        assert all(r.valid for r in receiver.received if r.whole)
    finally:
        server.stop()
        receiver.stop()
