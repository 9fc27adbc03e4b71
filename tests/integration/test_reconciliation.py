"""Reconciliation on PostgreSQL: zero drift after a mixed load; tampering detected, named, and alerted
above the threshold only; alerts recorded, logged and sent signed; one run at a time."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
from datetime import date
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, HTTPServer
from uuid import UUID

import pytest

from app import create_app
from app.config import Settings
from domain.reconciliation import Reconciliation
from domain.requests import AwardRequest, PlayerProfile
from domain.slot.crystal_forge import CRYSTAL_FORGE
from projections.catalogue import PROJECTIONS, build
from projections.rebuild import rebuild
from projections.runner import catch_up
from projections.source import EventSource
from tests.integration.test_projections import mixed_load
from tests.support import API_KEYS, NO_SCATTER, spin_command, terms, unique


class Receiver(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.received.append((dict(self.headers), body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    Receiver.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/alerts"
    server.shutdown()


@pytest.fixture
def services(database_url, clock, stops, receiver):
    settings = Settings(database_url=database_url, api_keys=API_KEYS, alert_webhook_url=receiver, alert_webhook_secret="s3cret")
    app = create_app(settings, clock=clock, random_bytes=stops)
    yield app.extensions["spinledger"]
    app.extensions["spinledger"].close()


def caught_up(services):
    datastore = services.ledger.recorder.datastore
    for name in PROJECTIONS:
        catch_up(build(datastore, name), EventSource(datastore))


def tamper(services, sql):
    with services.ledger.recorder.datastore.transaction(commit=True) as cursor:
        cursor.execute(sql)


@pytest.fixture
def repaired(services):
    yield
    datastore = services.ledger.recorder.datastore
    for name in PROJECTIONS:  # put the shared views right for the tests that follow
        rebuild(datastore, name)


def test_after_a_mixed_load_reconciliation_reports_zero_drift(services, stops, clock):
    mixed_load(services.ledger, stops, clock)
    caught_up(services)
    report = services.reconcile()
    assert report["status"] == "ok" and report["discrepancies"] == []
    assert {c["name"] for c in report["checks"]} >= {"player balances", "money in (deposits)", "money out (withdrawals)",
                                                      "award spins remaining", "promotion liability"}
    assert all(c["drift"] == 0 and not c["alert"] for c in report["checks"])
    assert 0 < report["events_read"] < report["events_total"] and set(report["positions"]) == {"wallet", "awards", "promotions"}
    assert services.ledger.get_reconciliation(UUID(report["run_id"])) == report


def test_a_small_tampering_is_reported_but_not_alerted(services, stops, clock, repaired, caplog):
    players, _ = mixed_load(services.ledger, stops, clock)
    caught_up(services)
    tamper(services, f"UPDATE wallet SET balance = balance + 0.01 WHERE player_id = '{players[0]}'")
    with caplog.at_level(logging.ERROR):
        report = services.reconcile()
    assert report["status"] == "ok"
    assert {"entity": "player", "id": players[0], "field": "balance"} in [
        {k: d[k] for k in ("entity", "id", "field")} for d in report["discrepancies"]
    ]
    balances = next(c for c in report["checks"] if c["name"] == "player balances")
    assert balances["drift"] == Decimal("0.01") and not balances["alert"]
    assert not [r for r in caplog.records if "reconciliation drift" in r.getMessage()]
    assert Receiver.received == []


def test_a_large_tampering_is_alerted_recorded_logged_and_sent_signed(services, stops, clock, repaired, caplog):
    players, _ = mixed_load(services.ledger, stops, clock)
    caught_up(services)
    tamper(services, "UPDATE wallet SET balance = balance * 2")
    tamper(services, "UPDATE award_status SET spins_used = spins_used + 1")
    with caplog.at_level(logging.ERROR):
        report = services.reconcile()
    assert report["status"] == "drift"
    alerted = {c["name"] for c in report["checks"] if c["alert"]}
    assert {"player balances", "award spins remaining"} <= alerted
    run = services.ledger.streams.load_one(UUID(report["run_id"]))
    assert isinstance(run, Reconciliation) and {a["check"] for a in run.alerts} == alerted
    assert any("reconciliation drift: player balances" in r.getMessage() for r in caplog.records if r.levelno == logging.ERROR)
    headers, body = next((h, b) for h, b in Receiver.received if json.loads(b)["check"] == "player balances")
    expected = "v1=" + hmac.new(b"s3cret", f"{headers['Webhook-Id']}.{headers['Webhook-Timestamp']}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["Webhook-Signature"], expected)
    assert json.loads(body)["type"] == "DriftAlertRaised" and json.loads(body)["run_id"] == report["run_id"]


def test_a_deleted_view_row_is_detected(services, stops, clock, repaired):
    players, _ = mixed_load(services.ledger, stops, clock)
    caught_up(services)
    tamper(services, f"DELETE FROM wallet WHERE player_id = '{players[1]}'")
    tamper(services, "DELETE FROM award_status WHERE award_id = (SELECT award_id FROM award_status ORDER BY issued_at DESC LIMIT 1)")
    report = services.reconcile()
    found = {(d["entity"], d["field"], d["actual"]) for d in report["discrepancies"]}
    assert ("player", "row", "missing") in found and ("award", "row", "missing") in found
    assert next(d for d in report["discrepancies"] if d["entity"] == "player")["id"] == players[1]


def test_view_rows_without_events_are_detected_wherever_they_sort(services, stops, clock, repaired):
    mixed_load(services.ledger, stops, clock)
    caught_up(services)
    for ghost in ("00000000-0000-0000-0000-000000000001", "ffffffff-ffff-ffff-ffff-fffffffffffe"):
        tamper(services, f"INSERT INTO wallet (stream_id, player_id, balance) VALUES ('{ghost}', 'ghost-{ghost[0]}', 5.00)")
    report = services.reconcile()
    found = {(d["entity"], d["id"], d["field"], d["expected"], d["actual"]) for d in report["discrepancies"]}
    assert {("player", "ghost-0", "row", "absent", "present"), ("player", "ghost-f", "row", "absent", "present")} <= found
    balances = next(c for c in report["checks"] if c["name"] == "player balances")
    assert balances["drift"] == Decimal("10.00")


def test_a_promotion_s_reserved_budget_is_checked(services, stops, clock, repaired):
    mixed_load(services.ledger, stops, clock)
    caught_up(services)
    tamper(services, "UPDATE promotion_totals SET spins_reserved = spins_reserved - 1")
    report = services.reconcile()
    assert {(d["entity"], d["field"]) for d in report["discrepancies"]} >= {("promotion", "spins_reserved")}
    reserved = next(c for c in report["checks"] if c["name"] == "promotion spins reserved")
    assert reserved["drift"] < 0


def test_a_drift_in_a_promotion_s_running_liability_is_alerted_as_the_report_would_show_it(services, stops, clock, repaired):
    _, promo_id = mixed_load(services.ledger, stops, clock)
    caught_up(services)
    # Far above the alert line, whatever the other tests' promotions in this database add to the total.
    tamper(services, f"UPDATE promotion_totals SET open_liability = open_liability + 1000000.00 WHERE promo_id = '{promo_id}'")
    report = services.reconcile()
    assert ("promotion", promo_id, "liability") in {(d["entity"], d["id"], d["field"]) for d in report["discrepancies"]}
    liability = next(c for c in report["checks"] if c["name"] == "promotion liability")
    assert liability["alert"] and liability["actual"] - liability["expected"] == Decimal("1000000.00")
    assert report["status"] == "drift"


def test_only_one_run_at_a_time_across_processes(services, database_url):
    import psycopg

    from app.errors import ApiError
    from reconciliation.run import RECONCILE_LOCK_KEY

    with psycopg.connect(database_url, autocommit=True) as other:  # another process's run holds the lock
        other.execute("SELECT pg_advisory_lock(%s)", [RECONCILE_LOCK_KEY])
        with pytest.raises(ApiError) as busy:
            services.reconcile()
        assert busy.value.code == "RECONCILIATION_RUNNING"
    assert services.reconcile()["status"] in ("ok", "drift")  # free again


def test_a_tampered_coin_balance_is_alerted_as_coins_and_never_as_money(services, stops, clock, repaired):
    ledger = services.ledger
    promo_id, player_id = unique("coins"), unique("player")
    ledger.define_promotion(promo_id, terms(award_type="GOLD_COINS", max_spins_per_award=None, bet_per_spin=None, currency=None,
                                            budget_spins=None, award_ttl_seconds=None, max_coins_per_award=Decimal("900.00"),
                                            budget_coins=Decimal("9000.00")))
    ledger.register_player(player_id, PlayerProfile("CA-ON", date(1990, 4, 1), "CAD"))
    ledger.award_free_spins(AwardRequest(player_id, promo_id, "GOLD_COINS", Decimal("400.00"), "crystal-forge-v1", unique("key")))
    stops.plan(NO_SCATTER)
    ledger.spin(CRYSTAL_FORGE, spin_command(player_id, currency="GC", coins=True))
    caught_up(services)
    assert services.reconcile()["status"] == "ok"
    tamper(services, f"UPDATE wallet SET coin_balance = coin_balance * 1000 WHERE player_id = '{player_id}'")
    report = services.reconcile()
    assert report["status"] == "drift"
    assert {"entity": "player", "id": player_id, "field": "coin_balance"} in [
        {k: d[k] for k in ("entity", "id", "field")} for d in report["discrepancies"]]
    alerted = {c["name"] for c in report["checks"] if c["alert"]}
    assert "coin balances" in alerted and "player balances" not in alerted
