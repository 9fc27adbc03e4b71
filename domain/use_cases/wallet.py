"""Use cases of the player's cash wallet: deposits and withdrawals, idempotent on the transaction id."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from domain.clock import Clock
from domain.errors import (
    DepositLimitExceeded,
    IdempotencyKeyReused,
    InsufficientFunds,
    PlayerNotFound,
    PlayerSelfExcluded,
    TransactionNotFound,
    ValidationFailed,
)
from domain.ids import event_id_for
from domain.limits import DEPOSIT_LIMITS, refuse_past_limits
from domain.player import Player
from domain.request_record import WALLET, RequestRecord
from domain.requests import DEPOSIT, FundsRequest
from domain.results import FundsOutcome, FundsReceipt
from domain.streams import Streams, retrying


def check_deposit_limits(player: Player, amount: Decimal, now: datetime) -> None:
    """Refuses a deposit that would pass a deposit limit in force; decided on the player's recorded stream, whose
    version the append checks, so two deposits cannot pass a limit together."""
    refuse_past_limits(
        DepositLimitExceeded, f"a deposit of {amount}", player.limits_at(now), DEPOSIT_LIMITS, player.deposit_tally, amount, now, field="amount"
    )


class Wallet:
    def __init__(self, streams: Streams, clock: Clock):
        self._streams = streams
        self.clock = clock

    def move_funds(self, request: FundsRequest) -> FundsOutcome:
        def attempt() -> FundsOutcome:
            now = self.clock.now()
            record_id = RequestRecord.stream_id(WALLET, request.transaction_id)
            player_id = Player.stream_id(request.player_id)
            loaded = self._streams.load([record_id, player_id])
            if (record := loaded.get(record_id)) is not None:
                if record.fingerprint != request.fingerprint():
                    raise IdempotencyKeyReused("transaction_id was already used for a different transaction", field="transaction_id")
                event = self._streams.event_at(Player.stream_id(record.player_id), record.player_version)
                return FundsOutcome(self._funds_receipt(event, record.player_id), replayed=True)
            player = loaded.get(player_id)
            if player is None:
                raise PlayerNotFound(f"no player {request.player_id!r}", field="player_id")
            if request.currency != player.currency:
                raise ValidationFailed(f"currency must be the player's currency, {player.currency}", field="currency")
            if request.kind == DEPOSIT:
                if player.is_self_excluded_at(now):
                    raise PlayerSelfExcluded("the player is self-excluded and cannot deposit", field="player_id")
                check_deposit_limits(player, request.amount, now)
                player.deposit(request.transaction_id, request.amount, request.currency, player.balance + request.amount, timestamp=now)
            else:
                if request.amount > player.balance:
                    raise InsufficientFunds(f"the balance, {player.balance}, is less than {request.amount}", field="amount")
                player.withdraw(request.transaction_id, request.amount, request.currency, player.balance - request.amount, timestamp=now)
            event = player.pending_events[-1]
            record = RequestRecord.record(
                scope=WALLET,
                key=request.transaction_id,
                fingerprint=request.fingerprint(),
                player_id=request.player_id,
                player_version=player.version,
                at=now,
            )
            self._streams.save(player, record)
            return FundsOutcome(self._funds_receipt(event, request.player_id), replayed=False)

        return retrying(attempt)

    def find_transaction(self, player_id: str, transaction_id: str) -> FundsReceipt:
        """A player's deposit or withdrawal by its transaction id, as its call answered it (for a caller whose call
        timed out: look it up before sending it again)."""
        record = self._streams.load_one(RequestRecord.stream_id(WALLET, transaction_id))
        if not isinstance(record, RequestRecord) or record.player_id != player_id:
            raise TransactionNotFound(f"player {player_id!r} has no transaction {transaction_id!r}", field="transaction_id")
        return self._funds_receipt(self._streams.event_at(Player.stream_id(player_id), record.player_version), player_id)

    @staticmethod
    def _funds_receipt(event: Any, player_id: str) -> FundsReceipt:
        return FundsReceipt(
            transaction_id=event.transaction_id,
            player_id=player_id,
            kind="deposit" if type(event).__name__ == "FundsDeposited" else "withdrawal",
            amount=event.amount,
            currency=event.currency,
            balance=event.balance_after,
            event_id=str(event_id_for(event.originator_id, event.originator_version)),
            server_time=event.timestamp,
        )
