"""UTC calendar windows: the day, ISO week and month an instant falls in, when each ends, and month arithmetic."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta

from domain.errors import ValidationFailed


def day_key(at: datetime) -> str:
    day = at.astimezone(UTC)
    return f"D{day.year}-{day.month:02d}-{day.day:02d}"  # strftime's format (its year unpadded), at a fraction of its cost


def week_key(at: datetime) -> str:
    year, week, _ = at.astimezone(UTC).isocalendar()
    return f"W{year}-{week:02d}"


def month_key(at: datetime) -> str:
    day = at.astimezone(UTC)
    return f"M{day.year}-{day.month:02d}"


def day_end(at: datetime) -> datetime:
    start = at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return start + timedelta(days=1)


def week_end(at: datetime) -> datetime:
    """The next Monday 00:00 UTC: ISO weeks start on Monday."""
    day_start = day_end(at) - timedelta(days=1)
    return day_start + timedelta(days=7 - day_start.weekday())


def month_end(at: datetime) -> datetime:
    """The first instant of the next calendar month, UTC."""
    start = at.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return add_months(start, 1)


def add_months(at: datetime, months: int) -> datetime:
    index = at.month - 1 + months
    year, month = at.year + index // 12, index % 12 + 1
    day = min(at.day, calendar.monthrange(year, month)[1])
    return at.replace(year=year, month=month, day=day)


def require_utc(at: datetime, field: str) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValidationFailed(f"{field} must carry a UTC offset, e.g. 2026-01-01T00:00:00Z", field=field)
    return at.astimezone(UTC)
