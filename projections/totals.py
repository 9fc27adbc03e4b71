"""The ledger's running totals as the views hold them, for the operators' metrics: awards and the spins they
granted, spins played, and bets and wins by currency. Each is as of its view's position (see the lag)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from eventsourcing.postgres import PostgresDatastore

AWARDS = "SELECT count(*) AS awards, coalesce(sum(spins_awarded), 0) AS spins_awarded FROM award_status"
WALLETS = """
SELECT currency, coalesce(sum(spins), 0) AS spins, coalesce(sum(bets), 0) AS bets, coalesce(sum(wins), 0) AS wins
FROM wallet WHERE currency IS NOT NULL GROUP BY currency ORDER BY currency
"""


@dataclass(frozen=True)
class CurrencyTotals:
    spins: int
    bets: Decimal
    wins: Decimal


@dataclass(frozen=True)
class LedgerTotals:
    awards: int
    free_spins_awarded: int
    by_currency: dict[str, CurrencyTotals] = field(default_factory=dict)


def ledger_totals(datastore: PostgresDatastore) -> LedgerTotals:
    with datastore.get_connection() as conn:
        awards = conn.execute(AWARDS).fetchone()
        wallets = conn.execute(WALLETS).fetchall()
    return LedgerTotals(
        awards=awards["awards"],
        free_spins_awarded=awards["spins_awarded"],
        by_currency={row["currency"]: CurrencyTotals(spins=row["spins"], bets=row["bets"], wins=row["wins"]) for row in wallets},
    )
