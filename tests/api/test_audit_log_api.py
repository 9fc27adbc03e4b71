"""The raw audit log through the Flask client on PostgreSQL: a row for every money-moving call (refused ones
too), no secret in any row, the compliance query, and the purge (time moved on the injected clock)."""

from __future__ import annotations

import argparse
import logging
import secrets
from datetime import datetime, timezone

import psycopg
import pytest
from psycopg.rows import dict_row

from app import create_app
from app.audit_capture import AUDITED_ENDPOINTS
from app.audit_cli import add_audit_commands, audit_command
from app.config import Settings
from app.database import create_database, drop_database, with_database
from app.bootstrap import SystemClock
from tests.api.helpers import assert_envelope, define, register
from tests.support import ADMIN, API_KEYS, COMPLIANCE, THREE_SCATTERS, ScriptedStops, T0, award_json, event_count, unique

PROBE_KEY = "audit-probe-key-7c1e9a"
PROBE = {"Authorization": f"Bearer {PROBE_KEY}"}
MARKETING = {"Authorization": "Bearer test-marketing-key"}
KEYS = {**API_KEYS, PROBE_KEY: {"name": "audit-probe", "scopes": ["players:write"]}}


@pytest.fixture
def random_bytes(request):
    return ScriptedStops(seed=request.node.nodeid)


@pytest.fixture
def app(database_url, clock, random_bytes):
    flask_app = create_app(Settings(database_url=database_url, api_keys=KEYS), clock=clock, random_bytes=random_bytes)
    yield flask_app
    flask_app.extensions["spinledger"].close()


def post(client, path, body, headers, **extra_headers):
    """POSTs with a request id of its own, by which the call's audit row is found."""
    request_id = unique("audit")
    response = client.post(path, json=body, headers={**headers, "X-Request-Id": request_id, **extra_headers})
    return response, request_id


def audit_row(db, request_id):
    (row,) = db.cursor(row_factory=dict_row).execute("SELECT * FROM audit_requests WHERE request_id = %s", [request_id]).fetchall()
    return row


def rows_containing(db, text):
    return db.execute("SELECT count(*) FROM audit_requests a WHERE strpos(row_to_json(a)::text, %s) > 0", [text]).fetchone()[0]


def deposit(client, player_id, amount="50.00", headers=ADMIN):
    return post(client, f"/api/v1/players/{player_id}/deposits", {"transaction_id": unique("tx"), "amount": amount, "currency": "CAD"}, headers)


def session_for(client, player_id):
    response, _ = post(client, "/api/v1/sessions", {"player_id": player_id}, ADMIN)
    assert response.status_code == 201, response.json
    return response.json["token"]


def assert_logged(db, request_id, response, route, key_name, player_ids, idempotency_key=None):
    row = audit_row(db, request_id)
    assert (row["method"], row["route"], row["status"]) == ("POST", route, response.status_code)
    assert (row["key_name"], row["player_ids"], row["idempotency_key"]) == (key_name, player_ids, idempotency_key)
    assert row["at"] == T0 and row["latency_ms"] >= 0 and row["bodies_purged_at"] is None
    assert row["response_body"] == response.json and row["response_text"] is None
    assert row["request_bytes"] > 0 and row["response_bytes"] == len(response.get_data())
    return row


def test_every_audited_endpoint_is_a_route_of_the_service(app):
    assert AUDITED_ENDPOINTS <= {rule.endpoint for rule in app.url_map.iter_rules()}


