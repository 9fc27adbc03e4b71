"""``spinledger db upgrade`` and ``spinledger db version``: the database's schema (``app/schema``), by hand.

Every start of the service upgrades the schema too; these let an operator do it first, or see where it is.
A failure is one line on standard error and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Callable

import psycopg

from app.config import Settings
from app.schema import SchemaError, current_version, first_line, latest_version, upgrade


def add_db_commands(commands: Any) -> None:
    """Adds ``db upgrade`` and ``db version`` to the ``spinledger`` command's subcommands."""
    db = commands.add_parser("db", help="the database's schema")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="apply the schema migrations the database has not had yet (DATABASE_URL)")
    db_commands.add_parser("version", help="the database's schema version, and the latest this code knows")


def db_command(settings: Settings, args: argparse.Namespace) -> int:
    assert settings.database_url, "one_shot commands run with_reachable_database first"
    url = settings.database_url
    return _reporting_failures(lambda: upgrade_now(url) if args.db_command == "upgrade" else show_version(url))


def upgrade_now(database_url: str) -> int:
    for name in upgrade(database_url):
        print(f"applied {name}", flush=True)
    print(f"up to date at version {current_version(database_url)}")
    return 0


def show_version(database_url: str) -> int:
    print(f"schema version {current_version(database_url)} (this code's latest: {latest_version()})")
    return 0


def _reporting_failures(command: Callable[[], int]) -> int:
    try:
        return command()
    except SchemaError as refused:
        print(f"spinledger: {refused}", file=sys.stderr)
    except psycopg.OperationalError as unreachable:
        print(f"spinledger: cannot reach the database: {first_line(unreachable)}", file=sys.stderr)
    return 2
