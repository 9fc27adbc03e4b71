"""``X-Api-Version`` (seed 001 §1.3): every response says the served version; an older minor of the served
major is served; another major, a newer minor or a malformed version is refused before anything is recorded."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.api_version import MINORS, SERVED
from tests.api.helpers import assert_envelope, register
from tests.support import ADMIN, event_count, unique


def test_the_served_version_is_the_last_minor_and_the_documents_version(client):
    document = client.get("/openapi.json")
    assert SERVED == MINORS[-1][0] and re.fullmatch(r"1\.\d+", SERVED)
    assert document.headers["X-Api-Version"] == SERVED
    assert document.json["info"]["version"] == SERVED
    assert all(version in document.json["info"]["description"] for version, _ in MINORS)


def test_every_route_of_the_document_answers_with_the_version_even_when_it_refuses(client):
    paths = client.get("/openapi.json").json["paths"]
    answered = 0
    for path, operations in paths.items():
        url = re.sub(r"\{[^}]+\}", "x1", path)
        for method in operations:
            if method not in ("get", "put", "post", "delete"):
                continue
            response = client.open(url, method=method.upper())  # no credentials: mostly 401s and 400s
            assert response.headers.get("X-Api-Version") == SERVED, (method, url, response.status_code)
            answered += 1
    assert answered >= 40


@pytest.mark.parametrize("status_of", [
    lambda c: c.get("/no/such/route"),
    lambda c: c.delete("/healthz"),
    lambda c: c.put(f"/api/v1/players/{unique('p')}", json={"region": "ZZ-99"}, headers=ADMIN),
])
def test_an_error_carries_the_version_too(client, status_of):
    response = status_of(client)
    assert response.status_code >= 400
    assert response.headers["X-Api-Version"] == SERVED


@pytest.mark.parametrize("asked", ["1", "1.0", "1.3", SERVED, f" {SERVED} "])
def test_an_older_or_the_same_minor_is_served(client, asked):
    player_id = unique("p")
    response = client.put(f"/api/v1/players/{player_id}", json={"region": "CA-ON", "birth_date": "1990-04-01", "currency": "CAD"},
                          headers={**ADMIN, "X-Api-Version": asked})
    assert response.status_code == 201, response.json
    assert response.headers["X-Api-Version"] == SERVED


@pytest.mark.parametrize("asked, says", [("2", "not served"), ("2.0", "not served"), ("0.9", "not served"),
                                         ("1.99", "newer"), ("latest", "MAJOR.MINOR"), ("1.4.1", "MAJOR.MINOR"), ("", "MAJOR.MINOR")])
def test_another_major_a_newer_minor_or_a_malformed_version_is_refused_and_records_nothing(client, db, asked, says):
    before = event_count(db)
    response = client.put(f"/api/v1/players/{unique('p')}", json={"region": "CA-ON", "birth_date": "1990-04-01", "currency": "CAD"},
                          headers={**ADMIN, "X-Api-Version": asked})
    error = assert_envelope(response, 400, "UNSUPPORTED_API_VERSION", "X-Api-Version")
    assert says in error["message"] and SERVED in error["message"]
    assert error["retryable"] is False
    assert response.headers["X-Api-Version"] == SERVED
    assert event_count(db) == before


def test_the_game_api_refuses_an_unsupported_major_before_its_token_is_looked_at(client):
    response = client.get("/api/v1/game/config", headers={"X-Api-Version": "2.0"})
    assert_envelope(response, 400, "UNSUPPORTED_API_VERSION", "X-Api-Version")


def test_a_player_read_with_an_older_minor_is_the_same_body(client):
    player_id = register(client)
    now = client.get(f"/api/v1/players/{player_id}", headers=ADMIN)
    older = client.get(f"/api/v1/players/{player_id}", headers={**ADMIN, "X-Api-Version": "1.0"})
    assert older.status_code == 200 and older.json == now.json


def test_the_readmes_table_of_minors_is_the_servers():
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    rows = re.findall(r"^\| (1\.\d+) \| (.+?) \|$", readme, flags=re.MULTILINE)
    assert tuple(rows) == MINORS
    assert f"X-Api-Version: {SERVED}" in readme
