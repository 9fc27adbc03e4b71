"""Timestamps on the wire: ISO-8601 UTC with milliseconds and ``Z``."""

from __future__ import annotations

from datetime import datetime, timezone


def format_instant(at: datetime) -> str:
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"
