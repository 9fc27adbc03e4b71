"""``spinledger audit purge``: the raw audit log's purge, once, now (the worker runs it on ``AUDIT_PURGE_CRON``)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from app.config import Settings
from app.timefmt import format_instant


def add_audit_commands(commands: Any) -> None:
    """Adds ``audit purge`` to the ``spinledger`` command's subcommands."""
    audit = commands.add_parser("audit", help="the raw audit log of money-moving calls")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True)
    audit_commands.add_parser(
        "purge", help="now: empty the bodies older than AUDIT_RAW_RETENTION_DAYS, delete the calls older than 12 months"
    )


def audit_command(settings: Settings, args: argparse.Namespace) -> int:
    if args.audit_command == "purge":
        return purge(settings)
    return 2


def purge(settings: Settings) -> int:
    """Purges, prints what it purged; exits 0 (2 without a database)."""
    from app.bootstrap import bootstrap

    assert settings.database_url, "one_shot commands run with_reachable_database first"
    services = bootstrap(settings)
    try:
        purged = services.purge_audit_log()
    finally:
        services.close()
    print(f"audit log purged as of {format_instant(purged.as_of)}:")
    print(f"  bodies emptied: {purged.bodies_purged} (calls received before {format_instant(purged.bodies_before)};"
          f" AUDIT_RAW_RETENTION_DAYS={settings.audit_raw_retention_days})")
    print(f"  calls deleted:  {purged.rows_deleted} (received before {format_instant(purged.rows_before)}; 12 months)")
    return 0