def test_every_money_moving_call_leaves_a_row_with_its_request_response_and_metadata(client, db, random_bytes):
    player_id, other = register(client), register(client)
    response, request_id = deposit(client, player_id, "100.00")
    row = assert_logged(db, request_id, response, "/api/v1/players/<extid:player_id>/deposits", "admin", [player_id], response.json["transaction_id"])
    assert row["path"] == f"/api/v1/players/{player_id}/deposits" and row["request_body"]["amount"] == "100.00"

    body = {"transaction_id": unique("tx"), "amount": "10.00", "currency": "CAD"}
    response, request_id = post(client, f"/api/v1/players/{player_id}/withdrawals", body, ADMIN)
    row = assert_logged(db, request_id, response, "/api/v1/players/<extid:player_id>/withdrawals", "admin", [player_id], body["transaction_id"])
    assert row["request_body"] == body

    promo_id = define(client)
    award = award_json(player_id, promo_id)
    key = award.pop("idempotency_key")
    response, request_id = post(client, "/api/v1/awards", award, ADMIN, **{"Idempotency-Key": key})
    assert response.status_code == 201
    assert assert_logged(db, request_id, response, "/api/v1/awards", "admin", [player_id], key)["request_body"] == award
    award_id = response.json["award_id"]

    items = [award_json(player_id, promo_id), award_json(other, promo_id)]
    response, request_id = post(client, "/api/v1/awards/batch", {"awards": items}, ADMIN)
    assert [result["status"] for result in response.json["results"]] == [201, 201]
    assert assert_logged(db, request_id, response, "/api/v1/awards/batch", "admin", [player_id, other])["request_body"] == {"awards": items}

    response, request_id = post(client, f"/api/v1/awards/{award_id}/cancel", {"reason": "campaign withdrawn"}, ADMIN)
    assert response.status_code == 200
    assert assert_logged(db, request_id, response, "/api/v1/awards/<uuid:award_id>/cancel", "admin", [player_id])["path"] == f"/api/v1/awards/{award_id}/cancel"

    response, request_id = post(client, "/api/v1/sessions", {"player_id": player_id}, ADMIN)
    row = audit_row(db, request_id)
    assert (row["route"], row["status"], row["key_name"], row["player_ids"]) == ("/api/v1/sessions", 201, "admin", [player_id])
    assert row["response_body"] == {**response.json, "token": "[REDACTED]"}
    session = {"Authorization": f"Bearer {response.json['token']}"}

    random_bytes.plan(THREE_SCATTERS)
    response, request_id = post(client, "/api/v1/game/spin", {"betAmount": "1.00", "currency": "CAD"}, session)
    assert response.status_code == 200 and response.json["bonusTriggered"]
    row = assert_logged(db, request_id, response, "/api/v1/game/spin", None, [player_id], request_id)
    assert row["session_id"].startswith("sess-") and row["request_body"] == {"betAmount": "1.00", "currency": "CAD"}

    block_id = response.json["bonusData"]["blockId"]
    response, request_id = post(client, "/api/v1/game/bonus/spin", {"blockId": block_id}, session)
    assert response.status_code == 200
    assert assert_logged(db, request_id, response, "/api/v1/game/bonus/spin", None, [player_id], request_id)["request_body"] == {"blockId": block_id}

    response, request_id = post(client, f"/api/v1/players/{other}/self-exclusion", {"period": "6m"}, ADMIN)
    assert response.status_code == 200
    assert_logged(db, request_id, response, "/api/v1/players/<extid:player_id>/self-exclusion", "admin", [other])


