"""The console's sign-in, cookie, scopes and CSRF tokens, through the Flask test client on PostgreSQL."""

from __future__ import annotations

import json

import pytest
from markupsafe import escape

from tests.api.helpers import define
from tests.api.test_operations_api import caught_up
from tests.console_support import CONSOLE_PAGES, OFFICER_KEY, csrf_token, page, sign_in
from tests.support import ADMIN, API_KEYS, event_count, unique


@pytest.mark.parametrize("path", [*CONSOLE_PAGES, "/console/reconciliation/runs/0191e0a2-0000-7000-8000-000000000000",
                                  "/console/players/someone", "/console/spins/0191e0a2-0000-7000-8000-000000000000"])
def test_no_page_opens_without_a_session_it_sends_to_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/console/login?next=")


def test_signing_in_sets_a_signed_http_only_strict_cookie_that_expires(client):
    login = client.get("/console/login")
    response = client.post("/console/login", data={"api_key": OFFICER_KEY, "csrf_token": csrf_token(login), "next": "/console/liability"})
    assert (response.status_code, response.headers["Location"]) == (302, "/console/liability")
    cookie = [header for header in response.headers.getlist("Set-Cookie") if header.startswith("spinledger_console=")][-1]
    flags = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "expires", "path", "samesite"} <= flags
    assert "SameSite=Strict" in cookie and "Path=/console" in cookie
    assert client.get("/console/liability").status_code == 200


def test_a_cookie_signed_by_another_key_or_tampered_with_opens_nothing(client):
    sign_in(client)
    cookie = client.get_cookie("spinledger_console", path="/console")
    forged = cookie.value[:-3] + ("AAA" if not cookie.value.endswith("AAA") else "BBB")
    client.set_cookie("spinledger_console", forged, path="/console")
    assert client.get("/console/liability").status_code == 302


def test_an_unknown_key_is_refused_and_never_echoed_back(client):
    response = client.post("/console/login", data={"api_key": "not-a-key-0123", "csrf_token": csrf_token(client.get("/console/login"))})
    assert response.status_code == 401
    html = response.get_data(as_text=True)
    assert "not one of this deployment" in html and "not-a-key-0123" not in html
    assert client.get("/console/liability").status_code == 302


def test_a_page_without_the_scope_of_its_api_route_says_so_with_403_and_links_back(client):
    sign_in(client, "test-finance-key")
    for path in ("/console/events", "/console/audit", "/console/audit/1", "/console/promotions", "/console/players/someone"):
        response = client.get(path)
        assert response.status_code == 403, path
        soup = page(response)
        assert soup.h1.get_text() == "Not allowed"
        assert "compliance" in soup.get_text() or "awards:read" in soup.get_text()
        assert soup.find("a", href="/console/") is not None
    assert client.get("/console/reconciliation").status_code == 200
    assert client.get("/console/operations").status_code == 200  # any signed-in key


def test_a_form_without_its_csrf_token_or_with_another_sessions_is_refused_and_records_nothing(client, app, db):
    sign_in(client)
    before = event_count(db)
    assert client.post("/console/reconciliation/run", data={}).status_code == 400
    other = app.test_client()
    other_token = sign_in(other)
    refused = client.post("/console/reconciliation/run", data={"csrf_token": other_token})
    assert refused.status_code == 400 and "CSRF" in refused.get_data(as_text=True)
    assert event_count(db) == before
    assert client.post("/console/login", data={"api_key": OFFICER_KEY}).status_code == 400  # sign-in too


def test_signing_out_ends_the_session_and_a_copy_of_its_cookie_opens_nothing(client, app):
    token = sign_in(client)
    copied = client.get_cookie("spinledger_console", path="/console").value
    assert client.post("/console/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/console/liability").status_code == 302
    thief = app.test_client()
    thief.set_cookie("spinledger_console", copied, path="/console")
    assert thief.get("/console/liability").status_code == 302


def test_signing_in_again_ends_the_previous_session_and_a_copy_of_its_cookie_opens_nothing(client, app):
    sign_in(client)
    earlier = client.get_cookie("spinledger_console", path="/console").value
    sign_in(client)
    assert client.get("/console/liability").status_code == 200
    thief = app.test_client()
    thief.set_cookie("spinledger_console", earlier, path="/console")
    assert thief.get("/console/liability").status_code == 302


