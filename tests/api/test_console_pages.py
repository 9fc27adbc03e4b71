"""Each console page against the API route it stands beside: the same figures, from the same use case."""

from __future__ import annotations

from decimal import Decimal

import json
import re

import psycopg

from app.config import Settings
from app import create_app
from tests.api.helpers import define, funded_session, register, spin
from tests.api.test_operations_api import caught_up
from tests.console_support import page, sign_in, table_rows
from tests.support import ADMIN, API_KEYS, COMPLIANCE, award_json, unique

FINANCE = {"Authorization": "Bearer test-finance-key"}
MARKETING = {"Authorization": "Bearer test-marketing-key"}


def test_run_now_records_a_run_the_list_and_the_api_show_alike_with_a_drift_chart_per_check(app, client):
    caught_up(app)
    token = sign_in(client)
    response = client.post("/console/reconciliation/run", data={"csrf_token": token})
    assert response.status_code == 302
    run_id = response.headers["Location"].rsplit("/", 1)[1]
    latest = client.get("/api/v1/reconciliation/runs?limit=1", headers=FINANCE).json["data"][0]
    assert latest["run_id"] == run_id

    listing = page(client.get("/console/reconciliation"))
    assert listing.h1.get_text() == "Reconciliation" and len(listing.find_all("h1")) == 1
    first = table_rows(listing, "runs")[0]
    assert first[:2] == [latest["started_at"], latest["status"]]
    assert first[3] == str(len(latest["discrepancies"]))
    charts = listing.select("ul.charts svg[role=img]")
    assert [svg["aria-label"].split(":")[0] for svg in charts] == [check["name"] for check in latest["checks"]]
    assert all("against the alert line at 0.5 %" in svg["aria-label"] for svg in charts)

    run = page(client.get(f"/console/reconciliation/runs/{run_id}"))
    rows = table_rows(run, "checks")
    assert [(r[0], r[1], r[2], r[3], r[4]) for r in rows] == [
        (c["name"], c["expected"], c["actual"], c["drift"], c["drift_pct"]) for c in latest["checks"]]
    console_csv = client.get(f"/console/reconciliation/runs/{run_id}/export.csv")
    assert console_csv.mimetype == "text/csv"
    assert console_csv.data == client.get(f"/api/v1/reconciliation/runs/{run_id}/export", headers=FINANCE).data


def test_a_run_that_does_not_exist_is_a_404_page(client):
    sign_in(client)
    response = client.get("/console/reconciliation/runs/0191e0a2-0000-7000-8000-000000000000")
    assert response.status_code == 404 and "RUN_NOT_FOUND" in response.get_data(as_text=True)


def test_the_liability_page_shows_the_reports_figures_and_totals(app, client):
    promo_id = define(client, name="Liability page promotion", bet_per_spin="0.40")
    for _ in range(3):
        assert client.post("/api/v1/awards", json=award_json(register(client), promo_id), headers=ADMIN).status_code == 201
    caught_up(app)
    sign_in(client)
    soup = page(client.get("/console/liability"))
    report = client.get("/api/v1/reports/liability", headers=FINANCE).json
    lines = {line["promo_id"]: line for line in report["data"] if line["award_type"] == "FREE_SPINS"}
    rows = {row[0]: row for row in table_rows(soup, "liability")}
    assert set(rows) == set(lines)
    for promo, line in lines.items():
        assert rows[promo][1:] == [line["name"], line["currency"], str(line["spins_awarded"]), str(line["spins_used"]),
                                   str(line["spins_expired"]), str(line["spins_cancelled"]), str(line["budget_left"]),
                                   line["liability"], line["wins_paid"]]
    assert rows[promo_id][-2] == "6.00"  # 3 awards x 5 spins x 0.40
    (cad,) = [row for row in table_rows(soup, "totals") if row[0] == "CAD"]
    assert cad[1] == f"{sum(float(line['liability']) for line in lines.values() if line['currency'] == 'CAD'):.2f}"
    chart = soup.select_one("svg.bars[role=img]")
    assert "Liability page promotion 6.00 CAD" in chart["aria-label"]