def test_refused_calls_are_logged_with_their_error_and_the_refused_keys_name(client, db):
    player_id = register(client)
    response, request_id = deposit(client, player_id, headers=MARKETING)
    assert_envelope(response, 403, "FORBIDDEN")
    row = audit_row(db, request_id)
    assert (row["status"], row["key_name"], row["player_ids"]) == (403, "marketing", [player_id])
    assert row["idempotency_key"] == row["request_body"]["transaction_id"] and row["response_body"] == response.json

    response, request_id = deposit(client, player_id, headers={"Authorization": "Bearer not-a-key-of-ours"})
    assert_envelope(response, 401, "UNAUTHORIZED")
    assert audit_row(db, request_id)["key_name"] is None

    body = {"transaction_id": unique("tx"), "amount": 5.0, "currency": "CAD"}
    response, request_id = post(client, f"/api/v1/players/{player_id}/withdrawals", body, ADMIN)
    assert_envelope(response, 400, "VALIDATION_ERROR", field="amount")
    assert assert_logged(db, request_id, response, "/api/v1/players/<extid:player_id>/withdrawals", "admin", [player_id], body["transaction_id"])["request_body"] == body

    response, request_id = post(client, "/api/v1/game/spin", {"betAmount": "1.00", "currency": "CAD"}, {"Authorization": "Bearer not-a-session"})
    assert_envelope(response, 401, "INVALID_TOKEN")
    row = audit_row(db, request_id)
    assert (row["status"], row["key_name"], row["session_id"], row["player_ids"]) == (401, None, None, [])


def test_a_session_token_never_reaches_the_audit_log(client, db):
    player_id = register(client)
    deposit(client, player_id)
    token = session_for(client, player_id)
    session = {"Authorization": f"Bearer {token}"}
    response, _ = post(client, "/api/v1/game/spin", {"betAmount": "1.00", "currency": "CAD", "note": f"my token is {token}"}, session)
    assert_envelope(response, 400, "VALIDATION_ERROR", field="note")
    response, _ = post(client, "/api/v1/game/spin", {"betAmount": "1.00", "currency": "CAD"}, session)
    assert response.status_code == 200
    assert db.execute("SELECT count(*) FROM audit_requests WHERE %s = ANY(player_ids)", [player_id]).fetchone()[0] == 4
    assert rows_containing(db, token) == 0
    assert rows_containing(db, token[:24]) == 0


def test_no_row_anywhere_holds_an_api_key_or_a_secret_sent_in_a_body(client, db):
    player_id = register(client)
    body = {"player_id": player_id, "request_id": "test-admin-key", "auth": {"Password": "hunter2-pw", "nested": [{"API_KEY": "k-123456"}]}}
    response, request_id = post(client, "/api/v1/sessions", body, ADMIN)
    assert_envelope(response, 400, "VALIDATION_ERROR")
    stored = audit_row(db, request_id)["request_body"]
    assert stored == {"player_id": player_id, "request_id": "[REDACTED]", "auth": {"Password": "[REDACTED]", "nested": [{"API_KEY": "[REDACTED]"}]}}
    for secret in [*KEYS, "hunter2-pw", "k-123456"]:
        assert rows_containing(db, secret) == 0, secret


