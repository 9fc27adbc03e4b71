"""Where a one-shot ``spinledger`` command finds its database: ``DATABASE_URL``, else the embedded PostgreSQL
that ``make run`` keeps under the data directory; and the one line it prints when it cannot reach it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import psycopg

from app.config import Settings
from app.database import start_embedded_server, with_database
from app.schema import first_line

EMBEDDED_DATABASE = "spinledger"  # the database `spinledger run` makes on its embedded server


class DatabaseUnreachable(Exception):
    """The command has no database to work on; the message says why on one line."""


def embedded_data_dir(settings: Settings) -> Path:
    return Path(settings.data_dir).resolve() / "pgdata"


def with_reachable_database(settings: Settings, connect_timeout: int = 5) -> Settings:
    """The settings with a database URL that answers: ``DATABASE_URL``, or the embedded server's (joined while
    ``make run`` runs, else started for this command and stopped when it exits)."""
    url = settings.database_url
    if not url:
        pgdata = embedded_data_dir(settings)
        if not (pgdata / "PG_VERSION").is_file():
            raise DatabaseUnreachable(
                f"DATABASE_URL is not set and there is no embedded PostgreSQL under {pgdata} "
                "(make run makes one; SPINLEDGER_DATA_DIR says where)"
            )
        try:
            url = with_database(start_embedded_server(pgdata), EMBEDDED_DATABASE)
        except Exception as failed:  # the wheel's own errors: a lock, a port, a damaged data directory
            raise DatabaseUnreachable(f"cannot start the embedded PostgreSQL under {pgdata}: {first_line(failed)}") from None
    try:
        with psycopg.connect(url, connect_timeout=connect_timeout):
            pass
    except psycopg.OperationalError as unreachable:
        raise DatabaseUnreachable(f"cannot reach the database: {first_line(unreachable)}") from None
    return dataclasses.replace(settings, database_url=url)
