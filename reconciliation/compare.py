"""The report: each view read in the same snapshot as the events, compared total by total and row by row.

The events are read once, stream by stream in stream-id order; each view is read in its key's order (its key
is the stream id) beside them, and the two are merged, so neither side is ever held whole in memory.
Promotions are few and kept in a dict.
"""

from __future__ import annotations

from collections.abc import Iterator, Set
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar
from uuid import UUID

from psycopg import Connection, sql

from projections.promotions import promotion_totals_sql
from reconciliation.recompute import (
    AWARD_TOPICS,
    PLAYER_TOPICS,
    PROMOTION_TOPICS,
    ZERO,
    AwardTotals,
    Event,
    EventReader,
    PlayerTotals,
    fold_award,
    fold_player,
    fold_promotion,
)
from reconciliation.snapshot import Snapshot

K = TypeVar("K")
A = TypeVar("A")

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


def events_up_to(conn: Connection[Any], position: int) -> int:
    """How many events the store holds up to ``position``: those a run read and those of other kinds."""
    row = conn.execute("SELECT count(*) FROM spinledger_events WHERE notification_id <= %s", [position]).fetchone()
    return int(row[0]) if row else 0


class SortedRows(Generic[K, A]):
    """A view's rows in key order, handed out as the events' streams (in the same order) reach them."""

    def __init__(self, rows: Iterator[tuple[K, A]]) -> None:
        self._rows = rows
        self._head = next(rows, None)

    def before(self, key: K) -> Iterator[tuple[K, A]]:
        """The rows whose key comes before ``key``: the view holds them, the events do not."""
        while self._head is not None and self._head[0] < key:  # type: ignore[operator]
            yield self._head
            self._head = next(self._rows, None)

    def pop(self, key: K) -> A | None:
        if self._head is None or self._head[0] != key:
            return None
        row = self._head[1]
        self._head = next(self._rows, None)
        return row

    def rest(self) -> Iterator[tuple[K, A]]:
        while self._head is not None:
            yield self._head
            self._head = next(self._rows, None)


def _award(row: dict[str, Any]) -> AwardTotals:
    return AwardTotals(
        promo_id=row.get("promo_id") or "",
        spins_awarded=row["spins_awarded"],
        spins_used=row["spins_used"],
        spins_cancelled=row["spins_forfeited"],
        bet_per_spin=row.get("bet_per_spin") or ZERO,
        total_win=row["total_win"],
        expires_at=row["expires_at"],
        cancelled=row["cancelled_at"] is not None,
        coins_awarded=row.get("coins_awarded"),
    )


class Comparison:
    """The checks and discrepancies of one run."""

    def __init__(self, as_of: datetime, threshold_pct: Decimal) -> None:
        self.as_of = as_of
        self.threshold_pct = threshold_pct
        self.checks: list[Check] = []
        self.discrepancies: list[Discrepancy] = []

    def check(self, name: str, expected: Decimal, actual: Decimal) -> None:
        self.checks.append(Check(name, expected, actual, drift_pct(expected, actual) > self.threshold_pct))

    def differ(self, entity: str, key: str, field: str, expected: Any, actual: Any) -> None:
        if expected != actual:
            self.discrepancies.append(Discrepancy(entity, key, field, str(expected), str(actual)))

    def present(self, entity: str, key: str, expected: Any, actual: Any) -> bool:
        """True when both sides hold the entity; otherwise records the row the view lacks or should not have."""
        if expected is None or actual is None:
            self.differ(entity, key, "row", "present" if expected is not None else "absent", "present" if actual is not None else "missing")
            return False
        return True


def compare(snapshot: Snapshot, positions: dict[str, int], as_of: datetime, threshold_pct: Decimal) -> tuple[list[Check], list[Discrepancy], int]:
    """Every view against the events up to its own position, in one pass over the events; and how many
    events were read."""
    comparison = Comparison(as_of, threshold_pct)
    wallet = WalletCheck(snapshot, positions["wallet"], comparison)
    awards = AwardCheck(snapshot, positions["awards"], positions["promotions"], comparison)
    promotions = PromotionCheck(positions["promotions"], comparison)
    route: dict[str, Any] = {
        **dict.fromkeys(PLAYER_TOPICS, wallet),
        **dict.fromkeys(AWARD_TOPICS, awards),
        **dict.fromkeys(PROMOTION_TOPICS, promotions),
    }
    reader = EventReader()
    for stream, topic, events in reader.streams(snapshot, tuple(route), max(positions.values(), default=0)):
        route[topic].stream(stream, events)
    wallet.finish()
    promotions.finish(snapshot)
    awards.finish(snapshot, promotions.test_promotions)
    return comparison.checks, comparison.discrepancies, reader.read


