"""The expiry job on PostgreSQL: awards expire at their UTC instant, once, with the right forfeited count,
whether or not a player comes back; the webhook hears of it; an expired award cannot be spun."""

from __future__ import annotations

import random
from typing import Iterator
from uuid import UUID

import pytest

from app import create_app
from app.config import Settings
from projections.webhook_outbox import OutboxProjection, OutboxView
from projections.catalogue import PROJECTIONS, build
from projections.runner import catch_up
from projections.source import EventSource
from tests.api.helpers import define, funded_session, spin
from tests.support import ADMIN, API_KEYS, FakeClock, award_json


@pytest.fixture
def service(own_database: str, clock: FakeClock) -> Iterator:
    app = create_app(Settings(database_url=own_database, api_keys=API_KEYS, award_expiry_notice_seconds=3600),
                     clock=clock, random_bytes=random.Random(11).randbytes)
    yield app
    app.extensions["spinledger"].close()


def caught_up(app) -> None:  # type: ignore[no-untyped-def]
    datastore = app.extensions["spinledger"].ledger.recorder.datastore
    for name in PROJECTIONS:
        catch_up(build(datastore, name), EventSource(datastore))


def events_of(app, award_id: str, name: str) -> list:  # type: ignore[no-untyped-def]
    return [e for e in app.extensions["spinledger"].ledger.events.get(UUID(award_id)) if type(e).__name__ == name]


def test_awards_expire_at_their_instant_once_with_their_unplayed_spins(service, clock):
    client, services = service.test_client(), service.extensions["spinledger"]
    promo_id = define(client)
    player_id, session = funded_session(client)
    granted = [client.post("/api/v1/awards", json=award_json(player_id, promo_id, award_value=5), headers=ADMIN).json for _ in range(3)]
    played = spin(client, session, body={"awardId": granted[0]["award_id"]})
    assert played.status_code == 200, played.json
    expires_at = min(award["expires_at"] for award in granted)
    caught_up(service)

    clock.advance(seconds=(services.ledger.get_award(UUID(granted[0]["award_id"])).expires_at - clock.now()).total_seconds() - 3601)
    caught_up(service)
    assert services.expire_awards() == (0, 0)  # more than an hour left: no notice yet
    clock.advance(seconds=2)
    assert services.expire_awards() == (0, 3)  # within the hour: noticed, once
    caught_up(service)
    assert services.expire_awards() == (0, 0)
    clock.advance(seconds=3599)  # the instant itself
    caught_up(service)
    assert services.expire_awards() == (3, 0)
    assert services.expire_awards() == (0, 0)  # once, even before the views have the events
    caught_up(service)
    assert services.expire_awards() == (0, 0)

    forfeited = [events_of(service, award["award_id"], "AwardExpired")[0].spins_forfeited for award in granted]
    assert forfeited == [4, 5, 5] and all(len(events_of(service, a["award_id"], "AwardExpired")) == 1 for a in granted)
    status = client.get(f"/api/v1/awards/{granted[1]['award_id']}", headers=ADMIN).json
    assert status["status"] == "expired" and status["spins_forfeited"] == 5 and status["spins_remaining"] == 0
    assert expires_at == granted[0]["expires_at"]
    report = services.reconcile()  # the views and the events still agree, expiries recorded or not
    assert report["status"] == "ok" and report["discrepancies"] == [], report

    token = client.post("/api/v1/sessions", json={"player_id": player_id}, headers=ADMIN).json["token"]  # a week later
    refused = spin(client, {"Authorization": f"Bearer {token}"}, body={"awardId": granted[1]["award_id"]})
    assert refused.status_code == 409 and "AWARD_EXPIRED" in refused.get_data(as_text=True)


def test_the_expiry_reaches_a_webhook_subscription(service, clock):
    client, services = service.test_client(), service.extensions["spinledger"]
    made = client.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/hooks", "event_types": ["AwardExpired", "AwardExpiringSoon"]},
                       headers=ADMIN)
    assert made.status_code == 201, made.json
    promo_id = define(client)
    player_id, _ = funded_session(client)
    award = client.post("/api/v1/awards", json=award_json(player_id, promo_id, award_value=5), headers=ADMIN).json
    caught_up(service)
    clock.advance(days=8)
    assert services.expire_awards() == (1, 0)
    datastore = services.ledger.recorder.datastore
    outbox = OutboxProjection(OutboxView(datastore, now=clock.now))
    catch_up(outbox, EventSource(datastore))
    deliveries = client.get(f"/api/v1/webhooks/{made.json['id']}/deliveries", headers=ADMIN).json["data"]
    assert [(d["event_type"], d["status"]) for d in deliveries] == [("AwardExpired", "pending")]
    assert deliveries[0]["event_id"] == str(_event_id(award["award_id"], events_of(service, award["award_id"], "AwardExpired")[0].originator_version))
    client.delete(f"/api/v1/webhooks/{made.json['id']}", headers=ADMIN)


def _event_id(stream: str, version: int) -> str:
    from domain.ids import event_id_text

    return event_id_text(stream, version)
