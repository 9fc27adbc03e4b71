"""Test wiring: a real PostgreSQL (the local server, else the embedded one), a fresh database per run, its schema
upgraded by the migrations as a start of the service upgrades it."""

from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path
from typing import Iterator

import psycopg
import pytest

from app import create_app
from app.config import Settings
from app.database import LOCAL_SERVER_URL, server_reachable, start_embedded_server
from app.bootstrap import build_ledger
from domain.clock import RandomBytes
from domain.application import SpinLedger
from tests.support import API_KEYS, FakeClock, scratch_database


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    url = os.environ.get("SPINLEDGER_TEST_SERVER_URL") or LOCAL_SERVER_URL
    if server_reachable(url):
        yield url
        return
    pgdata = Path(tempfile.mkdtemp(prefix="spinledger-pg-")) / "data"
    yield start_embedded_server(pgdata, cleanup="delete")


@pytest.fixture(scope="session")
def database_url(server_url: str) -> Iterator[str]:
    with scratch_database(server_url, f"spinledger_test_{os.getpid()}") as url:
        yield url


@pytest.fixture
def empty_database(server_url: str) -> Iterator[str]:
    """A database of the test's own that no migration has touched yet."""
    with scratch_database(server_url, "spinledger_own", upgraded=False) as url:
        yield url


@pytest.fixture
def own_database(server_url: str) -> Iterator[str]:
    """A database of the test's own, for a test that must not share (it tampers, or kills a worker on it)."""
    with scratch_database(server_url, "spinledger_own") as url:
        yield url


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def random_bytes(request: pytest.FixtureRequest) -> RandomBytes:
    """Seeded by the test's name: a test's stops, ids and tokens repeat from run to run, and differ from
    every other test's (they share one database)."""
    return random.Random(request.node.nodeid).randbytes


@pytest.fixture
def ledger(database_url: str, clock: FakeClock, random_bytes: RandomBytes) -> Iterator[SpinLedger]:
    app = build_ledger(database_url, clock, random_bytes)
    yield app
    app.close()


@pytest.fixture
def app(database_url: str, clock: FakeClock, random_bytes: RandomBytes) -> Iterator:
    flask_app = create_app(Settings(database_url=database_url, api_keys=API_KEYS), clock=clock, random_bytes=random_bytes)
    yield flask_app
    flask_app.extensions["spinledger"].close()


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture
def db(database_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        yield conn