class WalletCheck:
    """Each player's money, and apart from it gold coins, against the ``wallet`` view; and the global money in and
    out, and the coins, each summed on its own. A smoke test's players are checked row by row but left out of the
    sums."""

    MONEY = ("balance", "deposits", "withdrawals", "bets", "wins")
    COINS = ("coin_balance", "coins_awarded", "coin_bets", "coin_wins")
    ROW_FIELDS = (
        "deposits",
        "withdrawals",
        "bets",
        "wins",
        "spins",
        "balance",
        "coins_awarded",
        "coin_bets",
        "coin_wins",
        "coin_spins",
        "coin_balance",
        "test",
    )

    def __init__(self, snapshot: Snapshot, position: int, comparison: Comparison) -> None:
        self.position = position
        self.comparison = comparison
        self.expected_sums = dict.fromkeys(self.MONEY + self.COINS, ZERO)
        self.actual_sums = dict.fromkeys(self.MONEY + self.COINS, ZERO)
        rows = snapshot.dicts(
            sql.SQL(
                "SELECT stream_id, player_id, balance, deposits, withdrawals, bets, wins, spins, coin_balance, coins_awarded, coin_bets,"
                " coin_wins, coin_spins, test FROM wallet ORDER BY stream_id"
            )
        )
        self.rows: SortedRows[UUID, dict[str, Any]] = SortedRows((row["stream_id"], row) for row in rows)

    def stream(self, stream: UUID, events: Iterator[Event]) -> None:
        for key, row in self.rows.before(stream):
            self.player(key, None, row)
        self.player(stream, fold_player(events, self.position), self.rows.pop(stream))

    def player(self, stream: UUID, totals: PlayerTotals | None, row: dict[str, Any] | None) -> None:
        # Whether a player is a test's is the events' to say; a row the events do not have says it itself.
        test = totals.test if totals is not None else bool(row and row["test"])
        for field in () if test else self.MONEY + self.COINS:
            if totals is not None:
                self.expected_sums[field] += getattr(totals, field)
            if row is not None:
                self.actual_sums[field] += row[field]
        key = (totals and totals.player_id) or (row and row["player_id"]) or str(stream)
        if self.comparison.present("player", key, totals, row):
            for field in self.ROW_FIELDS:
                self.comparison.differ("player", key, field, getattr(totals, field), row[field])  # type: ignore[index]

    def finish(self) -> None:
        for key, row in self.rows.rest():
            self.player(key, None, row)
        for name, field in (
            ("player balances", "balance"),
            ("money in (deposits)", "deposits"),
            ("money out (withdrawals)", "withdrawals"),
            ("bets", "bets"),
            ("wins", "wins"),
            ("coin balances", "coin_balance"),
            ("coins awarded", "coins_awarded"),
            ("coin bets", "coin_bets"),
            ("coin wins", "coin_wins"),
        ):
            self.comparison.check(name, self.expected_sums[field], self.actual_sums[field])


class AwardCheck:
    """Each award against ``award_status``; and, folded at the promotions view's position, the awards summed
    per promotion against that view's own copy of them."""

    def __init__(self, snapshot: Snapshot, position: int, promotions_position: int, comparison: Comparison) -> None:
        self.position = position
        self.promotions_position = promotions_position
        self.comparison = comparison
        self.remaining = [0, 0]
        self.used = [0, 0]
        self.expected_promotions = PromotionFigures(comparison.as_of)
        rows = snapshot.dicts(
            sql.SQL(
                "SELECT award_id, spins_awarded, spins_used, spins_forfeited, total_win, cancelled_at, expires_at,"
                " coins_awarded FROM award_status ORDER BY award_id"
            )
        )
        self.rows: SortedRows[UUID, AwardTotals] = SortedRows((row["award_id"], _award(row)) for row in rows)

    def stream(self, stream: UUID, events: Iterator[Event]) -> None:
        for key, row in self.rows.before(stream):
            self.award(key, None, row)
        if self.promotions_position == self.position:
            totals = at_promotions = fold_award(events, self.position)
        else:  # the two views stand at different positions: the award's few events are folded twice
            held = list(events)
            totals, at_promotions = fold_award(held, self.position), fold_award(held, self.promotions_position)
        if at_promotions is not None:
            self.expected_promotions.add(at_promotions)
        self.award(stream, totals, self.rows.pop(stream))

    def award(self, award_id: UUID, totals: AwardTotals | None, row: AwardTotals | None) -> None:
        as_of = self.comparison.as_of
        expected_remaining = totals.remaining(as_of) if totals is not None else 0
        actual_remaining = row.remaining(as_of) if row is not None else 0
        self.remaining[0] += expected_remaining
        self.remaining[1] += actual_remaining
        self.used[0] += totals.spins_used if totals is not None else 0
        self.used[1] += row.spins_used if row is not None else 0
        key = str(award_id)
        if self.comparison.present("award", key, totals, row):
            differ = self.comparison.differ
            for field in ("spins_awarded", "spins_used", "total_win", "coins_awarded"):
                differ("award", key, field, getattr(totals, field), getattr(row, field))
            differ("award", key, "spins_remaining", expected_remaining, actual_remaining)
            differ("award", key, "spins_forfeited", totals.spins_cancelled, row.spins_cancelled)  # type: ignore[union-attr]

    def finish(self, snapshot: Snapshot, test_promotions: set[str]) -> None:
        """``test_promotions``: a smoke test's, left out of the money totals (each is still compared on its own)."""
        for key, row in self.rows.rest():
            self.award(key, None, row)
        self.comparison.check("award spins remaining", Decimal(self.remaining[0]), Decimal(self.remaining[1]))
        self.comparison.check("award spins used", Decimal(self.used[0]), Decimal(self.used[1]))

        expected = self.expected_promotions
        # The figures the liability report answers: the promotions view's running totals as of the run's instant.
        # A promotion without awards has no figures on either side (its row is PromotionCheck's to compare).
        report = sql.SQL(promotion_totals_sql(now="{now}")).format(now=sql.Literal(self.comparison.as_of))
        actual = PromotionFigures(self.comparison.as_of)
        actual.figures = {row["promo_id"]: {field: row[field] for field in PromotionFigures.FIELDS} for row in snapshot.dicts(report)}
        for promo_id in sorted(expected.figures.keys() | actual.figures.keys()):
            expected_figures = expected.figures.get(promo_id, PromotionFigures.NONE)
            actual_figures = actual.figures.get(promo_id, PromotionFigures.NONE)
            for field in PromotionFigures.FIELDS:
                self.comparison.differ("promotion", promo_id, field, expected_figures[field], actual_figures[field])
        self.comparison.check("promotion spins awarded", expected.total("spins_awarded"), actual.total("spins_awarded"))
        for name, field in (("promotion liability", "liability"), ("promotion wins paid", "wins_paid")):
            self.comparison.check(name, expected.total(field, leaving_out=test_promotions), actual.total(field, leaving_out=test_promotions))