def test_no_page_holds_an_api_key_nor_does_the_log(client, app, caplog):
    caught_up(app)
    with caplog.at_level("DEBUG"):
        sign_in(client)
        shown = [*CONSOLE_PAGES, "/console/players/someone", "/console/reconciliation/runs/0191e0a2-0000-7000-8000-000000000000"]
        pages = [client.get(path).get_data(as_text=True) for path in shown]
        pages.append(client.get("/console/login").get_data(as_text=True))
    for html in pages:
        for secret in API_KEYS:
            assert secret not in html
    assert not any(secret in record.getMessage() for record in caplog.records for secret in API_KEYS)
    assert "officer signed in" in caplog.text


def test_a_page_loads_nothing_but_its_own_stylesheet(client):
    sign_in(client)
    response = client.get("/console/liability")
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "style-src 'self'" in policy and "script" not in policy
    assert response.headers["Cache-Control"] == "no-store"
    soup = page(response)
    assert [link["href"] for link in soup.find_all("link")] == ["/console/static/console.css"]
    assert soup.find("script") is None
    assert client.get("/console/static/console.css").status_code == 200


def test_an_html_injection_stored_in_a_promotion_name_or_reason_is_shown_as_text(client, app):
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    promo_id = define(client, name=hostile)
    ended = client.post(f"/api/v1/promotions/{promo_id}/end", json={"reason": hostile}, headers=ADMIN)
    assert ended.status_code == 200, ended.json
    caught_up(app)
    sign_in(client)
    as_json = json.dumps(hostile)[1:-1]  # the events page shows payloads as JSON: the name and the reason in it
    for path, shown in (("/console/liability", hostile), ("/console/promotions", hostile),
                        (f"/console/events?promo_id={promo_id}", as_json)):
        html = client.get(path).get_data(as_text=True)
        assert hostile not in html and "<script" not in html, path
        assert str(escape(shown)) in html, path
        soup = page(client.get(path))
        assert soup.find("script") is None and soup.find("img") is None
        assert shown in soup.get_text(), path
    events = page(client.get(f"/console/events?promo_id={promo_id}")).get_text()
    assert f'"reason": "{as_json}"' in events and f'"name": "{as_json}"' in events
    assert promo_id in client.get("/console/promotions").get_data(as_text=True)


def test_a_sign_in_only_returns_to_a_console_page(client):
    login = client.get("/console/login")
    for target in ("https://evil.example/", "//evil.example/console/", "/api/v1/awards", "/console\\@evil"):
        response = client.post("/console/login", data={"api_key": OFFICER_KEY, "csrf_token": csrf_token(login), "next": target})
        assert response.headers["Location"] == "/console/", target
        login = client.get("/console/login")


def test_the_api_answers_no_cookie_and_is_not_opened_by_the_consoles(client):
    sign_in(client)
    response = client.get(f"/api/v1/promotions/{unique('promo')}")
    assert response.status_code == 401  # the console's cookie is no API credential
    assert "Set-Cookie" not in response.headers


def test_a_cookie_signed_by_one_web_process_is_accepted_by_another_of_the_same_database(client, database_url, clock):
    from app.config import Settings
    from app.factory import create_app

    sign_in(client)
    cookie = client.get_cookie("spinledger_console", path="/console").value
    other = create_app(Settings(database_url=database_url, api_keys=API_KEYS), clock=clock)
    try:
        browser = other.test_client()
        browser.set_cookie("spinledger_console", cookie, path="/console")
        assert browser.get("/console/liability").status_code == 200
    finally:
        other.extensions["spinledger"].close()
    keyed = create_app(Settings(database_url=database_url, api_keys=API_KEYS, console_secret_key="s" * 40), clock=clock)
    try:
        browser = keyed.test_client()
        browser.set_cookie("spinledger_console", cookie, path="/console")
        assert browser.get("/console/liability").status_code == 302  # signed with another key: not this deployment's
    finally:
        keyed.extensions["spinledger"].close()
