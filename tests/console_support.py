"""Signing in to the console from a Flask test client, and reading its pages."""

from __future__ import annotations

from bs4 import BeautifulSoup

OFFICER_KEY = "test-officer-key"
CONSOLE_PAGES = ("/console/", "/console/reconciliation", "/console/liability", "/console/events", "/console/audit",
                 "/console/promotions", "/console/operations")


def page(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def csrf_token(response) -> str:
    found = page(response).find("input", attrs={"name": "csrf_token"})
    assert found is not None, "the page has no form with a CSRF token"
    return found["value"]


def sign_in(client, key: str = OFFICER_KEY) -> str:
    """Signs ``client`` in; the CSRF token of its session, for the forms it sends next."""
    response = client.post("/console/login", data={"api_key": key, "csrf_token": csrf_token(client.get("/console/login"))})
    assert response.status_code == 302, response.get_data(as_text=True)
    return csrf_token(client.get("/console/"))


def table_rows(soup: BeautifulSoup, css_class: str) -> list[list[str]]:
    table = soup.find("table", class_=css_class)
    assert table is not None, f"no table.{css_class}"
    return [[cell.get_text(" ", strip=True) for cell in row.find_all(["th", "td"])] for row in table.find("tbody").find_all("tr")]