def test_a_body_that_is_not_json_is_kept_as_redacted_text(client, db):
    player_id = register(client)
    request_id = unique("audit")
    response = client.post(f"/api/v1/players/{player_id}/deposits", data="amount=5.00&token=s3cr3t-value&currency=CAD",
                           headers={**ADMIN, "X-Request-Id": request_id, "Content-Type": "application/x-www-form-urlencoded"})
    assert_envelope(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    row = audit_row(db, request_id)
    assert row["request_body"] is None and row["request_text"] == "amount=5.00&token=[REDACTED]&currency=CAD"
    assert rows_containing(db, "s3cr3t-value") == 0


def test_a_body_larger_than_the_route_accepts_is_logged_without_it(client, db):
    player_id = register(client)
    request_id = unique("audit")
    oversized = '{"transaction_id": "' + "x" * 70_000 + '"}'
    response = client.post(f"/api/v1/players/{player_id}/deposits", data=oversized,
                           headers={**ADMIN, "X-Request-Id": request_id, "Content-Type": "application/json"})
    assert_envelope(response, 413, "PAYLOAD_TOO_LARGE")
    row = audit_row(db, request_id)
    assert (row["status"], row["request_bytes"], row["request_truncated"]) == (413, len(oversized), True)
    assert row["request_body"] is None and row["request_text"] is None and row["response_body"]["error"]["code"] == "PAYLOAD_TOO_LARGE"


def test_a_failed_audit_write_is_logged_with_the_request_id_and_the_client_still_gets_its_answer(app, client, db, caplog, monkeypatch):
    player_id = register(client)

    def fail(_record):
        raise RuntimeError("audit table unavailable")

    monkeypatch.setattr(app.extensions["spinledger"].audit, "record", fail)
    with caplog.at_level(logging.ERROR, logger="app.audit_hooks"):
        response, request_id = deposit(client, player_id)
    assert response.status_code == 201 and response.json["balance"] == "50.00"
    assert any(r.levelno == logging.ERROR and request_id in r.getMessage() for r in caplog.records)
    assert db.execute("SELECT count(*) FROM audit_requests WHERE request_id = %s", [request_id]).fetchone()[0] == 0


def audit_page(client, headers=COMPLIANCE, **query):
    response = client.get("/api/v1/audit/requests", query_string=query, headers=headers)
    assert response.status_code == 200, response.json
    return response.json


def test_the_audit_query_filters_by_time_route_player_and_key_name(client, clock):
    player_id = register(client)
    clock.set(datetime(2030, 3, 1, 9, 0, tzinfo=timezone.utc))
    _, early = deposit(client, player_id)
    clock.set(datetime(2030, 3, 2, 9, 0, tzinfo=timezone.utc))
    _, probe_deposit = deposit(client, player_id, headers=PROBE)
    _, withdrawal = post(client, f"/api/v1/players/{player_id}/withdrawals", {"transaction_id": unique("tx"), "amount": "1.00", "currency": "CAD"}, ADMIN)
    clock.set(datetime(2030, 3, 3, 9, 0, tzinfo=timezone.utc))
    _, late = deposit(client, player_id)

    def request_ids(**query):
        return [item["request_id"] for item in audit_page(client, player_id=player_id, **query)["data"]]

    assert request_ids() == [late, withdrawal, probe_deposit, early]
    assert request_ids(**{"from": "2030-03-02T00:00:00Z", "to": "2030-03-03T09:00:00Z"}) == [withdrawal, probe_deposit]
    assert request_ids(route="/api/v1/players/<extid:player_id>/withdrawals") == [withdrawal]
    assert request_ids(key_name="audit-probe") == [probe_deposit]
    probe_rows = audit_page(client, key_name="audit-probe", limit=1000)["data"]
    assert probe_deposit in [item["request_id"] for item in probe_rows] and {item["key_name"] for item in probe_rows} == {"audit-probe"}
    item = audit_page(client, player_id=player_id, route="/api/v1/players/<extid:player_id>/withdrawals")["data"][0]
    assert item["at"] == "2030-03-02T09:00:00.000Z" and item["player_id"] == player_id and item["player_ids"] == [player_id]
    assert item["request_body"]["amount"] == "1.00" and item["response_body"]["balance"] == "99.00" and item["bodies_purged_at"] is None
    assert audit_page(client, player_id=unique("nobody"))["data"] == []


def test_a_batch_is_found_under_each_of_its_players(client):
    players = [register(client) for _ in range(3)]
    promo_id = define(client)
    _, request_id = post(client, "/api/v1/awards/batch", {"awards": [award_json(p, promo_id) for p in players]}, ADMIN)
    for player_id in players:
        (item,) = audit_page(client, player_id=player_id, route="/api/v1/awards/batch")["data"]
        assert item["request_id"] == request_id and item["player_id"] is None and item["player_ids"] == players


def test_the_audit_query_pages_newest_first_with_a_cursor_and_no_repeats(client, clock):
    player_id = register(client)
    expected = []
    for i in range(7):
        if i % 3 == 0:
            clock.advance(seconds=1)  # several calls share an instant: the id orders them
        expected.insert(0, deposit(client, player_id, "1.00")[1])
    seen, after, pages = [], None, 0
    while True:
        page = audit_page(client, player_id=player_id, limit=3, **({"after": after} if after else {}))
        seen += [item["request_id"] for item in page["data"]]
        pages += 1
        after = page["next_cursor"]
        assert page["has_more"] == (after is not None)
        if not page["has_more"]:
            break
    assert seen == expected and pages == 3 and len(set(seen)) == 7


def test_a_list_without_bodies_keeps_their_sizes_and_one_row_read_by_its_id_has_them(client):
    player_id = register(client)
    _, request_id = deposit(client, player_id, "3.00")
    (full,) = audit_page(client, player_id=player_id)["data"]
    (bare,) = audit_page(client, player_id=player_id, bodies="false")["data"]
    bodies = ("request_body", "request_text", "response_body", "response_text")
    assert all(bare[field] is None for field in bodies) and full["request_body"]["amount"] == "3.00"
    assert {k: v for k, v in bare.items() if k not in bodies} == {k: v for k, v in full.items() if k not in bodies}
    assert bare["request_bytes"] > 0 and bare["response_bytes"] > 0
    one = client.get(f"/api/v1/audit/requests/{bare['id']}", headers=COMPLIANCE)
    assert one.status_code == 200 and one.json == full and one.json["request_id"] == request_id


def test_an_unknown_audit_row_is_not_found_and_only_compliance_reads_one(client):
    assert_envelope(client.get("/api/v1/audit/requests/987654321", headers=COMPLIANCE), 404, "AUDIT_REQUEST_NOT_FOUND", field="id")
    assert_envelope(client.get("/api/v1/audit/requests/1", headers=ADMIN), 403, "FORBIDDEN")
    assert_envelope(client.get("/api/v1/audit/requests/1"), 401, "UNAUTHORIZED")


@pytest.mark.parametrize("headers", [ADMIN, MARKETING, {"Authorization": "Bearer test-finance-key"}, {"Authorization": "Bearer test-reader-key"}])
def test_only_a_compliance_key_reads_the_audit_log(client, headers):
    assert_envelope(client.get("/api/v1/audit/requests", headers=headers), 403, "FORBIDDEN")


def test_the_audit_log_without_a_key_is_unauthorized(client):
    assert_envelope(client.get("/api/v1/audit/requests"), 401, "UNAUTHORIZED")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"colour": "red"}, "colour"),
        ({"limit": "1001"}, "limit"),
        ({"from": "2030-03-02"}, "from"),
        ({"from": "2030-03-02T00:00:00Z", "to": "2030-03-01T00:00:00Z"}, "to"),
        ({"after": "not-a-cursor"}, "after"),
    ],
)
def test_a_bad_audit_query_names_its_field(client, query, field):
    assert_envelope(client.get("/api/v1/audit/requests", query_string=query, headers=COMPLIANCE), 400, "VALIDATION_ERROR", field=field)