def test_the_events_page_filters_and_pages_as_the_api_does(app, client):
    player_id = register(client)
    promo_id = define(client)
    for _ in range(30):  # each deposit records its request too: two events of the player's
        client.post(f"/api/v1/players/{player_id}/deposits", json={"transaction_id": unique("tx"), "amount": "1.00", "currency": "CAD"},
                    headers=ADMIN)
    client.post("/api/v1/awards", json=award_json(player_id, promo_id), headers=ADMIN)
    caught_up(app)
    sign_in(client)
    first = page(client.get(f"/console/events?player_id={player_id}&promo_id="))
    api_first = client.get(f"/api/v1/events?player_id={player_id}&limit=50", headers=COMPLIANCE).json
    rows = table_rows(first, "events")
    assert [int(row[0]) for row in rows] == [event["position"] for event in api_first["data"]]
    assert [row[2] for row in rows] == [event["type"] for event in api_first["data"]]
    next_link = first.find("a", rel="next")
    assert next_link is not None and f"after={api_first['next_cursor']}" in next_link["href"]
    second = page(client.get(next_link["href"]))
    api_second = client.get(f"/api/v1/events?player_id={player_id}&limit=50&after={api_first['next_cursor']}", headers=COMPLIANCE).json
    assert [int(row[0]) for row in table_rows(second, "events")] == [event["position"] for event in api_second["data"]]
    assert api_second["has_more"] is False and second.find("a", rel="next") is None
    assert json.loads(first.find("details").find("pre").get_text()) == api_first["data"][0]["payload"]

    awarded = page(client.get(f"/console/events?player_id={player_id}&type=AwardReceived&type=FreeSpinsAwarded"))
    assert {row[2] for row in table_rows(awarded, "events")} == {"AwardReceived", "FreeSpinsAwarded"}

    exported = client.get(f"/console/events/export?format=jsonl&player_id={player_id}")
    assert exported.data == client.get(f"/api/v1/events/export?format=jsonl&player_id={player_id}", headers=COMPLIANCE).data


def test_bad_event_filters_are_refused_naming_the_field(client):
    sign_in(client)
    response = client.get("/console/events?from=yesterday&type=NoSuchEvent")
    assert response.status_code == 400
    alert = page(response).find(role="alert").get_text(" ", strip=True)
    assert "from" in alert and "type" in alert


def test_a_compliance_only_key_sees_a_players_games_but_not_the_profile_or_awards_its_api_routes_refuse_it(app, client):
    player_id, session = funded_session(client, "50.00")
    assert spin(client, session).status_code == 200
    caught_up(app)
    assert client.get(f"/api/v1/players/{player_id}", headers=COMPLIANCE).status_code == 403
    sign_in(client, "test-compliance-key")
    response = client.get(f"/console/players/{player_id}")
    assert response.status_code == 200
    soup = page(response)
    assert soup.h1.get_text() == f"Player {player_id}"
    assert soup.select_one("dl.facts") is None and soup.select_one("table.awards") is None
    needs = [p.get_text(" ", strip=True) for p in soup.select("p.needs-scope")]
    assert needs == ["The profile needs an API key with the scope players:write or awards:read.",
                     "The awards need an API key with the scope awards:read or awards:write."]
    assert len(soup.select("table.grid")) == 1


def test_a_bad_promotions_cursor_is_refused_naming_the_field(client):
    sign_in(client)
    response = client.get("/console/promotions?after=nope")
    assert response.status_code == 400
    assert "after" in page(response).find(role="alert").get_text(" ", strip=True)


