"""The report: each view compared with the events, total by total and row by row, in one snapshot."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Iterator

from psycopg import Connection

from reconciliation.recompute import AWARDS, PLAYERS, PROMOTIONS

VIEWS = {"wallet": "wallet_tracking", "awards": "awards_tracking", "promotions": "promotions_tracking"}
FETCH = 5000
ZERO = Decimal("0.00")


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


def _stream(conn: Connection[Any], sql: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Rows through a server-side cursor: never all of them in memory at once."""
    with conn.cursor(name="reconciliation") as cursor:
        cursor.itersize = FETCH
        cursor.execute(sql, params)
        names = [column.name for column in cursor.description or []]
        for row in cursor:
            yield dict(zip(names, row))


class Comparison:
    def __init__(self, threshold_pct: Decimal):
        self.threshold_pct = threshold_pct
        self.checks: list[Check] = []
        self.discrepancies: list[Discrepancy] = []

    def entity(self, conn: Connection[Any], entity: str, sql: str, params: dict[str, Any], fields: tuple[str, ...],
               totals: dict[str, str]) -> int:
        """Compares each row of a recomputation joined with its view; returns the rows compared."""
        sums = {name: [ZERO, ZERO] for name in totals}
        rows = 0
        for row in _stream(conn, sql, params):
            rows += 1
            for name, field in totals.items():
                sums[name][0] += row[f"e_{field}"] or 0
                sums[name][1] += row[f"a_{field}"] or 0
            if not (row["expected_row"] and row["actual_row"]):
                self.discrepancies.append(Discrepancy(entity, row["id"], "row", "present" if row["expected_row"] else "absent",
                                                      "present" if row["actual_row"] else "missing"))
                continue
            for field in fields:
                if row[f"e_{field}"] != row[f"a_{field}"]:
                    self.discrepancies.append(Discrepancy(entity, row["id"], field, str(row[f"e_{field}"]), str(row[f"a_{field}"])))
        for name, (expected, actual) in sums.items():
            self.checks.append(Check(name, Decimal(expected), Decimal(actual), drift_pct(Decimal(expected), Decimal(actual)) > self.threshold_pct))
        return rows


def compare(conn: Connection[Any], positions: dict[str, int], as_of: datetime, threshold_pct: Decimal) -> tuple[list[Check], list[Discrepancy]]:
    comparison = Comparison(threshold_pct)
    comparison.entity(
        conn, "player", PLAYERS, {"position": positions["wallet"]},
        ("deposits", "withdrawals", "bets", "wins", "spins", "balance"),
        {"player balances": "balance", "money in (deposits)": "deposits", "money out (withdrawals)": "withdrawals",
         "bets": "bets", "wins": "wins"},
    )
    comparison.entity(
        conn, "award", AWARDS, {"position": positions["awards"], "as_of": as_of},
        ("spins_awarded", "spins_used", "total_win", "spins_remaining", "spins_forfeited"),
        {"award spins remaining": "spins_remaining", "award spins used": "spins_used"},
    )
    comparison.entity(
        conn, "promotion", PROMOTIONS, {"position": positions["promotions"], "as_of": as_of},
        ("spins_awarded", "spins_used", "spins_cancelled", "spins_expired", "liability", "wins_paid"),
        {"promotion spins awarded": "spins_awarded", "promotion liability": "liability", "promotion wins paid": "wins_paid"},
    )
    return comparison.checks, comparison.discrepancies
