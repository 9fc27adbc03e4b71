"""Fixtures of the PostgreSQL tests: a ledger whose reel stops a test can script."""

from __future__ import annotations

import pytest

from app.bootstrap import build_ledger
from tests.support import ScriptedStops


@pytest.fixture
def stops(request):
    return ScriptedStops(seed=request.node.nodeid)


@pytest.fixture
def scripted_ledger(database_url, clock, stops):
    ledger = build_ledger(database_url, clock, stops)
    yield ledger
    ledger.close()
