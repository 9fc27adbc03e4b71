"""The wallet: per player, the cash balance and what moved it (deposits, withdrawals, bets, wins, spins)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic
from psycopg import Cursor
from psycopg.rows import DictRow

from domain.player import Player
from projections.view import BatchProjection, View

ZERO = Decimal("0.00")


@dataclass
class WalletRow:
    player_id: str | None = None
    currency: str | None = None
    balance: Decimal | None = None
    deposits: Decimal = ZERO
    withdrawals: Decimal = ZERO
    bets: Decimal = ZERO
    wins: Decimal = ZERO
    spins: int = 0
    version: int = 0


class WalletView(View):
    name = "wallet"
    tables = ("wallet",)
    indexes = ("wallet_player_id",)

    def write(self, cursor: Cursor[DictRow], events: list[Any], positions: list[int]) -> None:
        rows: dict[UUID, WalletRow] = {}
        for event in events:
            row = rows.setdefault(event.originator_id, WalletRow())
            row.version = event.originator_version
            if isinstance(event, (Player.PlayerRegistered, Player.PlayerUpdated)):
                row.player_id = getattr(event, "player_id", row.player_id)
                row.currency = event.currency
            elif isinstance(event, Player.FundsDeposited):
                row.deposits += event.amount
                row.balance = event.balance_after
            elif isinstance(event, Player.FundsWithdrawn):
                row.withdrawals += event.amount
                row.balance = event.balance_after
            elif isinstance(event, Player.SpinSettled):
                row.bets += event.spin["debited"]
                row.wins += event.spin["total_win"]
                row.spins += 1
                row.balance = event.spin["balance_after"]
        ids = list(rows)
        values = [rows[i] for i in ids]
        cursor.execute(
            f"""
            INSERT INTO {self.table("wallet")} AS w (stream_id, player_id, currency, deposits, withdrawals, bets, wins, spins, version)
            SELECT * FROM unnest(%b::uuid[], %b::text[], %b::text[], %b::numeric[], %b::numeric[], %b::numeric[],
                                 %b::numeric[], %b::bigint[], %b::bigint[])
            ON CONFLICT (stream_id) DO UPDATE SET
                player_id = coalesce(EXCLUDED.player_id, w.player_id),
                currency = coalesce(EXCLUDED.currency, w.currency),
                deposits = w.deposits + EXCLUDED.deposits,
                withdrawals = w.withdrawals + EXCLUDED.withdrawals,
                bets = w.bets + EXCLUDED.bets,
                wins = w.wins + EXCLUDED.wins,
                spins = w.spins + EXCLUDED.spins,
                version = EXCLUDED.version
            """,
            [ids, [r.player_id for r in values], [r.currency for r in values], [r.deposits for r in values],
             [r.withdrawals for r in values], [r.bets for r in values], [r.wins for r in values],
             [r.spins for r in values], [r.version for r in values]],
        )
        moved = [(i, r.balance) for i, r in zip(ids, values) if r.balance is not None]
        if moved:
            cursor.execute(
                f"""UPDATE {self.table("wallet")} AS w SET balance = u.balance
                    FROM unnest(%b::uuid[], %b::numeric[]) AS u(stream_id, balance) WHERE w.stream_id = u.stream_id""",
                [[i for i, _ in moved], [b for _, b in moved]],
            )


class WalletProjection(BatchProjection):
    name = "wallet"
    topics = tuple(get_topic(cls) for cls in (
        Player.PlayerRegistered, Player.PlayerUpdated, Player.FundsDeposited, Player.FundsWithdrawn, Player.SpinSettled,
    ))
