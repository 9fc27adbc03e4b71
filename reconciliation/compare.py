"""The report: each view read in the same snapshot as the events, compared total by total and row by row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from psycopg import Connection

from reconciliation.recompute import ZERO, AwardTotals, Totals

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
        if self.expected == 0:
            return Decimal("0.000") if self.drift == 0 else Decimal("100.000")
        return (abs(self.drift) / abs(self.expected) * 100).quantize(Decimal("0.001"))


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


def _rows(conn: Connection[Any], sql: str) -> dict[UUID, dict[str, Any]]:
    with conn.cursor() as cursor:
        cursor.execute(sql)
        names = [column.name for column in cursor.description or []]
        return {row[0]: dict(zip(names, row)) for row in cursor}


def compare(conn: Connection[Any], totals: dict[str, Totals], as_of: datetime, threshold_pct: Decimal) -> tuple[list[Check], list[Discrepancy]]:
    checks: list[Check] = []
    discrepancies: list[Discrepancy] = []

    def check(name: str, expected: Decimal, actual: Decimal) -> None:
        probe = Check(name, expected, actual, False)
        checks.append(Check(name, expected, actual, probe.drift_pct > threshold_pct))

    def differ(entity: str, key: str, field: str, expected: Any, actual: Any) -> None:
        if expected != actual:
            discrepancies.append(Discrepancy(entity, key, field, str(expected), str(actual)))

    wallet = _rows(conn, "SELECT stream_id, player_id, balance, deposits, withdrawals, bets, wins, spins FROM wallet")
    players = totals["wallet"].players
    for stream, expected in players.items():
        row = wallet.get(stream)
        key = expected.player_id or str(stream)
        if row is None:
            differ("player", key, "row", "present", "missing")
            continue
        for field in ("deposits", "withdrawals", "bets", "wins", "spins", "balance"):
            differ("player", key, field, getattr(expected, field), row[field])
    for stream in wallet.keys() - players.keys():
        differ("player", wallet[stream]["player_id"] or str(stream), "row", "absent", "present")
    for name, field in (("player balances", "balance"), ("money in (deposits)", "deposits"),
                        ("money out (withdrawals)", "withdrawals"), ("bets", "bets"), ("wins", "wins")):
        check(name, sum((getattr(p, field) for p in players.values()), ZERO), sum((r[field] for r in wallet.values()), ZERO))

    stored = _rows(conn, "SELECT award_id, spins_awarded, spins_used, spins_forfeited, total_win, cancelled_at, expires_at FROM award_status")
    awards = totals["awards"].awards
    for award_id, expected in awards.items():
        row = stored.get(award_id)
        if row is None:
            differ("award", str(award_id), "row", "present", "missing")
            continue
        actual = AwardTotals(spins_awarded=row["spins_awarded"], spins_used=row["spins_used"], spins_cancelled=row["spins_forfeited"],
                             total_win=row["total_win"], expires_at=row["expires_at"], cancelled=row["cancelled_at"] is not None)
        for field in ("spins_awarded", "spins_used", "total_win"):
            differ("award", str(award_id), field, getattr(expected, field), getattr(actual, field))
        differ("award", str(award_id), "spins_remaining", expected.remaining(as_of), actual.remaining(as_of))
        differ("award", str(award_id), "spins_forfeited", expected.spins_cancelled, actual.spins_cancelled)
    for award_id in stored.keys() - awards.keys():
        differ("award", str(award_id), "row", "absent", "present")
    check("award spins remaining", Decimal(sum(a.remaining(as_of) for a in awards.values())),
          Decimal(sum(_remaining(r, as_of) for r in stored.values())))
    check("award spins used", Decimal(sum(a.spins_used for a in awards.values())), Decimal(sum(r["spins_used"] for r in stored.values())))

    promo_awards = _rows(conn, "SELECT award_id, promo_id, spins_awarded, spins_used, spins_forfeited, bet_per_spin, total_win, cancelled_at, expires_at FROM promotion_awards")
    expected_promos = _promotion_figures(totals["promotions"].awards.values(), as_of)
    actual_promos = _promotion_figures(
        (AwardTotals(promo_id=r["promo_id"], spins_awarded=r["spins_awarded"], spins_used=r["spins_used"],
                     spins_cancelled=r["spins_forfeited"], bet_per_spin=r["bet_per_spin"], total_win=r["total_win"],
                     expires_at=r["expires_at"], cancelled=r["cancelled_at"] is not None) for r in promo_awards.values()),
        as_of,
    )
    for promo_id in expected_promos.keys() | actual_promos.keys():
        expected, actual = expected_promos.get(promo_id), actual_promos.get(promo_id)
        if expected is None or actual is None:
            differ("promotion", promo_id, "row", "present" if expected else "absent", "present" if actual else "missing")
            continue
        for field in expected:
            differ("promotion", promo_id, field, expected[field], actual[field])
    for name, field in (("promotion spins awarded", "spins_awarded"), ("promotion liability", "liability"), ("promotion wins paid", "wins_paid")):
        check(name, sum((Decimal(p[field]) for p in expected_promos.values()), ZERO), sum((Decimal(p[field]) for p in actual_promos.values()), ZERO))
    return checks, discrepancies


def _remaining(row: dict[str, Any], as_of: datetime) -> int:
    award = AwardTotals(spins_awarded=row["spins_awarded"], spins_used=row["spins_used"], spins_cancelled=row["spins_forfeited"],
                        expires_at=row["expires_at"], cancelled=row["cancelled_at"] is not None)
    return award.remaining(as_of)


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