def test_the_purge_empties_old_bodies_keeps_their_metadata_and_deletes_rows_past_twelve_months(app, client, db, clock):
    player_id = register(client)
    calls = {}
    for name, at in [("year_old", datetime(2001, 1, 1, 10, tzinfo=timezone.utc)),
                     ("past_retention", datetime(2001, 9, 1, 10, tzinfo=timezone.utc)),
                     ("recent", datetime(2001, 12, 20, 10, tzinfo=timezone.utc))]:
        clock.set(at)
        calls[name] = deposit(client, player_id, "2.00")[1]
    events = event_count(db)
    clock.set(datetime(2002, 1, 2, 10, tzinfo=timezone.utc))
    purged = app.extensions["spinledger"].purge_audit_log()
    assert (purged.rows_deleted, purged.bodies_purged) == (1, 1)
    assert purged.bodies_before == datetime(2001, 10, 4, 10, tzinfo=timezone.utc) and purged.rows_before == datetime(2001, 1, 2, 10, tzinfo=timezone.utc)
    assert db.execute("SELECT count(*) FROM audit_requests WHERE request_id = %s", [calls["year_old"]]).fetchone()[0] == 0
    kept = audit_row(db, calls["past_retention"])
    assert [kept[c] for c in ("request_body", "request_text", "response_body", "response_text")] == [None] * 4
    assert kept["bodies_purged_at"] == clock.now() and kept["status"] == 201 and kept["player_ids"] == [player_id]
    assert kept["key_name"] == "admin" and kept["idempotency_key"] is not None and kept["request_bytes"] > 0
    assert audit_row(db, calls["recent"])["response_body"]["amount"] == "2.00"
    items = audit_page(client, player_id=player_id, route="/api/v1/players/<extid:player_id>/deposits")["data"]
    assert [(i["request_id"], i["bodies_purged_at"]) for i in items] == [(calls["recent"], None), (calls["past_retention"], "2002-01-02T10:00:00.000Z")]
    assert event_count(db) == events  # the events are never touched
    again = app.extensions["spinledger"].purge_audit_log()
    assert (again.bodies_purged, again.rows_deleted) == (0, 0)


