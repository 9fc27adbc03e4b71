"""The wallet: per player, the cash balance and what moved it (deposits, withdrawals, bets, wins, spins); beside it,
never mixed in, the gold-coin balance and what moved it (coins awarded, coin bets and wins, coin spins)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic
from psycopg import Cursor
from psycopg.rows import DictRow

from domain.money import COIN_CURRENCY
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
    coin_balance: Decimal | None = None
    coins_awarded: Decimal = ZERO
    coin_bets: Decimal = ZERO
    coin_wins: Decimal = ZERO
    coin_spins: int = 0
    test: bool | None = None
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
                if isinstance(event, Player.PlayerRegistered):
                    row.test = getattr(event, "test", False)
            elif isinstance(event, Player.FundsDeposited):
                row.deposits += event.amount
                row.balance = event.balance_after
            elif isinstance(event, Player.FundsWithdrawn):
                row.withdrawals += event.amount
                row.balance = event.balance_after
            elif isinstance(event, Player.GoldCoinsReceived):
                row.coins_awarded += event.coins
                row.coin_balance = event.coin_balance_after
            elif isinstance(event, Player.SpinSettled) and event.spin["currency"] == COIN_CURRENCY:
                row.coin_bets += event.spin["debited"]
                row.coin_wins += event.spin["total_win"]
                row.coin_spins += 1
                row.coin_balance = event.spin["balance_after"]
            elif isinstance(event, Player.SpinSettled):
                row.bets += event.spin["debited"]
                row.wins += event.spin["total_win"]
                row.spins += 1
                row.balance = event.spin["balance_after"]
        ids = list(rows)
        values = [rows[i] for i in ids]
        cursor.execute(
            f"""
            INSERT INTO {self.table("wallet")} AS w (stream_id, player_id, currency, deposits, withdrawals, bets, wins, spins,
                                                     coins_awarded, coin_bets, coin_wins, coin_spins, test, version)
            SELECT stream_id, player_id, currency, deposits, withdrawals, bets, wins, spins, coins_awarded, coin_bets, coin_wins,
                   coin_spins, coalesce(test, false), version
            FROM unnest(%b::uuid[], %b::text[], %b::text[], %b::numeric[], %b::numeric[], %b::numeric[], %b::numeric[], %b::bigint[],
                        %b::numeric[], %b::numeric[], %b::numeric[], %b::bigint[], %b::boolean[], %b::bigint[])
                AS u(stream_id, player_id, currency, deposits, withdrawals, bets, wins, spins, coins_awarded, coin_bets, coin_wins,
                     coin_spins, test, version)
            ON CONFLICT (stream_id) DO UPDATE SET
                player_id = coalesce(EXCLUDED.player_id, w.player_id),
                currency = coalesce(EXCLUDED.currency, w.currency),
                deposits = w.deposits + EXCLUDED.deposits,
                withdrawals = w.withdrawals + EXCLUDED.withdrawals,
                bets = w.bets + EXCLUDED.bets,
                wins = w.wins + EXCLUDED.wins,
                spins = w.spins + EXCLUDED.spins,
                coins_awarded = w.coins_awarded + EXCLUDED.coins_awarded,
                coin_bets = w.coin_bets + EXCLUDED.coin_bets,
                coin_wins = w.coin_wins + EXCLUDED.coin_wins,
                coin_spins = w.coin_spins + EXCLUDED.coin_spins,
                test = w.test OR EXCLUDED.test,
                version = EXCLUDED.version
            """,
            [
                ids,
                [r.player_id for r in values],
                [r.currency for r in values],
                [r.deposits for r in values],
                [r.withdrawals for r in values],
                [r.bets for r in values],
                [r.wins for r in values],
                [r.spins for r in values],
                [r.coins_awarded for r in values],
                [r.coin_bets for r in values],
                [r.coin_wins for r in values],
                [r.coin_spins for r in values],
                [r.test for r in values],
                [r.version for r in values],
            ],
        )
        moved = [(i, r.balance, r.coin_balance) for i, r in zip(ids, values, strict=True) if r.balance is not None or r.coin_balance is not None]
        if moved:
            cursor.execute(
                f"""UPDATE {self.table("wallet")} AS w
                    SET balance = coalesce(u.balance, w.balance), coin_balance = coalesce(u.coin_balance, w.coin_balance)
                    FROM unnest(%b::uuid[], %b::numeric[], %b::numeric[]) AS u(stream_id, balance, coin_balance)
                    WHERE w.stream_id = u.stream_id""",
                [[i for i, _, _ in moved], [b for _, b, _ in moved], [c for _, _, c in moved]],
            )


class WalletProjection(BatchProjection):
    name = "wallet"
    topics = tuple(
        get_topic(cls)
        for cls in (
            Player.PlayerRegistered,
            Player.PlayerUpdated,
            Player.FundsDeposited,
            Player.FundsWithdrawn,
            Player.SpinSettled,
            Player.GoldCoinsReceived,
        )
    )
