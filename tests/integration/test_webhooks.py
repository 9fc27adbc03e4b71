"""Webhooks from the event store to a real HTTP receiver: subscriptions through the API, the outbox filled
by its follower, the sender delivering it (in this process, with a short backoff)."""

from __future__ import annotations

import random
import time
from datetime import datetime, timedelta, timezone
from uuid import UUID
from typing import Any, Iterator

import pytest

from app import create_app
from app.config import Settings
from projections.webhook_outbox import OutboxProjection, OutboxView
from app.webhooks.sender import Backoff, WebhookSender
from app.webhooks.store import WebhookStore
from domain.ids import event_id_text
from projections.runner import catch_up
from projections.source import EventSource
from tests.api.helpers import define, register
from tests.receiver import Receiver
from tests.support import ADMIN, API_KEYS, award_json

MARKETING = {"Authorization": "Bearer test-marketing-key"}


class MovableClock:
    """The real time, moved forward by what the test says: backoffs run for real, a day can pass at once."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)


class Hooks:
    """The service (its API through the Flask test client), its outbox follower and a sender, on one clock."""

    def __init__(self, database_url: str, clock: MovableClock):
        self.clock = clock
        self.app = create_app(Settings(database_url=database_url, api_keys=API_KEYS), clock=clock, random_bytes=random.Random(3).randbytes)
        self.client = self.app.test_client()
        self.datastore = self.app.extensions["spinledger"].ledger.recorder.datastore
        self.outbox = OutboxProjection(OutboxView(self.datastore, now=clock.now))
        self.store = WebhookStore(self.datastore, lease=timedelta(seconds=2))
        self.senders: list[WebhookSender] = []

    def subscribe(self, receiver: Receiver, path: str, *types: str) -> str:
        response = self.client.post("/api/v1/webhooks", json={"url": receiver.url(path), "event_types": list(types)}, headers=MARKETING)
        assert response.status_code == 201, response.json
        receiver.expect(path, response.json["secret"])
        return response.json["id"]

    def award(self, player_id: str, promo_id: str) -> str:
        response = self.client.post("/api/v1/awards", json=award_json(player_id, promo_id), headers=ADMIN)
        assert response.status_code == 201, response.json
        return response.json["award_id"]

    def enqueue(self) -> None:
        catch_up(self.outbox, EventSource(self.datastore))

    def send(self, **options: Any) -> WebhookSender:
        options = {"backoff": Backoff(0.05, 0.2), "timeout_seconds": 0.5, "poll_seconds": 0.01, "allow_private": True, **options}
        sender = WebhookSender(self.store, self.clock.now, **options)
        sender.start()
        self.senders.append(sender)
        return sender

    def wait_recorded(self, subscription_id: str, count: int) -> None:
        """Until the service has recorded ``count`` deliveries delivered (the receiver has them a moment before)."""
        _wait(lambda: len(self.deliveries(subscription_id, "delivered")) >= count)

    def deliveries(self, subscription_id: str, status: str | None = None) -> list[dict[str, Any]]:
        query = f"?limit=1000&status={status}" if status else "?limit=1000"
        response = self.client.get(f"/api/v1/webhooks/{subscription_id}/deliveries{query}", headers=MARKETING)
        assert response.status_code == 200, response.json
        return response.json["data"]

    def close(self) -> None:
        for sender in self.senders:
            sender.stop()
        self.app.extensions["spinledger"].close()


@pytest.fixture
def hooks(own_database: str) -> Iterator[Hooks]:
    service = Hooks(own_database, MovableClock())
    yield service
    service.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    endpoint = Receiver()
    yield endpoint
    endpoint.release.set()
    endpoint.stop()


def award_events(hooks: Hooks, award_ids: list[str], type_name: str) -> set[str]:
    """The ids of the awards' events of that type, read from the event store."""
    ledger = hooks.app.extensions["spinledger"].ledger
    return {event_id_text(award_id, event.originator_version) for award_id in award_ids
            for event in ledger.events.get(UUID(award_id)) if type(event).__name__ == type_name}


