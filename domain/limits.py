"""A player's deposit and loss limits: which are in force, which wait their 24 hours, and what each window has used.

A limit is money in the player's currency over a UTC calendar window: a day, an ISO week (from Monday 00:00 UTC) or
a calendar month. A lower limit, or a first one, applies at once; a higher one, or a removal, only 24 hours after
it was asked for (``RAISE_DELAY``), as regulators require, and until then the limit in force stays. A request
for the limit in force while a raise waits withdraws the raise.

The net loss of a window is what cash play cost the player in it: cash bets less the wins of cash play (a cash
spin's, and the spins of a bonus round a cash spin triggered). Promotional spins, and their bonus rounds, stake
nothing of the player's and count for nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from domain.errors import DomainError
from domain.money import COIN_CURRENCY
from domain.slot.rounds import BONUS, CASH
from domain.windows import day_end, day_key, month_end, month_key, week_end, week_key

DEPOSIT_LIMITS = ("deposit_daily", "deposit_weekly", "deposit_monthly")
LOSS_LIMITS = ("loss_daily", "loss_weekly", "loss_monthly")
LIMITS = DEPOSIT_LIMITS + LOSS_LIMITS
RAISE_DELAY = timedelta(hours=24)

_KEY = {"daily": day_key, "weekly": week_key, "monthly": month_key}
_END = {"daily": day_end, "weekly": week_end, "monthly": month_end}


def period_of(limit: str) -> str:
    return limit.rsplit("_", 1)[1]


def window_key(limit: str, at: datetime) -> str:
    """The window of ``limit`` that ``at`` falls in (``D2026-12-06``, ``W2026-49``, ``M2026-12``)."""
    return _KEY[period_of(limit)](at)


def window_end(limit: str, at: datetime) -> datetime:
    return _END[period_of(limit)](at)


def window_keys(at: datetime) -> tuple[str, str, str]:
    """The day, week and month ``at`` falls in: the windows every tally is kept for."""
    return day_key(at), week_key(at), month_key(at)


def add_to_tally(tally: Mapping[str, Decimal], amount: Decimal, at: datetime) -> dict[str, Decimal]:
    """``tally`` with ``amount`` added to the windows of ``at``; windows already past are dropped."""
    keys = window_keys(at)
    kept = {key: value for key, value in tally.items() if key in keys}
    for key in keys:
        kept[key] = kept.get(key, Decimal("0.00")) + amount
    return kept


def cash_loss(spin: Mapping[str, Any]) -> Decimal:
    """What a settled spin adds to the net loss: the cash it took, less its win if it was cash play. Play in gold
    coins is no money: it adds nothing."""
    if spin.get("currency") == COIN_CURRENCY:
        return Decimal("0.00")
    cash_play = spin["funding"] == CASH or (spin["funding"] == BONUS and spin["award_id"] is None)
    debited: Decimal = spin["debited"]
    return debited - (spin["total_win"] if cash_play else Decimal("0.00"))


@dataclass(frozen=True)
class PendingLimit:
    limit: str
    value: Decimal | None  # None: the limit is removed
    effective_at: datetime


@dataclass(frozen=True)
class LimitChange:
    """One limit's change, as recorded: in force from ``effective_at`` (the time of the request, or 24 hours on)."""

    limit: str
    value: Decimal | None
    effective_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {"limit": self.limit, "value": self.value, "effective_at": self.effective_at}


def in_force(limits: Mapping[str, Decimal], pending: Mapping[str, PendingLimit], at: datetime) -> dict[str, Decimal]:
    """The limits in force at ``at``: those recorded, with each pending change whose time has come."""
    current = dict(limits)
    for change in pending.values():
        if change.effective_at <= at:
            if change.value is None:
                current.pop(change.limit, None)
            else:
                current[change.limit] = change.value
    return current


def waiting(pending: Mapping[str, PendingLimit], at: datetime) -> list[PendingLimit]:
    return sorted((p for p in pending.values() if p.effective_at > at), key=lambda p: (p.effective_at, LIMITS.index(p.limit)))


def changes_for(
    requested: Mapping[str, Decimal | None],
    limits: Mapping[str, Decimal],
    pending: Mapping[str, PendingLimit],
    now: datetime,
) -> list[LimitChange]:
    """What asking for ``requested`` (each named limit's new value; None: no limit) changes."""
    current = in_force(limits, pending, now)
    waiting_now = {p.limit: p for p in waiting(pending, now)}
    changes = []
    for limit in LIMITS:
        if limit not in requested:
            continue
        value, now_value, raise_waiting = requested[limit], current.get(limit), waiting_now.get(limit)
        if value is not None and (now_value is None or value <= now_value):
            if value != now_value or raise_waiting is not None:
                changes.append(LimitChange(limit, value, now))  # stricter (or the same, withdrawing a raise): now
        elif value != now_value:
            if raise_waiting is None or raise_waiting.value != value:
                changes.append(LimitChange(limit, value, now + RAISE_DELAY))  # looser: after 24 hours
        elif raise_waiting is not None:
            changes.append(LimitChange(limit, value, now))  # no limit, as now: the waiting change is withdrawn
    return changes


@dataclass(frozen=True)
class Breach:
    """The limits a deposit or a bet would pass, and when the last of their windows ends."""

    limits: tuple[str, ...]
    until: datetime


def breach(limits: Mapping[str, Decimal], names: tuple[str, ...], tally: Mapping[str, Decimal], amount: Decimal, at: datetime) -> Breach | None:
    """Whether adding ``amount`` to what the windows of ``at`` have used would pass any of the ``names`` limits."""
    passed = tuple(name for name in names if name in limits and used(tally, name, at) + amount > limits[name])
    if not passed:
        return None
    return Breach(passed, max(window_end(name, at) for name in passed))


def refuse_past_limits(
    refusal: type[DomainError],
    what: str,
    limits: Mapping[str, Decimal],
    names: tuple[str, ...],
    tally: Mapping[str, Decimal],
    amount: Decimal,
    at: datetime,
    field: str | None = None,
) -> None:
    """Raises ``refusal`` if ``what`` (``amount`` more in the windows of ``at``) would pass one of the ``names``
    limits, telling when the last of their windows ends."""
    passed = breach(limits, names, tally, amount, at)
    if passed is not None:
        name = passed.limits[0]
        raise refusal(
            f"{what} would pass the {name} limit of {limits[name]} ({used(tally, name, at)} used in this window)",
            field=field,
            retry_after_ms=int((passed.until - at).total_seconds() * 1000),
        )


def used(tally: Mapping[str, Decimal], limit: str, at: datetime) -> Decimal:
    return tally.get(window_key(limit, at), Decimal("0.00"))