def test_the_retention_follows_audit_raw_retention_days(database_url, clock, random_bytes, db):
    app = create_app(Settings(database_url=database_url, api_keys=KEYS, audit_raw_retention_days=7), clock=clock, random_bytes=random_bytes)
    try:
        client = app.test_client()
        player_id = register(client)
        clock.set(datetime(2003, 5, 1, tzinfo=timezone.utc))
        _, eight_days = deposit(client, player_id)
        clock.advance(days=2)
        _, six_days = deposit(client, player_id)
        clock.set(datetime(2003, 5, 9, tzinfo=timezone.utc))
        assert app.extensions["spinledger"].purge_audit_log().bodies_before == datetime(2003, 5, 2, tzinfo=timezone.utc)
        assert audit_row(db, eight_days)["request_body"] is None and audit_row(db, six_days)["request_body"] is not None
    finally:
        app.extensions["spinledger"].close()



def test_spinledger_audit_purge_purges_once_and_prints_what_it_purged(server_url, clock, random_bytes, monkeypatch, capsys):
    name = f"spinledger_audit_cli_{secrets.token_hex(4)}"
    create_database(server_url, name)
    settings = Settings(database_url=with_database(server_url, name), api_keys=KEYS)
    try:
        app = create_app(settings, clock=clock, random_bytes=random_bytes)
        client = app.test_client()
        player_id = register(client)
        for at in (datetime(2001, 1, 1, tzinfo=timezone.utc), datetime(2001, 9, 1, tzinfo=timezone.utc), datetime(2001, 12, 30, tzinfo=timezone.utc)):
            clock.set(at)
            deposit(client, player_id)
        app.extensions["spinledger"].close()
        monkeypatch.setattr(SystemClock, "now", lambda _self: datetime(2002, 1, 2, 10, tzinfo=timezone.utc))
        parser = argparse.ArgumentParser(prog="spinledger")
        add_audit_commands(parser.add_subparsers(dest="command"))
        assert audit_command(settings, parser.parse_args(["audit", "purge"])) == 0
        assert capsys.readouterr().out == (
            "audit log purged as of 2002-01-02T10:00:00.000Z:\n"
            "  bodies emptied: 1 (calls received before 2001-10-04T10:00:00.000Z; AUDIT_RAW_RETENTION_DAYS=90)\n"
            "  calls deleted:  1 (received before 2001-01-02T10:00:00.000Z; 12 months)\n"
        )
        with psycopg.connect(settings.database_url) as conn:
            kept = conn.execute("SELECT at, request_body IS NULL FROM audit_requests ORDER BY at").fetchall()
        assert kept == [(datetime(2001, 9, 1, tzinfo=timezone.utc), True), (datetime(2001, 12, 30, tzinfo=timezone.utc), False)]
    finally:
        drop_database(server_url, name)
