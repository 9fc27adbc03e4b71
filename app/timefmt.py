"""Timestamps on the wire: ISO-8601 UTC with milliseconds and ``Z``."""

from __future__ import annotations

from datetime import datetime, timezone


def format_instant(at: datetime) -> str:
    utc = at.astimezone(timezone.utc)
    # isoformat, not strftime: %Y does not pad a year before 1000 to four digits.
    return utc.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"
