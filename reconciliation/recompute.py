"""The totals, recomputed straight from the events: a second opinion that shares no code with the views.

Each kind of stream (players, awards, promotions) is read in the event store's primary-key order — stream
by stream, version by version — as a stream of rows (``Snapshot``) and folded one stream at a time. Memory holds
one stream's events, never the store's, however many events there are.

Events are parsed as plain JSON (``orjson``), field by field, not through the library's transcoder
(which the views use): a value of a custom type is the library's ``{"_type_": ..., "_data_": ...}`` pair.
Each fold stops at the position of the view it will be compared with, so a view that is behind is judged
by the events it has had a chance to apply.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from itertools import chain, groupby
from operator import itemgetter
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.utils import get_topic
from psycopg import sql

from domain.award import Award
from domain.coin_award import CoinAward
from domain.money import COIN_CURRENCY
from domain.player import Player
from domain.promotion import Promotion
from reconciliation.snapshot import Snapshot

ZERO = Decimal("0.00")

Event = tuple[int, str, dict[str, Any]]  # position, event name, decoded state


def _topics(aggregate: type, *names: str) -> tuple[str, ...]:
    return tuple(get_topic(getattr(aggregate, name)) for name in names)


PLAYER_TOPICS = _topics(Player, "PlayerRegistered", "FundsDeposited", "FundsWithdrawn", "SpinSettled", "GoldCoinsReceived")
AWARD_TOPICS = _topics(Award, "FreeSpinsAwarded", "AwardSpinPlayed", "AwardCancelled") + _topics(CoinAward, "GoldCoinsAwarded")
PROMOTION_TOPICS = _topics(Promotion, "PromotionDefined", "BudgetReserved", "CoinsReserved")


@dataclass(slots=True)
class PlayerTotals:
    player_id: str | None = None
    deposits: Decimal = ZERO
    withdrawals: Decimal = ZERO
    bets: Decimal = ZERO
    wins: Decimal = ZERO
    spins: int = 0
    coins_awarded: Decimal = ZERO
    coin_bets: Decimal = ZERO
    coin_wins: Decimal = ZERO
    coin_spins: int = 0
    test: bool = False

    @property
    def balance(self) -> Decimal:
        return self.deposits - self.withdrawals - self.bets + self.wins

    @property
    def coin_balance(self) -> Decimal:
        return self.coins_awarded - self.coin_bets + self.coin_wins


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
    coins_awarded: Decimal | None = None  # an award of gold coins: no spins, no expiry

    def unplayed(self) -> int:
        return self.spins_awarded - self.spins_used - self.spins_cancelled

    def expired(self, at: datetime) -> bool:
        return not self.cancelled and self.unplayed() > 0 and self.expires_at is not None and at >= self.expires_at

    def remaining(self, at: datetime) -> int:
        return 0 if self.expired(at) else self.unplayed()


@dataclass(slots=True)
class PromotionTotals:
    promo_id: str | None = None
    spins_reserved: int = 0
    coins_reserved: Decimal = ZERO
    test: bool = False


def decimal(value: dict[str, str]) -> Decimal:
    return Decimal(value["_data_"])


def instant(value: dict[str, str] | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value["_data_"])


class EventReader:
    """Reads the events stream by stream, decoding each only when a fold asks for it, and counts them."""

    def __init__(self) -> None:
        self.read = 0

    def streams(self, snapshot: Snapshot, topics: tuple[str, ...], up_to: int) -> Iterator[tuple[UUID, str, Iterator[Event]]]:
        """The events of these topics up to position ``up_to``, one stream at a time in stream-id order, as
        of the run's snapshot; with each stream, its first event's topic. A stream's events are handed out
        one by one: a long stream (a promotion's reservations) is never held whole."""
        rows = snapshot.rows(
            sql.SQL(
                "SELECT originator_id, notification_id, topic, state FROM spinledger_events"
                " WHERE notification_id <= {} AND topic = ANY({}::text[]) ORDER BY originator_id, originator_version"
            ).format(sql.Literal(up_to), sql.Literal(list(topics)))
        )
        for stream, group in groupby(rows, key=itemgetter(0)):
            first = next(group)
            # One iterator, not two uses: its first row was taken above and the rest go out lazily, so the caller
            # reads a stream's events before asking for the next stream (groupby drops what is left unread).
            yield stream, first[2], self._decoded(chain((first,), group))  # noqa: B031

    def _decoded(self, rows: Iterable[tuple[UUID, int, str, bytes]]) -> Iterator[Event]:
        for _, position, topic, state in rows:
            self.read += 1
            yield position, topic.rsplit(".", 1)[-1], _parse(state)


def _parse(state: bytes) -> Any:
    """orjson: parsing the events is a large share of a run's time, and it parses them about twice as fast.
    What it refuses and the standard parser accepts (NaN, integers past 64 bits) goes to the standard parser."""
    try:
        return orjson.loads(state)
    except orjson.JSONDecodeError:
        return json.loads(state)


def fold_player(events: Iterable[Event], up_to: int) -> PlayerTotals | None:
    totals = None
    for position, kind, state in events:
        if position > up_to:
            break
        totals = totals or PlayerTotals()
        if kind == "PlayerRegistered":
            totals.player_id = state["player_id"]
            totals.test = state.get("test", False)
        elif kind == "FundsDeposited":
            totals.deposits += decimal(state["amount"])
        elif kind == "FundsWithdrawn":
            totals.withdrawals += decimal(state["amount"])
        elif kind == "GoldCoinsReceived":
            totals.coins_awarded += decimal(state["coins"])
        elif kind == "SpinSettled" and state["spin"]["currency"] == COIN_CURRENCY:
            totals.coin_bets += decimal(state["spin"]["debited"])
            totals.coin_wins += decimal(state["spin"]["total_win"])
            totals.coin_spins += 1
        elif kind == "SpinSettled":
            totals.bets += decimal(state["spin"]["debited"])
            totals.wins += decimal(state["spin"]["total_win"])
            totals.spins += 1
    return totals


def fold_award(events: Iterable[Event], up_to: int) -> AwardTotals | None:
    totals = None
    for position, kind, state in events:
        if position > up_to:
            break
        if kind == "FreeSpinsAwarded":
            totals = AwardTotals(
                player_id=state["player_id"],
                promo_id=state["promo_id"],
                spins_awarded=state["spins"],
                bet_per_spin=decimal(state["bet_per_spin"]),
                expires_at=instant(state["expires_at"]),
            )
        elif kind == "GoldCoinsAwarded":
            totals = AwardTotals(player_id=state["player_id"], promo_id=state["promo_id"], coins_awarded=decimal(state["coins"]))
        elif totals is None:
            continue
        elif kind == "AwardSpinPlayed":
            totals.spins_used += state["funding"] == "award"
            totals.total_win += decimal(state["win"])
        elif kind == "AwardCancelled":
            totals.spins_cancelled += state["spins_forfeited"]
            totals.cancelled = True
    return totals


def fold_promotion(events: Iterable[Event], up_to: int) -> PromotionTotals | None:
    totals = None
    for position, kind, state in events:
        if position > up_to:
            break
        totals = totals or PromotionTotals()
        if kind == "PromotionDefined":
            totals.promo_id = state["promo_id"]
            totals.test = state["terms"].get("test", False)
        elif kind == "BudgetReserved":
            totals.spins_reserved += state["spins"]
        elif kind == "CoinsReserved":
            totals.coins_reserved += decimal(state["coins"])
    return totals
