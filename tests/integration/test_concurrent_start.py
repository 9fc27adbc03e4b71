"""Several processes starting at once on a database nobody has used: each upgrades its schema under the
schema lock, and none trips over another's migration."""

from __future__ import annotations

import os
import subprocess
import sys

import psycopg

from projections.catalogue import PROJECTIONS

START = """
import sys
from app import create_app
from app.config import Settings
app = create_app(Settings(database_url=sys.argv[1]))
app.extensions["spinledger"].close()
print("up")
"""


def test_six_processes_starting_at_once_on_a_fresh_database_all_come_up(empty_database):
    starts = [subprocess.Popen([sys.executable, "-c", START, empty_database], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env={**os.environ, "SPINLEDGER_API_KEYS": "{}"}) for _ in range(6)]
    try:
        outcomes = [start.communicate(timeout=120) for start in starts]
    finally:
        for start in starts:
            if start.poll() is None:
                start.kill()
    assert [start.returncode for start in starts] == [0] * 6, [err[-2000:] for _, err in outcomes]
    assert all(out.strip() == "up" for out, _ in outcomes)
    with psycopg.connect(empty_database) as conn:
        tables = {name for (name,) in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")}
    assert {"spinledger_events", "spinledger_sessions", "audit_requests"} <= tables
    assert {f"{name}_tracking" for name in PROJECTIONS} <= tables
