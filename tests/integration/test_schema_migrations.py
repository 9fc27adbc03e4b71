"""The schema migrations (``app/schema``): a fresh database upgraded serves; a database the previous release
(e815cec) made is upgraded without a change to its schema, and its rows are served; concurrent upgrades apply
each file once; a changed file and a newer database are refused; ``spinledger db`` upgrades and tells."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest

from app import create_app
from app.config import Settings
from app.schema import MIGRATIONS, SCHEMA_LOCK_KEY, SchemaError, current_version, latest_version, migrations, schema_lock, upgrade
from projections.catalogue import PROJECTIONS, build
from projections.rebuild import rebuild
from projections.runner import catch_up
from projections.source import EventSource
from projections.webhook_outbox import OutboxProjection, OutboxView
from tests.api.helpers import define, register
from tests.support import ADMIN, API_KEYS, award_json, scratch_database

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
EVERY_MIGRATION = [migration.name for migration in migrations()]
# What tests/fixtures/release_database.py printed when it made the database dumped there.
RELEASE_PLAYER, RELEASE_PROMOTION = "release-player", "release-promo"
RELEASE_AWARD = "24f28ea2-75d6-5af0-86b0-3a41ee6672b4"
RELEASE_SESSION = {"Authorization": "Bearer Fl89jMyjp9d5mgS76XXNxr80o8Qp6at9vTxDwPoY6MU"}

# The schema, as the catalogue describes it: every column, index, constraint, function, composite type,
# relation with its storage parameters, and sequence of the public schema, but the version table's own.
CATALOGUE = {
    "columns": """SELECT table_name, column_name, ordinal_position, data_type, character_maximum_length, numeric_precision,
                         numeric_scale, is_nullable, column_default, is_identity, identity_generation
                  FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> 'spinledger_schema_migrations'
                  ORDER BY table_name, ordinal_position""",
    "indexes": """SELECT tablename, indexname, indexdef FROM pg_indexes
                  WHERE schemaname = 'public' AND tablename <> 'spinledger_schema_migrations' ORDER BY indexname""",
    "constraints": """SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
                      WHERE connamespace = 'public'::regnamespace AND conrelid::regclass::text <> 'spinledger_schema_migrations'
                      ORDER BY conrelid::regclass::text, conname""",
    "functions": """SELECT oid::regprocedure::text, pg_get_functiondef(oid) FROM pg_proc
                    WHERE pronamespace = 'public'::regnamespace ORDER BY 1""",
    "types": """SELECT t.typname, string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
                FROM pg_type t JOIN pg_attribute a ON a.attrelid = t.typrelid
                WHERE t.typnamespace = 'public'::regnamespace AND t.typtype = 'c'
                  AND t.typrelid IN (SELECT oid FROM pg_class WHERE relkind = 'c')
                GROUP BY t.typname ORDER BY t.typname""",
    "relations": """SELECT relname, relkind, reloptions FROM pg_class
                    WHERE relnamespace = 'public'::regnamespace AND relname NOT LIKE 'spinledger\\_schema\\_migrations%'
                    ORDER BY relname""",
    "sequences": """SELECT sequence_name, data_type, start_value, minimum_value, maximum_value, increment, cycle_option
                    FROM information_schema.sequences WHERE sequence_schema = 'public' ORDER BY sequence_name""",
}


def catalogue(url: str) -> dict[str, Any]:
    """The schema, and the mark the eventsourcing library keeps in each tracking table it made."""
    with psycopg.connect(url) as conn:
        found: dict[str, Any] = {name: conn.execute(query).fetchall() for name, query in CATALOGUE.items()}
        tracking = [name for name, kind, _ in found["relations"] if kind == "r" and name.endswith("_tracking")]
        found["tracking marks"] = {
            table: conn.execute(f"SELECT notification_id FROM {table} WHERE application_name = '__migration__'").fetchall()
            for table in tracking
        }
    return found


def run_sql_file(url: str, name: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:  # a dump sets the search path: a connection of its own
        conn.execute((FIXTURES / name).read_bytes())


@pytest.fixture
def release_database(empty_database: str) -> str:
    """A database as the previous release left it: its schema, and its rows (see tests/fixtures)."""
    run_sql_file(empty_database, "schema_e815cec.sql")
    run_sql_file(empty_database, "rows_e815cec.sql")
    return empty_database


@pytest.fixture
def serve(clock, random_bytes):
    """``serve(url)``: the app on that database (its reads served by the views, never waiting for them)."""
    apps = []

    def started(url: str):
        app = create_app(Settings(database_url=url, api_keys=API_KEYS, read_wait_seconds=0), clock=clock, random_bytes=random_bytes)
        apps.append(app)
        return app

    yield started
    for app in apps:
        app.extensions["spinledger"].close()


def baseline_only(directory: Path) -> Path:
    """A directory holding only the first migration, as it is released."""
    (directory / "0001_baseline.sql").write_bytes((MIGRATIONS / "0001_baseline.sql").read_bytes())
    return directory


def catch_up_everything(app) -> None:
    datastore = app.extensions["spinledger"].ledger.recorder.datastore
    source = EventSource(datastore)
    for projection in [*(build(datastore, name) for name in PROJECTIONS), OutboxProjection(OutboxView(datastore))]:
        catch_up(projection, source)


def test_a_fresh_database_upgraded_serves_an_award(empty_database, serve):
    assert current_version(empty_database) == 0
    assert upgrade(empty_database) == EVERY_MIGRATION
    assert current_version(empty_database) == latest_version()
    client = serve(empty_database).test_client()
    player_id, promo_id = register(client), define(client)
    response = client.post("/api/v1/awards", json=award_json(player_id, promo_id, award_value=5), headers=ADMIN)
    assert response.status_code == 201, response.json
    assert upgrade(empty_database) == []


def test_the_baseline_makes_exactly_the_schema_the_previous_release_made(release_database, server_url, tmp_path):
    made_by_the_release = catalogue(release_database)
    with scratch_database(server_url, "spinledger_fresh", upgraded=False) as fresh:
        assert upgrade(fresh, baseline_only(tmp_path)) == ["0001_baseline.sql"]
        assert catalogue(fresh) == made_by_the_release
    assert upgrade(release_database, tmp_path) == ["0001_baseline.sql"]
    assert catalogue(release_database) == made_by_the_release  # nothing changed but the version recorded


def test_a_database_made_by_the_previous_release_is_upgraded_and_its_rows_are_served(release_database, serve):
    assert current_version(release_database) == 0
    app = serve(release_database)  # a start upgrades it
    assert current_version(release_database) == latest_version()
    client = app.test_client()

    player = client.get(f"/api/v1/players/{RELEASE_PLAYER}", headers=ADMIN)
    assert (player.status_code, player.json["balance"]) == (200, "25.00")
    awards = client.get(f"/api/v1/players/{RELEASE_PLAYER}/awards", headers=ADMIN).json["data"]
    assert [(a["award_id"], a["status"], a["spins_remaining"]) for a in awards] == [(RELEASE_AWARD, "active", 5)]
    promotion = client.get(f"/api/v1/promotions/{RELEASE_PROMOTION}", headers=ADMIN).json
    assert promotion["spins_reserved"] == 5
    (hook,) = client.get("/api/v1/webhooks", headers=ADMIN).json["data"]
    deliveries = client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=ADMIN).json["data"]
    assert [(d["event_type"], d["status"]) for d in deliveries] == [("FreeSpinsAwarded", "pending")]
    spin = {"betAmount": "0.20", "currency": "CAD", "awardId": RELEASE_AWARD}  # the session the release opened
    played = client.post("/api/v1/game/spin", json=spin, headers={**RELEASE_SESSION, "X-Request-Id": str(uuid.uuid4())})
    assert played.status_code == 200, played.json

    again = client.post("/api/v1/awards", json=award_json(RELEASE_PLAYER, RELEASE_PROMOTION, award_value=3), headers=ADMIN)
    assert again.status_code == 201, again.json
    catch_up_everything(app)  # the views and the outbox go on from the positions the release recorded
    awards = client.get(f"/api/v1/players/{RELEASE_PLAYER}/awards", headers=ADMIN).json["data"]
    assert {(a["award_id"], a["spins_remaining"]) for a in awards} == {(RELEASE_AWARD, 4), (again.json["award_id"], 3)}
    assert client.get(f"/api/v1/promotions/{RELEASE_PROMOTION}", headers=ADMIN).json["spins_reserved"] == 8
    deliveries = client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=ADMIN).json["data"]
    assert len(deliveries) == 2


def test_a_view_the_previous_release_made_is_rebuilt_with_its_indexes_under_their_own_names(release_database, serve):
    app = serve(release_database)
    datastore = app.extensions["spinledger"].ledger.recorder.datastore
    before = catalogue(release_database)
    for name in PROJECTIONS:
        rebuild(datastore, name)
    assert catalogue(release_database) == before
    awards = app.test_client().get(f"/api/v1/players/{RELEASE_PLAYER}/awards", headers=ADMIN).json["data"]
    assert [a["award_id"] for a in awards] == [RELEASE_AWARD]


def waiting_for_the_schema_lock(url: str) -> int:
    with psycopg.connect(url) as conn:
        (count,) = conn.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = %s"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            [SCHEMA_LOCK_KEY],
        ).fetchone()
    return count


def test_two_upgrades_at_once_apply_each_migration_once(empty_database):
    results: list[list[str]] = []
    with schema_lock(empty_database):  # both wait here, then go one after the other
        upgrades = [threading.Thread(target=lambda: results.append(upgrade(empty_database))) for _ in range(2)]
        for thread in upgrades:
            thread.start()
        deadline = time.monotonic() + 30
        while waiting_for_the_schema_lock(empty_database) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert waiting_for_the_schema_lock(empty_database) == 2
    for thread in upgrades:
        thread.join(timeout=60)
    assert sorted(results) == [[], EVERY_MIGRATION]
    with psycopg.connect(empty_database) as conn:
        assert [name for (name,) in conn.execute("SELECT name FROM spinledger_schema_migrations ORDER BY version")] == EVERY_MIGRATION


def test_an_applied_migration_whose_file_has_changed_is_refused(empty_database, tmp_path):
    (tmp_path / "0001_baseline.sql").write_text("CREATE TABLE numbers (n integer);\n")
    assert upgrade(empty_database, tmp_path) == ["0001_baseline.sql"]
    (tmp_path / "0001_baseline.sql").write_text("CREATE TABLE numbers (n bigint);\n")
    (tmp_path / "0002_more.sql").write_text("CREATE TABLE more_numbers (n integer);\n")
    with pytest.raises(SchemaError, match="0001_baseline.sql has changed since it was applied"):
        upgrade(empty_database, tmp_path)
    assert current_version(empty_database) == 1  # and 0002 was not applied


def test_a_database_newer_than_the_code_is_refused_at_start(own_database):
    with psycopg.connect(own_database) as conn:
        conn.execute("INSERT INTO spinledger_schema_migrations (version, name, checksum) VALUES (99, '0099_later.sql', '')")
    with pytest.raises(SchemaError, match=f"schema version 99, newer than this code's {latest_version()}"):
        create_app(Settings(database_url=own_database, api_keys=API_KEYS))


def test_a_migration_that_fails_leaves_nothing_of_itself(empty_database, tmp_path):
    (tmp_path / "0001_numbers.sql").write_text("CREATE TABLE numbers (n integer);\n")
    (tmp_path / "0002_broken.sql").write_text("CREATE TABLE half_done (n integer);\nALTER TABLE no_such_table ADD COLUMN n integer;\n")
    with pytest.raises(SchemaError, match="0002_broken.sql failed, and none of it was applied: .*no_such_table"):
        upgrade(empty_database, tmp_path)
    assert current_version(empty_database) == 1
    with psycopg.connect(empty_database) as conn:
        assert conn.execute("SELECT to_regclass('half_done')").fetchone() == (None,)


def spinledger(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "SPINLEDGER_API_KEYS": "{}"}
    return subprocess.run([sys.executable, "-m", "app.cli", *args], env=env, capture_output=True, text=True, timeout=120)


def test_spinledger_db_upgrade_prints_what_it_applied_and_db_version_where_the_database_is(empty_database):
    latest = latest_version()
    first = spinledger("db", "upgrade", database_url=empty_database)
    applied = "".join(f"applied {name}\n" for name in EVERY_MIGRATION)
    assert (first.returncode, first.stdout, first.stderr) == (0, f"{applied}up to date at version {latest}\n", "")
    second = spinledger("db", "upgrade", database_url=empty_database)
    assert (second.returncode, second.stdout) == (0, f"up to date at version {latest}\n")
    version = spinledger("db", "version", database_url=empty_database)
    assert (version.returncode, version.stdout) == (0, f"schema version {latest} (this code's latest: {latest})\n")


def test_spinledger_db_upgrade_exits_2_with_one_line_when_it_cannot_reach_the_database():
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    done = spinledger("db", "upgrade", database_url=f"postgresql://postgres@127.0.0.1:{port}/spinledger")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith("spinledger: cannot reach the database: ") and done.stderr.count("\n") == 1, done.stderr


def test_the_job_queues_migration_is_the_installed_procrastinates_own_schema():
    from procrastinate.schema import SchemaManager

    (queue,) = [m for m in migrations() if m.name.endswith("_job_queue.sql")]
    header, body = queue.sql.split("\n\n", 1)  # the file's own opening comment, then the library's text
    assert all(line.startswith("-- ") for line in header.splitlines())
    assert body == SchemaManager.get_schema()