def test_every_award_event_reaches_each_subscription_once_signed(hooks, receiver):
    player_id, promo_id = register(hooks.client), define(hooks.client)
    before = hooks.award(player_id, promo_id)  # recorded before anyone subscribed: never sent
    confirmations = hooks.subscribe(receiver, "/crm", "FreeSpinsAwarded", "AwardCancelled")
    finance = hooks.subscribe(receiver, "/finance", "AwardCancelled")
    awards = [hooks.award(player_id, promo_id) for _ in range(12)]
    for award_id in awards[:3]:
        assert hooks.client.post(f"/api/v1/awards/{award_id}/cancel", json={"reason": "test"}, headers=ADMIN).status_code == 200
    hooks.enqueue()
    hooks.enqueue()  # following again adds nothing: each event is enqueued once
    hooks.send()

    crm = receiver.wait_for("/crm", 15)
    cancelled = receiver.wait_for("/finance", 3)
    # Taken once each, whatever the transport repeated, by the receiver kit's deduplication.
    assert {body["event_id"] for body in crm.values()} == award_events(hooks, awards, "FreeSpinsAwarded") | award_events(hooks, awards, "AwardCancelled")
    assert {body["event_id"] for body in cancelled.values()} == award_events(hooks, awards[:3], "AwardCancelled")
    assert before not in {body["stream_id"] for body in crm.values()}
    assert not set(crm) & set(cancelled)  # a delivery's id is its subscription's and its event's
    assert all(r.valid for r in receiver.received)
    first = next(body for body in crm.values() if body["type"] == "FreeSpinsAwarded" and body["stream_id"] == awards[0])
    assert first["data"]["player_id"] == player_id and first["data"]["promo_id"] == promo_id and first["version"] == 1
    hooks.wait_recorded(confirmations, 15)
    hooks.wait_recorded(finance, 3)
    statuses = {d["status"] for d in hooks.deliveries(confirmations) + hooks.deliveries(finance)}
    assert statuses == {"delivered"}


def test_an_endpoint_failing_for_a_while_gets_every_delivery_in_the_end(hooks, receiver):
    player_id, promo_id = register(hooks.client), define(hooks.client)
    subscription = hooks.subscribe(receiver, "/flaky", "FreeSpinsAwarded")
    # 500s, then timeouts (the sender waits 0.5 s), then nobody listening, then answers.
    receiver.answer = lambda path, n: 500 if n < 6 else ("hang" if n < 9 else 200)
    awards = [hooks.award(player_id, promo_id) for _ in range(5)]
    hooks.enqueue()
    sender = hooks.send()
    _wait(lambda: receiver.arrived("/flaky") >= 9)
    receiver.release.set()
    receiver.stop()
    time.sleep(0.5)  # refused meanwhile
    receiver.start()
    delivered = receiver.wait_for("/flaky", 5)
    hooks.wait_recorded(subscription, 5)
    sender.stop()
    assert {body["stream_id"] for body in delivered.values()} == set(awards)
    rows = hooks.deliveries(subscription)
    assert {row["status"] for row in rows} == {"delivered"} and max(row["attempts"] for row in rows) > 1


def test_a_hanging_endpoint_holds_up_no_other_subscriber(hooks, receiver):
    player_id, promo_id = register(hooks.client), define(hooks.client)
    hooks.subscribe(receiver, "/slow", "FreeSpinsAwarded")
    hooks.subscribe(receiver, "/fast", "FreeSpinsAwarded")
    receiver.answer = lambda path, n: "hang" if path == "/slow" else 200
    for _ in range(40):
        hooks.award(player_id, promo_id)
    hooks.enqueue()
    hooks.send(timeout_seconds=30)
    receiver.wait_for("/fast", 40)  # while every request to /slow is still waiting
    assert receiver.delivered("/slow") == {}
    receiver.release.set()
    receiver.wait_for("/slow", 40)


