"""The report: each view read in the same snapshot as the events, compared total by total and row by row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Iterator
from uuid import UUID

from psycopg import Connection

from reconciliation.recompute import FETCH, ZERO, AwardTotals, Totals

VIEWS = {"wallet": "wallet_tracking", "awards": "awards_tracking", "promotions": "promotions_tracking"}


@dataclass(frozen=True)
class Check:
    name: str
    expected: Decimal
    actual: Decimal
    alert: bool

    @property
    def drift(self) -> Decimal:
        return self.actual - self.expected

    @property
    def drift_pct(self) -> Decimal:
        return drift_pct(self.expected, self.actual)


def drift_pct(expected: Decimal, actual: Decimal) -> Decimal:
    """|actual - expected| / |expected| as a percentage (100 when nothing was expected but something is there)."""
    if expected == 0:
        return Decimal("0.000") if actual == expected else Decimal("100.000")
    return (abs(actual - expected) / abs(expected) * 100).quantize(Decimal("0.001"))


@dataclass(frozen=True)
class Discrepancy:
    entity: str
    id: str
    field: str
    expected: str
    actual: str


def view_positions(conn: Connection[Any]) -> dict[str, int]:
    positions = {}
    for view, table in VIEWS.items():
        row = conn.execute(f"SELECT max(notification_id) FROM {table} WHERE application_name = 'SpinLedger'").fetchone()
        positions[view] = int(row[0] or 0) if row else 0
    return positions


def _stream(conn: Connection[Any], sql: str) -> Iterator[dict[str, Any]]:
    """A view's rows through a server-side cursor: never all of them in memory at once."""
    with conn.cursor(name="reconciliation_view") as cursor:
        cursor.itersize = FETCH
        cursor.execute(sql)
        names = [column.name for column in cursor.description or []]
        for row in cursor:
            yield dict(zip(names, row))


def _award(row: dict[str, Any]) -> AwardTotals:
    return AwardTotals(
        promo_id=row.get("promo_id") or "", spins_awarded=row["spins_awarded"], spins_used=row["spins_used"],
        spins_cancelled=row["spins_forfeited"], bet_per_spin=row.get("bet_per_spin") or ZERO, total_win=row["total_win"],
        expires_at=row["expires_at"], cancelled=row["cancelled_at"] is not None,
    )


def compare(conn: Connection[Any], totals: dict[str, Totals], as_of: datetime, threshold_pct: Decimal) -> tuple[list[Check], list[Discrepancy]]:
    checks: list[Check] = []
    discrepancies: list[Discrepancy] = []

    def check(name: str, expected: Decimal, actual: Decimal) -> None:
        checks.append(Check(name, expected, actual, drift_pct(expected, actual) > threshold_pct))

    def differ(entity: str, key: str, field: str, expected: Any, actual: Any) -> None:
        if expected != actual:
            discrepancies.append(Discrepancy(entity, key, field, str(expected), str(actual)))

    money_fields = ("balance", "deposits", "withdrawals", "bets", "wins")
    players = totals["wallet"].players
    seen: set[UUID] = set()
    actual_sums = dict.fromkeys(money_fields, ZERO)
    for row in _stream(conn, "SELECT stream_id, player_id, balance, deposits, withdrawals, bets, wins, spins FROM wallet"):
        for field in money_fields:
            actual_sums[field] += row[field]
        expected = players.get(row["stream_id"])
        if expected is None:
            differ("player", row["player_id"] or str(row["stream_id"]), "row", "absent", "present")
            continue
        seen.add(row["stream_id"])
        for field in ("deposits", "withdrawals", "bets", "wins", "spins", "balance"):
            differ("player", expected.player_id or str(row["stream_id"]), field, getattr(expected, field), row[field])
    for stream in players.keys() - seen:
        differ("player", players[stream].player_id or str(stream), "row", "present", "missing")
    for name, field in (("player balances", "balance"), ("money in (deposits)", "deposits"),
                        ("money out (withdrawals)", "withdrawals"), ("bets", "bets"), ("wins", "wins")):
        check(name, sum((getattr(p, field) for p in players.values()), ZERO), actual_sums[field])

    awards = totals["awards"].awards
    seen = set()
    remaining = used = 0
    for row in _stream(conn, "SELECT award_id, spins_awarded, spins_used, spins_forfeited, total_win, cancelled_at, expires_at FROM award_status"):
        actual = _award(row)
        remaining += actual.remaining(as_of)
        used += actual.spins_used
        key = str(row["award_id"])
        expected = awards.get(row["award_id"])
        if expected is None:
            differ("award", key, "row", "absent", "present")
            continue
        seen.add(row["award_id"])
        for field in ("spins_awarded", "spins_used", "total_win"):
            differ("award", key, field, getattr(expected, field), getattr(actual, field))
        differ("award", key, "spins_remaining", expected.remaining(as_of), actual.remaining(as_of))
        differ("award", key, "spins_forfeited", expected.spins_cancelled, actual.spins_cancelled)
    for award_id in awards.keys() - seen:
        differ("award", str(award_id), "row", "present", "missing")
    check("award spins remaining", Decimal(sum(a.remaining(as_of) for a in awards.values())), Decimal(remaining))
    check("award spins used", Decimal(sum(a.spins_used for a in awards.values())), Decimal(used))

    expected_promos = _promotion_figures(totals["promotions"].awards.values(), as_of)
    actual_promos = _promotion_figures(
        (_award(row) for row in _stream(conn, "SELECT promo_id, spins_awarded, spins_used, spins_forfeited, bet_per_spin, total_win,"
                                              " cancelled_at, expires_at FROM promotion_awards")),
        as_of,
    )
    for promo_id in sorted(expected_promos.keys() | actual_promos.keys()):
        expected_figures, actual_figures = expected_promos.get(promo_id), actual_promos.get(promo_id)
        if expected_figures is None or actual_figures is None:
            differ("promotion", promo_id, "row", "present" if expected_figures else "absent", "present" if actual_figures else "missing")
            continue
        for field in expected_figures:
            differ("promotion", promo_id, field, expected_figures[field], actual_figures[field])
    for name, field in (("promotion spins awarded", "spins_awarded"), ("promotion liability", "liability"), ("promotion wins paid", "wins_paid")):
        check(name, sum((Decimal(p[field]) for p in expected_promos.values()), ZERO), sum((Decimal(p[field]) for p in actual_promos.values()), ZERO))
    return checks, discrepancies


def _promotion_figures(awards: Any, as_of: datetime) -> dict[str, dict[str, Any]]:
    figures: dict[str, dict[str, Any]] = {}
    for award in awards:
        promo = figures.setdefault(award.promo_id, {"spins_awarded": 0, "spins_used": 0, "spins_cancelled": 0, "spins_expired": 0, "liability": ZERO, "wins_paid": ZERO})
        promo["spins_awarded"] += award.spins_awarded
        promo["spins_used"] += award.spins_used
        promo["spins_cancelled"] += award.spins_cancelled
        promo["spins_expired"] += award.unplayed() if award.expired(as_of) else 0
        promo["liability"] += award.remaining(as_of) * award.bet_per_spin
        promo["wins_paid"] += award.total_win
    return figures