def test_the_player_page_shows_the_profile_awards_and_last_games_with_their_grids(app, client):
    player_id, session = funded_session(client, "50.00")
    played = won = 0
    while played < 3 or (not won and played < 40):  # at least one winning spin, so a highlight is drawn
        response = spin(client, session)
        assert response.status_code == 200
        played, won = played + 1, won + (Decimal(response.json["totalWin"]) > 0)
    assert won, "no spin of 40 won: the highlight cannot be checked"
    caught_up(app)
    sign_in(client)
    soup = page(client.get(f"/console/players/{player_id}"))
    assert soup.h1.get_text() == f"Player {player_id}"
    profile = client.get(f"/api/v1/players/{player_id}", headers=ADMIN).json
    assert f"{profile['balance']} CAD" in soup.select_one("dl.facts").get_text(" ", strip=True)
    history = client.get(f"/api/v1/players/{player_id}/game-history?limit=10", headers=COMPLIANCE).json["data"]
    grids = soup.select("table.grid")
    assert len(grids) == sum(len(game["spins"]) for game in history) == played
    spins = [spin_record for game in history for spin_record in game["spins"]]
    for grid, record in zip(grids, spins):
        cells = [cell for row in grid.find("tbody").find_all("tr") for cell in row.find_all("td")]
        assert len(cells) == 15
        winning = {(reel, row) for win in record["wins"] for reel, row in win["positions"]}
        marked = {(index % 5, index // 5) for index, cell in enumerate(cells) if "win" in (cell.get("class") or [])}
        assert marked == winning
        assert all(re.fullmatch(r"[A-Z][A-Za-z ]+", cell.find(string=True).strip()) for cell in cells)
    assert any(record["wins"] for record in spins)


def test_the_spin_page_replays_the_spin_and_says_it_matches(app, client):
    player_id, session = funded_session(client, "10.00")
    spun = spin(client, session)
    assert spun.status_code == 200
    spin_id = spun.json["spinId"] if "spinId" in spun.json else spun.json["spin_id"]
    caught_up(app)
    sign_in(client)
    soup = page(client.get(f"/console/spins/{spin_id}"))
    assert soup.find(class_="verdict").get_text(" ", strip=True) == "Replay: matches"
    replay = client.get(f"/api/v1/spins/{spin_id}/replay", headers=COMPLIANCE).json
    assert replay["matches"] is True
    assert [row[0] for row in table_rows(soup, "replay")] == list(replay["recomputed"])
    assert soup.select_one("table.grid") is not None


def test_a_stored_spin_altered_after_the_fact_is_shown_as_not_matching_its_replay(own_database, clock, random_bytes):
    app = create_app(Settings(database_url=own_database, api_keys=API_KEYS), clock=clock, random_bytes=random_bytes)  # it tampers
    try:
        client = app.test_client()
        _, session = funded_session(client, "10.00")
        spin_id = spin(client, session).json["spinId"]
        caught_up(app)
        with psycopg.connect(own_database, autocommit=True) as db:  # someone with write access to the store raises the recorded win
            altered = db.execute(
                """UPDATE spinledger_events SET state = convert_to(regexp_replace(convert_from(state, 'UTF8'),
                       '"total_win":\\{"_type_":"decimal_str","_data_":"', '"total_win":{"_type_":"decimal_str","_data_":"9'), 'UTF8')
                   WHERE topic LIKE '%%SpinSettled' AND convert_from(state, 'UTF8')::jsonb #>> '{spin,spin_id}' = %s""", [spin_id]).rowcount
        assert altered == 1
        sign_in(client)
        soup = page(client.get(f"/console/spins/{spin_id}"))
        verdict = soup.find(class_="verdict")
        assert verdict.get_text(" ", strip=True).startswith("Replay: does not match") and "total_win" in verdict.get_text()
        assert "mismatch" in verdict["class"]
        replay = client.get(f"/api/v1/spins/{spin_id}/replay", headers=COMPLIANCE).json
        assert replay["matches"] is False and "total_win" in replay["mismatches"]
    finally:
        app.extensions["spinledger"].close()


def test_the_audit_page_lists_the_calls_the_api_lists(app, client):
    player_id = register(client)
    for _ in range(2):
        client.post(f"/api/v1/players/{player_id}/deposits", json={"transaction_id": unique("tx"), "amount": "5.00", "currency": "CAD"},
                    headers=ADMIN)
    sign_in(client)
    soup = page(client.get(f"/console/audit?player_id={player_id}"))
    api = client.get(f"/api/v1/audit/requests?player_id={player_id}", headers=COMPLIANCE).json["data"]
    rows = table_rows(soup, "audit")
    assert [row[5] for row in rows] == [entry["request_id"] for entry in api] and len(rows) >= 2
    assert soup.select_one("table.audit pre") is None  # the list shows sizes; a call's page has its bodies
    link = soup.select_one("table.audit tbody tr a[href^='/console/audit/']")
    assert f"Request {api[0]['request_bytes']} bytes" in link.get_text(" ", strip=True)
    call = page(client.get(link["href"]))
    one = client.get(f"/api/v1/audit/requests/{api[0]['id']}", headers=COMPLIANCE).json
    request_body, response_body = (pre.get_text() for pre in call.select("pre.body"))
    assert json.loads(request_body) == one["request_body"] == api[0]["request_body"]
    assert json.loads(response_body) == one["response_body"]
    assert call.h1.get_text() == f"Audit log row {api[0]['id']}"
    assert "test-admin-key" not in soup.get_text() + call.get_text()


def test_the_promotions_page_lists_the_apis_promotions_with_budget_gauges_and_finds_an_award(app, client):
    promo_id = define(client, name="Gauge promotion", budget_spins=100)
    key = unique("key")
    award = client.post("/api/v1/awards", json=award_json(register(client), promo_id, key=key), headers=ADMIN).json
    caught_up(app)
    sign_in(client)
    soup = page(client.get("/console/promotions"))
    listed = client.get("/api/v1/promotions?limit=25", headers=ADMIN).json["data"]
    rows = table_rows(soup, "promotions")
    assert [row[0].split(" ")[-1] for row in rows] == [promotion["promo_id"] for promotion in listed]
    (row,) = [row for row in rows if promo_id in row[0]]
    assert row[3] == "5 / 100 spins" and row[4] == "95"
    gauge = soup.find("svg", attrs={"aria-label": "Budget of Gauge promotion: 5.0 % used"})
    assert gauge is not None and gauge["role"] == "img"
    by_key = page(client.get(f"/console/promotions?idempotency_key={key}"))
    assert award["award_id"] in by_key.select_one("dl.award").get_text()
    by_id = page(client.get(f"/console/promotions?award_id={award['award_id']}"))
    assert "5 used of 5" not in by_id.get_text() and "0 used of 5" in by_id.get_text()
    missing = page(client.get("/console/promotions?award_id=0191e0a2-0000-7000-8000-000000000000"))
    assert "no award" in missing.find(role="alert").get_text().lower()


def test_the_promotions_and_campaigns_lists_of_the_api_are_newest_first_and_paged(app, client):
    first, second = define(client), define(client)
    caught_up(app)
    page_one = client.get("/api/v1/promotions?limit=1", headers=ADMIN).json
    assert page_one["data"][0]["promo_id"] == second and page_one["has_more"] is True
    page_two = client.get(f"/api/v1/promotions?limit=1&after={page_one['next_cursor']}", headers=ADMIN).json
    assert page_two["data"][0]["promo_id"] == first
    assert client.get("/api/v1/promotions?after=nope", headers=ADMIN).status_code == 400
    campaign_id = unique("campaign")
    body = {"name": "Console campaign", "promo_id": first, "award_value": 5, "game_code": "crystal-forge-v1"}
    assert client.put(f"/api/v1/campaigns/{campaign_id}", json=body, headers=MARKETING).status_code == 201
    caught_up(app)
    campaigns = client.get("/api/v1/campaigns?limit=5", headers=MARKETING).json["data"]
    assert campaigns[0]["campaign_id"] == campaign_id and campaigns[0]["status"] == "draft"
    sign_in(client)
    rows = table_rows(page(client.get("/console/promotions")), "campaigns")
    assert campaign_id in rows[0][0] and rows[0][2] == "draft"


def test_the_operations_page_shows_the_lag_and_redelivers_a_dead_letter(app, client, db):
    promo_id = define(client)
    subscription = client.post("/api/v1/webhooks", json={"url": "https://receiver.example/hook", "event_types": ["FreeSpinsAwarded"]},
                               headers=MARKETING).json["id"]
    client.post("/api/v1/awards", json=award_json(register(client), promo_id), headers=ADMIN)
    caught_up(app)
    # A day of failed retries, as the sender leaves a delivery that never got through.
    db.execute("UPDATE webhook_deliveries SET status = 'dead', attempts = 12, last_status = 503, last_error = 'answered 503'"
               " WHERE subscription_id = %s", [subscription])
    token = sign_in(client)
    soup = page(client.get("/console/operations"))
    lags = client.get("/readyz").json["projections"]
    assert [row[0] for row in table_rows(soup, "lag")] == [lag["projection"] for lag in lags]
    section = soup.find("section", attrs={"aria-labelledby": f"sub-{subscription}"})
    (dead,) = [[cell.get_text(" ", strip=True) for cell in row.find_all("td")] for row in section.select("table.dead tbody tr")]
    assert dead[2] == "12" and dead[3] == "503"
    delivery_id = dead[0]
    response = client.post(f"/console/operations/webhooks/{subscription}/redeliver", data={"csrf_token": token, "delivery_id": delivery_id})
    assert response.status_code == 302
    assert "1 delivery due again" in page(client.get("/console/operations")).find(role="status").get_text()
    (status,) = db.execute("SELECT status FROM webhook_deliveries WHERE id = %s", [delivery_id]).fetchone()
    assert status == "pending"


def test_redelivering_needs_the_webhooks_scope(app, client):
    token = sign_in(client, "test-finance-key")
    response = client.post("/console/operations/webhooks/0191e0a2-0000-7000-8000-000000000000/redeliver", data={"csrf_token": token})
    assert response.status_code == 403
    assert "Redelivering needs an API key with the scope awards:write" in page(client.get("/console/operations")).get_text()
