"""The totals, recomputed straight from the events: a second opinion that shares no code with the views.

One pass over the event store, in notification order, through a server-side cursor: memory grows with
the number of players, awards and promotions, not with the number of events. Each view is compared at
its own position, so the pass keeps one set of totals per view and feeds each only the events that
view has applied.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Iterator
from uuid import UUID

from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, UUIDAsHex
from psycopg import Connection

ZERO = Decimal("0.00")
FETCH = 5000
APPLIED = frozenset({
    "PlayerRegistered", "FundsDeposited", "FundsWithdrawn", "SpinSettled", "FreeSpinsAwarded", "AwardSpinPlayed",
    "AwardCancelled", "PromotionDefined", "BudgetReserved",
})


@dataclass(slots=True)
class PlayerTotals:
    player_id: str | None = None
    deposits: Decimal = ZERO
    withdrawals: Decimal = ZERO
    bets: Decimal = ZERO
    wins: Decimal = ZERO
    spins: int = 0

    @property
    def balance(self) -> Decimal:
        return self.deposits - self.withdrawals - self.bets + self.wins


@dataclass(slots=True)
class AwardTotals:
    player_id: str = ""
    promo_id: str = ""
    spins_awarded: int = 0
    spins_used: int = 0
    spins_cancelled: int = 0
    bet_per_spin: Decimal = ZERO
    total_win: Decimal = ZERO
    expires_at: datetime | None = None
    cancelled: bool = False

    def unplayed(self) -> int:
        return self.spins_awarded - self.spins_used - self.spins_cancelled

    def expired(self, at: datetime) -> bool:
        return not self.cancelled and self.unplayed() > 0 and self.expires_at is not None and at >= self.expires_at

    def remaining(self, at: datetime) -> int:
        return 0 if self.expired(at) else self.unplayed()


@dataclass
class Totals:
    """What one view should hold, from the events up to ``position``."""

    position: int
    players: dict[UUID, PlayerTotals] = field(default_factory=dict)
    awards: dict[UUID, AwardTotals] = field(default_factory=dict)
    promotions: dict[UUID, dict[str, Any]] = field(default_factory=dict)

    def apply(self, stream: UUID, kind: str, state: dict[str, Any]) -> None:
        if kind == "PlayerRegistered":
            self.players.setdefault(stream, PlayerTotals()).player_id = state["player_id"]
        elif kind == "FundsDeposited":
            self.players.setdefault(stream, PlayerTotals()).deposits += state["amount"]
        elif kind == "FundsWithdrawn":
            self.players.setdefault(stream, PlayerTotals()).withdrawals += state["amount"]
        elif kind == "SpinSettled":
            player = self.players.setdefault(stream, PlayerTotals())
            player.bets += state["spin"]["debited"]
            player.wins += state["spin"]["total_win"]
            player.spins += 1
        elif kind == "FreeSpinsAwarded":
            self.awards[stream] = AwardTotals(
                player_id=state["player_id"], promo_id=state["promo_id"], spins_awarded=state["spins"],
                bet_per_spin=state["bet_per_spin"], expires_at=state["expires_at"],
            )
        elif kind == "AwardSpinPlayed" and stream in self.awards:
            award = self.awards[stream]
            award.spins_used += state["funding"] == "award"
            award.total_win += state["win"]
        elif kind == "AwardCancelled" and stream in self.awards:
            self.awards[stream].spins_cancelled += state["spins_forfeited"]
            self.awards[stream].cancelled = True
        elif kind == "PromotionDefined":
            self.promotions[stream] = {"promo_id": state["promo_id"], "spins_reserved": 0}
        elif kind == "BudgetReserved" and stream in self.promotions:
            self.promotions[stream]["spins_reserved"] += state["spins"]


def decoder() -> JSONTranscoder:
    transcoder = JSONTranscoder()
    for kind in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(kind)
    return transcoder


def stream_events(conn: Connection[Any], up_to: int) -> Iterator[tuple[int, UUID, str, bytes]]:
    """Every event up to ``up_to``, in order, ``FETCH`` rows at a time, inside the caller's transaction."""
    with conn.cursor(name="reconciliation_events") as cursor:
        cursor.itersize = FETCH
        cursor.execute(
            "SELECT notification_id, originator_id, topic, state FROM spinledger_events"
            " WHERE notification_id <= %s ORDER BY notification_id",
            [up_to],
        )
        for notification_id, stream, topic, state in cursor:
            yield notification_id, stream, topic, bytes(state)


def recompute(conn: Connection[Any], positions: dict[str, int]) -> tuple[dict[str, Totals], int]:
    """The totals each view should hold at its position; and how many events were read.

    Views at the same position (the usual case: the worker keeps them all current) share one set."""
    by_position = {position: Totals(position) for position in set(positions.values())}
    totals = {view: by_position[position] for view, position in positions.items()}
    transcoder = decoder()
    read = 0
    for notification_id, stream, topic, state in stream_events(conn, max(positions.values(), default=0)):
        read += 1
        kind = topic.rsplit(".", 1)[-1]
        if kind not in APPLIED:
            continue
        decoded = None
        for view_totals in by_position.values():
            if notification_id <= view_totals.position:
                decoded = decoded if decoded is not None else transcoder.decode(state)
                view_totals.apply(stream, kind, decoded)
    return totals, read
