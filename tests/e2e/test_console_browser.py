"""The console in a real browser: Debian's chromium, driven by Playwright, against a real ``spinledger serve`` and
``spinledger worker`` on a database of the module's own. Each test leaves a screenshot in ``tests/e2e/screenshots/``
for a person to look at."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import psycopg
import pytest
import requests
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.e2e.conftest import SYNTHETIC_PLAYERS, Server
from tests.receiver import Receiver
from tests.support import ADMIN, COMPLIANCE, award_json, scratch_database, terms_json, unique

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).with_name("screenshots")
OFFICER_KEY = "test-officer-key"
MARKETING = {"Authorization": "Bearer test-marketing-key"}


@pytest.fixture(scope="module")
def deployment(server_url: str) -> Iterator[tuple[Server, str]]:
    with scratch_database(server_url, "spinledger_console") as url:
        # One attempt, then an hour's wait: a test makes its delivery dead without waiting a day of retries.
        env = {**SYNTHETIC_PLAYERS, "WEBHOOK_ALLOW_PRIVATE": "true", "WEBHOOK_RETRY_BASE_SECONDS": "3600", "PROJECTION_POLL_SECONDS": "0.1"}
        running = Server(url, env=env)
        yield running, url
        running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def tab(browser: Browser, deployment, request: pytest.FixtureRequest) -> Iterator[Page]:
    server, _ = deployment
    context = browser.new_context(base_url=server.base, viewport={"width": 1400, "height": 1000})
    opened = context.new_page()
    yield opened
    SCREENSHOTS.mkdir(exist_ok=True)
    opened.screenshot(path=str(SCREENSHOTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def sign_in(tab: Page, key: str = OFFICER_KEY, start: str = "/console/") -> None:
    tab.goto(start)
    expect(tab.get_by_role("heading", level=1)).to_have_text("Sign in")
    tab.get_by_label("API key").fill(key)
    tab.get_by_role("button", name="Sign in").click()


def api(server: Server, method: str, path: str, headers: dict[str, str], body: Any = None) -> dict[str, Any]:
    answer = requests.request(method, f"{server.base}{path}", json=body, headers=headers, timeout=15)
    assert answer.status_code < 300, answer.text
    return answer.json() if answer.content else {}


def until(condition: Callable[[], Any], seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    while not (found := condition()):
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.1)
    return found


def player_with_events(server: Server, deposits: int) -> str:
    player_id = unique("player")
    api(server, "PUT", f"/api/v1/players/{player_id}", ADMIN, {"region": "CA-ON", "birth_date": "1990-04-01", "currency": "CAD"})
    for _ in range(deposits):
        api(server, "POST", f"/api/v1/players/{player_id}/deposits", ADMIN, {"transaction_id": unique("tx"), "amount": "2.00", "currency": "CAD"})
    return player_id


def test_an_officer_signs_in_runs_a_reconciliation_and_sees_it_listed_and_charted(tab, deployment):
    sign_in(tab)
    expect(tab.get_by_role("heading", level=1)).to_have_text("Console")
    tab.get_by_role("navigation").get_by_role("link", name="Reconciliation").click()
    expect(tab.get_by_role("heading", level=1)).to_have_text("Reconciliation")
    tab.get_by_role("button", name="Run now").click()
    expect(tab.get_by_role("heading", level=1)).to_have_text("Reconciliation run")
    run_id = tab.locator("dl.facts dd code").first.inner_text()
    expect(tab.get_by_role("status")).to_contain_text(f"Run {run_id} finished")
    checks = tab.locator("table.checks tbody tr").count()
    assert checks >= 10
    tab.get_by_role("link", name="All runs").click()
    first = tab.locator("table.runs tbody tr").first
    expect(first.locator("td").nth(1)).to_have_text("ok")
    first.get_by_role("link").click()
    expect(tab.locator("dl.facts dd code").first).to_have_text(run_id)
    tab.go_back()
    charts = tab.locator("ul.charts svg[role=img]")
    assert charts.count() == checks
    label = charts.first.get_attribute("aria-label")
    assert "drift % over the last 1 runs against the alert line at 0.5 %" in label


def test_a_compliance_officer_finds_a_players_events_and_pages_through_them(tab, deployment):
    server, _ = deployment
    player_id = player_with_events(server, 30)
    expected = until(lambda: (events := requests.get(f"{server.base}/api/v1/events?player_id={player_id}&limit=1000",
                                                     headers=COMPLIANCE, timeout=10).json()["data"]) and len(events) >= 61 and events)
    sign_in(tab, start="/console/events")
    expect(tab.get_by_role("heading", level=1)).to_have_text("Event history")
    tab.get_by_label("Player id").fill(player_id)
    tab.get_by_role("button", name="Show events").click()
    rows = tab.locator("table.events tbody tr")
    expect(rows).to_have_count(50)
    first_page = [int(text) for text in rows.locator("td:first-child").all_inner_texts()]
    rows.first.get_by_text("Show payload").click()
    payload = json.loads(rows.first.locator("pre").inner_text())
    assert payload == expected[0]["payload"]
    tab.get_by_role("link", name="Next").click()
    expect(rows).to_have_count(len(expected) - 50)
    second_page = [int(text) for text in rows.locator("td:first-child").all_inner_texts()]
    assert first_page + second_page == [event["position"] for event in expected]
    expect(tab.get_by_role("link", name="Next")).to_have_count(0)
    with tab.expect_download() as download:
        tab.get_by_role("link", name="CSV").click()
    assert download.value.suggested_filename == "events.csv"
    assert len(Path(download.value.path()).read_text().splitlines()) == len(expected) + 1


def test_a_spin_opened_from_a_players_page_is_replayed_and_matches(tab, deployment):
    server, _ = deployment
    player_id = player_with_events(server, 1)
    token = api(server, "POST", "/api/v1/sessions", ADMIN, {"player_id": player_id})["token"]
    spin = api(server, "POST", "/api/v1/game/spin", {"Authorization": f"Bearer {token}", "X-Request-Id": unique("spin")},
               {"betAmount": "1.00", "currency": "CAD"})
    until(lambda: requests.get(f"{server.base}/api/v1/players/{player_id}/game-history", headers=COMPLIANCE, timeout=10).json()["data"])
    sign_in(tab, start=f"/console/players/{player_id}")
    expect(tab.get_by_role("heading", level=1)).to_have_text(f"Player {player_id}")
    grid = tab.locator("table.grid").first
    expect(grid.locator("tbody td")).to_have_count(15)
    tab.get_by_role("link", name="Open the spin and its replay").first.click()
    expect(tab.get_by_role("heading", level=1)).to_have_text(f"Spin {spin['spinId']}")
    expect(tab.locator(".verdict")).to_have_text("Replay: matches")
    expect(tab.locator("dl.facts dt:text-is('Win') + dd")).to_have_text(f"{spin['totalWin']} CAD")


def test_a_dead_letter_is_redelivered_from_the_operations_page(tab, deployment):
    server, database_url = deployment
    receiver = Receiver()
    try:
        receiver.answer = lambda path, n: 503 if n == 0 else 200  # n counts from 0
        subscription = api(server, "POST", "/api/v1/webhooks", MARKETING, {"url": receiver.url("/console-hook"), "event_types": ["FreeSpinsAwarded"]})
        receiver.expect("/console-hook", subscription["secret"])
        promo_id = unique("promo")
        api(server, "PUT", f"/api/v1/promotions/{promo_id}", ADMIN, terms_json(starts_at="2020-01-01T00:00:00Z", ends_at="2099-01-01T00:00:00Z"))
        player_id = player_with_events(server, 0)
        api(server, "POST", "/api/v1/awards", ADMIN, award_json(player_id, promo_id))
        # The first attempt, answered 503 and recorded so; the next is an hour away.
        until(lambda: [d for d in api(server, "GET", f"/api/v1/webhooks/{subscription['id']}/deliveries", MARKETING)["data"]
                       if d["attempts"] == 1 and d["last_status"] == 503])
        assert receiver.delivered("/console-hook") == {}
        with psycopg.connect(database_url, autocommit=True) as conn:  # ... and a day of them later, the delivery is dead
            conn.execute("UPDATE webhook_deliveries SET status = 'dead', last_error = 'answered 503' WHERE subscription_id = %s",
                         [subscription["id"]])
        sign_in(tab, start="/console/operations")
        expect(tab.get_by_role("heading", level=1)).to_have_text("Operations")
        section = tab.locator(f"section[aria-labelledby='sub-{subscription['id']}']")
        expect(section.locator("table.dead tbody tr")).to_have_count(1)
        section.locator("table.dead").get_by_role("button", name="Redeliver").click()
        expect(tab.get_by_role("status")).to_contain_text("1 delivery due again")
        delivered = receiver.wait_for("/console-hook", 1, timeout=30)
        assert len(delivered) == 1
        status = section.locator("table.deliveries tbody tr").first.locator("td").nth(2)
        until(lambda: tab.reload() and status.inner_text() == "delivered")  # the sender records it a moment after the receiver has it
        expect(section.get_by_text("None.")).to_be_visible()
    finally:
        receiver.stop()


def test_signing_out_closes_every_page_and_the_sign_in_works_from_the_keyboard(tab, deployment):
    tab.goto("/console/liability")
    expect(tab.get_by_label("API key")).to_be_focused()
    tab.keyboard.type(OFFICER_KEY)
    tab.keyboard.press("Enter")
    expect(tab.get_by_role("heading", level=1)).to_have_text("Liability")
    cookie = next(c for c in tab.context.cookies() if c["name"] == "spinledger_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["expires"] > time.time()
    assert OFFICER_KEY not in tab.content()
    tab.keyboard.press("Tab")
    expect(tab.get_by_role("link", name="Skip to the content")).to_be_focused()
    tab.get_by_role("button", name="Sign out").click()
    expect(tab.get_by_role("heading", level=1)).to_have_text("Sign in")
    tab.goto("/console/reconciliation")
    expect(tab.get_by_role("heading", level=1)).to_have_text("Sign in")
