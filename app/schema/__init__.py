"""The database's schema: every table, index and function of every store (the event store, the read models,
the webhooks, the game sessions, the raw audit log), defined only in the ordered SQL files of
``migrations/`` (``0001_baseline.sql``, ``0002_….sql``, …), and the runner that applies them.

``upgrade`` applies the files the database has not had yet, in order, each in its own transaction together
with its row in ``spinledger_schema_migrations`` (its version, name and checksum), all under a PostgreSQL
advisory lock, so that processes starting at once apply each file once. ``spinledger db upgrade`` runs it,
and so does every start of the service (``create_app``, the worker). It refuses a database whose version is
newer than the files here (an older release started on a newer schema), or one of whose applied files has
since been changed: a file, once released, is never edited; a change is a new file.

Why not a migration library: yoyo-migrations 9, the one that fits psycopg 3 without an ORM, takes its lock
as a row in its ``yoyo_lock`` table. A process killed mid-migration (the chaos tests kill the service's
processes) leaves that row behind, and every start then waits on it until someone runs
``yoyo break-lock``. An advisory lock belongs to the database session that took it: the server lets go of
it when that session dies, and a file's transaction rolls back with it.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import psycopg

MIGRATIONS = Path(__file__).with_name("migrations")
FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
# Serialises schema changes when several processes start at once.
SCHEMA_LOCK_KEY = 0x5350494E  # "SPIN"
VERSION_TABLE = """
CREATE TABLE IF NOT EXISTS spinledger_schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""
CONNECT_TIMEOUT_SECONDS = 10


class SchemaError(Exception):
    """The database's schema is not one this code may upgrade: nothing was applied."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str  # the file's name
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def migrations(directory: Path = MIGRATIONS) -> list[Migration]:
    """The migration files, in order; their versions run 1, 2, 3, … with none missing or repeated."""
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = FILE_NAME.match(path.name)
        if match is None:
            raise SchemaError(f"{path.name}: a migration is named NNNN_words.sql (four digits, lower case, underscores)")
        found.append(Migration(int(match.group(1)), path.name, path.read_text(encoding="utf-8")))
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise SchemaError(f"the migrations in {directory} are numbered {versions}: they must run 1, 2, 3, … in order")
    return found


@contextmanager
def schema_lock(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    """A connection holding the schema lock (waiting for it as long as another process holds it)."""
    with psycopg.connect(database_url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", [SCHEMA_LOCK_KEY])
        try:
            yield conn
        finally:
            with contextlib.suppress(psycopg.Error):  # a session that failed has let go of it with its end
                conn.execute("SELECT pg_advisory_unlock(%s)", [SCHEMA_LOCK_KEY])


def upgrade(database_url: str, directory: Path = MIGRATIONS) -> list[str]:
    """Applies the migrations the database has not had yet; returns their names, in the order applied."""
    known = migrations(directory)
    applied_now = []
    with schema_lock(database_url) as conn:
        conn.execute(VERSION_TABLE)
        applied = dict(conn.execute("SELECT version, checksum FROM spinledger_schema_migrations").fetchall())
        refuse_unknown(applied, known)
        for migration in known:
            if migration.version in applied:
                continue
            try:
                with conn.transaction():
                    conn.execute(migration.sql.encode())  # without parameters: one query of many statements
                    conn.execute(
                        "INSERT INTO spinledger_schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                        [migration.version, migration.name, migration.checksum],
                    )
            except psycopg.OperationalError:
                raise  # the database went away: not the file's fault
            except psycopg.Error as failed:
                raise SchemaError(f"{migration.name} failed, and none of it was applied: {first_line(failed)}") from failed
            applied_now.append(migration.name)
    return applied_now


def refuse_unknown(applied: dict[int, str], known: list[Migration]) -> None:
    """Raises ``SchemaError`` if the database has a version these files do not, or an applied file changed."""
    newer = sorted(set(applied) - {m.version for m in known})
    if newer:
        raise SchemaError(
            f"the database is at schema version {newer[-1]}, newer than this code's {len(known)}: start a release that knows it"
        )
    for migration in known:
        if migration.version in applied and applied[migration.version] != migration.checksum:
            raise SchemaError(
                f"{migration.name} has changed since it was applied to this database: a released migration is never"
                " edited (put the change in a new file)"
            )


def current_version(database_url: str) -> int:
    """The highest version applied to the database; 0 for one no migration has touched."""
    with psycopg.connect(database_url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS) as conn:
        if conn.execute("SELECT to_regclass('spinledger_schema_migrations')").fetchone() == (None,):
            return 0
        row = conn.execute("SELECT coalesce(max(version), 0) FROM spinledger_schema_migrations").fetchone()
        return int(row[0]) if row else 0


def latest_version(directory: Path = MIGRATIONS) -> int:
    return len(migrations(directory))


def first_line(error: Exception) -> str:
    """An error's message on one line (libpq's go on with hints on the next)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