def test_a_delivery_retried_for_a_day_is_dead_until_redriven(hooks, receiver):
    player_id, promo_id = register(hooks.client), define(hooks.client)
    subscription = hooks.subscribe(receiver, "/down", "FreeSpinsAwarded")
    receiver.answer = lambda path, n: 503
    hooks.award(player_id, promo_id)
    hooks.enqueue()
    sender = hooks.send(backoff=Backoff(3600, 3600))  # one failure, then an hour's wait ...
    _wait(lambda: hooks.deliveries(subscription)[0]["attempts"] >= 1 and hooks.deliveries(subscription)[0]["last_status"] == 503)
    hooks.clock.advance(hours=27)  # ... which a day later is over, and so are the retries: the next failure is the last
    _wait(lambda: hooks.deliveries(subscription, "dead") != [])
    sender.stop()
    (dead,) = hooks.deliveries(subscription, "dead")
    assert dead["last_status"] == 503 and dead["last_error"] == "answered 503"

    receiver.answer = lambda path, n: 200
    receiver.clock = lambda: hooks.clock.now().timestamp()  # the receiver's day has passed too
    redriven = hooks.client.post(f"/api/v1/webhooks/{subscription}/redeliver", json={}, headers=MARKETING)
    assert redriven.status_code == 202 and redriven.json == {"requeued": 1}
    hooks.send()
    (delivered,) = receiver.wait_for("/down", 1)
    assert delivered == dead["id"]
    hooks.wait_recorded(subscription, 1)


def test_unsubscribing_cancels_what_was_not_delivered_and_enqueues_nothing_more(hooks, receiver):
    player_id, promo_id = register(hooks.client), define(hooks.client)
    subscription = hooks.subscribe(receiver, "/gone", "FreeSpinsAwarded")
    hooks.award(player_id, promo_id)
    hooks.enqueue()
    assert hooks.client.delete(f"/api/v1/webhooks/{subscription}", headers=MARKETING).status_code == 204
    hooks.award(player_id, promo_id)
    hooks.enqueue()
    with hooks.datastore.get_connection() as conn:
        rows = conn.execute("SELECT status FROM webhook_deliveries WHERE subscription_id = %s", [subscription]).fetchall()
    assert [row["status"] for row in rows] == ["cancelled"]
    assert hooks.client.get(f"/api/v1/webhooks/{subscription}", headers=MARKETING).status_code == 404


def test_subscriptions_are_listed_without_their_secret_and_refuse_bad_input(hooks, receiver):
    made = hooks.subscribe(receiver, "/list", "FreeSpinsAwarded", "DriftAlertRaised")
    listed = hooks.client.get("/api/v1/webhooks", headers=MARKETING).json["data"]
    assert [s["id"] for s in listed] == [made] and "secret" not in listed[0]
    assert listed[0]["event_types"] == ["DriftAlertRaised", "FreeSpinsAwarded"]
    for body, field in [({"url": "ftp://x.example/h", "event_types": ["FreeSpinsAwarded"]}, "url"),
                        ({"url": "not a url", "event_types": ["FreeSpinsAwarded"]}, "url"),
                        ({"url": "https://user:pass@x.example/h", "event_types": ["FreeSpinsAwarded"]}, "url"),
                        ({"url": "https://x.example/h", "event_types": ["SpinSettled"]}, "event_types.0"),
                        ({"url": "https://x.example/h", "event_types": []}, "event_types")]:
        response = hooks.client.post("/api/v1/webhooks", json=body, headers=MARKETING)
        assert response.status_code == 400 and response.json["error"]["field"] == field, response.json
    assert hooks.client.get("/api/v1/webhooks", headers={"Authorization": "Bearer test-reader-key"}).status_code == 403


def _wait(condition: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.05)


def test_a_delivery_whose_senders_never_report_is_dead_after_the_retries_day(hooks, receiver):
    player_id, promo_id = register(hooks.client), define(hooks.client)
    subscription = hooks.subscribe(receiver, "/void", "FreeSpinsAwarded")
    hooks.award(player_id, promo_id)
    hooks.enqueue()
    (claimed,) = hooks.store.claim(hooks.clock.now(), per_subscription=10)  # a sender that dies with it
    hooks.clock.advance(hours=27)
    assert hooks.store.claim(hooks.clock.now(), per_subscription=10) == []
    (dead,) = hooks.deliveries(subscription, "dead")
    assert dead["id"] == str(claimed.id) and dead["last_error"] == "no outcome was ever reported"
    assert receiver.arrived("/void") == 0
