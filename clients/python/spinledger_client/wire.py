"""The API's wire rules: money as two-decimal strings (``Decimal`` on this side), instants as ISO 8601 in UTC."""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, Mapping

CENT = Decimal("0.01")
_MONEY = re.compile(r"^-?\d+\.\d{2}$")

# Fields of the back-office answers whose strings are money (or gold coins: decimal strings too). Only strings are
# converted, so a count of the same name (a campaign's ``awarded``, a spins promotion's ``budget_left``) stays an int.
MONEY_FIELDS = frozenset({
    "amount", "awarded", "awarded_coins", "balance", "balance_after", "balance_end", "balance_start", "balances", "bet",
    "bet_per_spin", "budget_coins", "budget_coins_left", "budget_left", "coin_balance", "coins_awarded", "coins_reserved",
    "liability", "max_coins_per_award", "multiplier", "per_player_daily_limit", "per_player_weekly_limit", "remaining",
    "total_win", "triggering_bet", "used", "value", "wins_paid",
    "deposit_daily", "deposit_weekly", "deposit_monthly", "loss_daily", "loss_weekly", "loss_monthly",
})
# A reconciliation check's figures and a run's threshold: decimal strings (money or counts).
FIGURE_FIELDS = frozenset({"expected", "actual", "drift", "drift_pct"})
# Parts the API gives as they were stored (an event's payload, a spin's record, audit bodies): left as JSON gave them.
STORED_AS_IS = frozenset({"payload", "record", "stored", "recomputed", "request_body", "response_body", "evidence", "spins"})


def money(value: Decimal | int | str, name: str = "amount") -> str:
    """A two-decimal string from a ``Decimal`` (or an int, or a string already in the API's form). A float is refused:
    money is never binary floating point; more than two decimals is refused rather than rounded."""
    if isinstance(value, bool) or isinstance(value, float):
        raise TypeError(f"{name}: pass money as Decimal (or str), not {type(value).__name__}")
    if isinstance(value, str):
        return value
    if not isinstance(value, (Decimal, int)):
        raise TypeError(f"{name}: pass money as Decimal, not {type(value).__name__}")
    amount = Decimal(value)
    if not amount.is_finite():
        raise ValueError(f"{name}: {value} is not an amount")
    cents = amount.quantize(CENT)
    if cents != amount:
        raise ValueError(f"{name}: {value} has more than two decimals")
    return f"{cents:f}"


def instant(value: datetime | str, name: str = "instant") -> str:
    """An aware ``datetime`` as ISO 8601 in UTC (``2026-11-18T10:00:00Z``); a string is sent as given."""
    if isinstance(value, str):
        return value
    if not isinstance(value, datetime):
        raise TypeError(f"{name}: pass an aware datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name}: {value!r} has no time zone; pass an aware datetime (e.g. tzinfo=timezone.utc)")
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def encode(value: Any) -> Any:
    """A body or query value as JSON wants it: ``Decimal`` → money string, ``datetime`` → UTC instant, ``date`` →
    ``YYYY-MM-DD``; mappings and lists walked."""
    if isinstance(value, Decimal):
        return money(value)
    if isinstance(value, datetime):
        return instant(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {key: encode(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(item) for item in value]
    return value


def decode(value: Any, figures: bool = False) -> Any:
    """An answer with its money strings as ``Decimal`` (see ``MONEY_FIELDS``); instants stay ISO strings."""
    if isinstance(value, list):
        return [decode(item, figures) for item in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key in STORED_AS_IS:
            out[key] = item
        elif isinstance(item, str) and key in MONEY_FIELDS and _MONEY.match(item):
            out[key] = Decimal(item)
        elif isinstance(item, str) and (key == "threshold_pct" or (figures and key in FIGURE_FIELDS)):
            out[key] = _decimal_or_text(item)
        else:
            out[key] = decode(item, figures or key == "checks")
    return out


def _decimal_or_text(text: str) -> Decimal | str:
    try:
        number = Decimal(text)
    except InvalidOperation:
        return text
    return number if number.is_finite() else text


def parse_instant(text: str) -> datetime:
    """An instant of an answer (``2026-11-18T10:00:00.000Z``) as an aware ``datetime`` in UTC."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)
