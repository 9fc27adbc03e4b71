"""The game API when the database is gone: the retryable WALLET_UNAVAILABLE, never a 500."""

from __future__ import annotations

import secrets

import psycopg

from app import create_app
from app.config import Settings
from app.database import create_database, with_database
from tests.api.test_game_api import assert_game_error
from tests.support import ADMIN, API_KEYS


def test_a_spin_while_the_database_is_gone_is_wallet_unavailable_and_retryable(server_url, clock, random_bytes):
    name = f"spinledger_gone_{secrets.token_hex(4)}"
    create_database(server_url, name)
    app = create_app(Settings(database_url=with_database(server_url, name), api_keys=API_KEYS), clock=clock, random_bytes=random_bytes)
    client = app.test_client()
    try:
        client.put("/api/v1/players/p-1", json={"region": "CA-ON", "birth_date": "1990-04-01", "currency": "CAD"}, headers=ADMIN)
        token = client.post("/api/v1/sessions", json={"player_id": "p-1"}, headers=ADMIN).json["token"]
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        response = client.post(
            "/api/v1/game/spin", json={"betAmount": "1.00", "currency": "CAD"},
            headers={"Authorization": f"Bearer {token}", "X-Request-Id": "r-1"},
        )
        error = assert_game_error(response, 503, "WALLET_UNAVAILABLE")
        assert response.headers["Retry-After"] == "5" and error["retryable"]
    finally:
        app.extensions["spinledger"].close()
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