class PromotionCheck:
    """Each promotion's reserved spins or coins (its budget used) against ``promotion_totals``; promotions are few."""

    FIELDS = ("spins_reserved", "coins_reserved", "test")

    def __init__(self, position: int, comparison: Comparison) -> None:
        self.position = position
        self.comparison = comparison
        self.expected: dict[str, dict[str, Any]] = {}
        self.test_promotions: set[str] = set()

    def stream(self, stream: UUID, events: Iterator[Event]) -> None:
        totals = fold_promotion(events, self.position)
        if totals is not None:
            promo_id = totals.promo_id or str(stream)
            self.expected[promo_id] = {field: getattr(totals, field) for field in self.FIELDS}
            if totals.test:
                self.test_promotions.add(promo_id)

    def finish(self, snapshot: Snapshot) -> None:
        actual = {
            row["promo_id"]: row for row in snapshot.dicts(sql.SQL("SELECT promo_id, spins_reserved, coins_reserved, test FROM promotion_totals"))
        }
        for promo_id in sorted(self.expected.keys() | actual.keys()):
            if self.comparison.present("promotion", promo_id, self.expected.get(promo_id), actual.get(promo_id)):
                for field in self.FIELDS:
                    self.comparison.differ("promotion", promo_id, field, self.expected[promo_id][field], actual[promo_id][field])
        self.comparison.check(
            "promotion spins reserved",
            Decimal(sum(e["spins_reserved"] for e in self.expected.values())),
            Decimal(sum(a["spins_reserved"] for a in actual.values())),
        )
        # Coins are summed like money, without a smoke test's promotions (whose rows are still compared above).
        self.comparison.check(
            "promotion coins reserved",
            sum((e["coins_reserved"] for e in self.expected.values() if not e["test"]), ZERO),
            sum((a["coins_reserved"] for a in actual.values() if not a["test"]), ZERO),
        )


class PromotionFigures:
    """Per promotion, its awards summed as of one instant."""

    def __init__(self, as_of: datetime) -> None:
        self.as_of = as_of
        self.figures: dict[str, dict[str, Any]] = {}

    FIELDS = ("spins_awarded", "spins_used", "spins_cancelled", "spins_expired", "liability", "wins_paid")
    NONE: dict[str, Any] = {"spins_awarded": 0, "spins_used": 0, "spins_cancelled": 0, "spins_expired": 0, "liability": ZERO, "wins_paid": ZERO}

    def add(self, award: AwardTotals) -> None:
        promo = self.figures.setdefault(award.promo_id, dict(self.NONE))
        promo["spins_awarded"] += award.spins_awarded
        promo["spins_used"] += award.spins_used
        promo["spins_cancelled"] += award.spins_cancelled
        if award.expired(self.as_of):
            promo["spins_expired"] += award.unplayed()
        else:
            promo["liability"] += award.unplayed() * award.bet_per_spin
        promo["wins_paid"] += award.total_win

    def total(self, field: str, leaving_out: Set[str] = frozenset()) -> Decimal:
        return sum((Decimal(p[field]) for promo_id, p in self.figures.items() if promo_id not in leaving_out), ZERO)
