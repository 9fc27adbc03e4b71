"""Promotions: per promotion, spins awarded / used / expired / cancelled, budget left, outstanding
liability (unplayed spins × bet per spin) and wins paid.

The view keeps its own copy of each award's counts (``promotion_awards``), so that it answers "as of
now" — an award past its expiry is no longer a liability — without depending on another view's progress.
Each promotion's figures are running totals in its ``promotion_totals`` row, moved by every award event;
reading them works out only what depends on the instant asked at (``promotion_totals_sql``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.utils import get_topic
from psycopg import Cursor
from psycopg.rows import DictRow

from domain.promotion import AWARD_TYPE_FREE_SPINS, Promotion
from projections.awards import AWARD_EVENTS, ZERO, AwardRow, created_field, fold_awards, write_awards
from projections.view import BatchProjection, View

PROMOTION_EVENTS = (
    Promotion.PromotionDefined,
    Promotion.PromotionUpdated,
    Promotion.PromotionEnded,
    Promotion.BudgetReserved,
    Promotion.CoinsReserved,
)


@dataclass
class PromotionRow:
    promo_id: str | None = None
    name: str | None = None
    currency: str | None = None
    budget_spins: int | None = None
    spins_reserved: int = 0
    award_type: str | None = None
    budget_coins: Decimal | None = None
    coins_reserved: Decimal = Decimal("0.00")
    test: bool | None = None
    ended_at: datetime | None = None
    version: int = 0


class PromotionsView(View):
    name = "promotions"
    tables = ("promotion_totals", "promotion_awards")
    indexes = ("promotion_totals_promo_id", "promotion_awards_promo", "promotion_awards_expiry_due", "promotion_awards_expiry_recorded")

    def write(self, cursor: Cursor[DictRow], events: list[Any], positions: list[int]) -> None:
        rows: dict[UUID, PromotionRow] = {}
        for event in events:
            if not isinstance(event, PROMOTION_EVENTS):
                continue
            row = rows.setdefault(event.originator_id, PromotionRow())
            row.version = event.originator_version
            if isinstance(event, (Promotion.PromotionDefined, Promotion.PromotionUpdated)):
                terms = event.terms
                row.promo_id = getattr(event, "promo_id", row.promo_id)
                row.name, row.currency, row.budget_spins = terms["name"], terms.get("currency"), terms.get("budget_spins")
                row.award_type, row.budget_coins = terms.get("award_type", AWARD_TYPE_FREE_SPINS), terms.get("budget_coins")
                row.test = terms.get("test", False)
            elif isinstance(event, Promotion.PromotionEnded):
                row.ended_at = event.timestamp
            elif isinstance(event, Promotion.BudgetReserved):
                row.spins_reserved += event.spins
            elif isinstance(event, Promotion.CoinsReserved):
                row.coins_reserved += event.coins
        if rows:
            ids = list(rows)
            values = [rows[i] for i in ids]
            cursor.execute(
                f"""
                INSERT INTO {self.table("promotion_totals")} AS t (stream_id, promo_id, name, currency, budget_spins, spins_reserved,
                                                                    award_type, budget_coins, coins_reserved, test, ended_at, version)
                SELECT stream_id, promo_id, name, currency, budget_spins, spins_reserved, coalesce(award_type, 'FREE_SPINS'),
                       budget_coins, coins_reserved, coalesce(test, false), ended_at, version
                FROM unnest(%b::uuid[], %b::text[], %b::text[], %b::text[], %b::bigint[], %b::bigint[], %b::text[], %b::numeric[],
                            %b::numeric[], %b::boolean[], %b::timestamptz[], %b::bigint[])
                    AS u(stream_id, promo_id, name, currency, budget_spins, spins_reserved, award_type, budget_coins, coins_reserved,
                         test, ended_at, version)
                ON CONFLICT (stream_id) DO UPDATE SET
                    promo_id = coalesce(EXCLUDED.promo_id, t.promo_id),
                    name = coalesce(EXCLUDED.name, t.name),
                    currency = coalesce(EXCLUDED.currency, t.currency),
                    budget_spins = coalesce(EXCLUDED.budget_spins, t.budget_spins),
                    spins_reserved = t.spins_reserved + EXCLUDED.spins_reserved,
                    budget_coins = coalesce(EXCLUDED.budget_coins, t.budget_coins),
                    coins_reserved = t.coins_reserved + EXCLUDED.coins_reserved,
                    ended_at = coalesce(EXCLUDED.ended_at, t.ended_at),
                    version = EXCLUDED.version
                """,
                [
                    ids,
                    [r.promo_id for r in values],
                    [r.name for r in values],
                    [r.currency for r in values],
                    [r.budget_spins for r in values],
                    [r.spins_reserved for r in values],
                    [r.award_type for r in values],
                    [r.budget_coins for r in values],
                    [r.coins_reserved for r in values],
                    [r.test for r in values],
                    [r.ended_at for r in values],
                    [r.version for r in values],
                ],
            )
        awards = fold_awards(events, positions)
        before = self._award_states(cursor, [award_id for award_id, row in awards.items() if row.created is None])
        write_awards(cursor, self.table("promotion_awards"), awards)
        self._move_totals(cursor, awards, before)

    def _award_states(self, cursor: Cursor[DictRow], award_ids: list[UUID]) -> dict[UUID, AwardState]:
        """The stored state of the awards a batch changes but did not create."""
        if not award_ids:
            return {}
        found = cursor.execute(
            f"SELECT award_id, {', '.join(AwardState.COLUMNS)} FROM {self.table('promotion_awards')} WHERE award_id = ANY(%b::uuid[])", [award_ids]
        ).fetchall()
        return {row["award_id"]: AwardState(**{name: row[name] for name in AwardState.COLUMNS}) for row in found}

    def _move_totals(self, cursor: Cursor[DictRow], awards: dict[UUID, AwardRow], before: dict[UUID, AwardState]) -> None:
        """Adds to each promotion's running totals what this batch changed in its awards' figures."""
        moved: dict[str, PromotionFigures] = {}
        for award_id, row in awards.items():
            old = before.get(award_id)
            if old is None and row.created is None:
                continue  # an award this view never saw created (a rebuild from a later position): nothing to move
            new = (old or AwardState.created(row)).after(row)
            promo_id = new.promo_id
            moved[promo_id] = moved.get(promo_id, NO_FIGURES) + new.figures() - (old.figures() if old else NO_FIGURES)
        moved = {promo_id: figures for promo_id, figures in moved.items() if figures != NO_FIGURES}
        if not moved:
            return
        promo_ids = sorted(moved)  # a fixed order of row locks
        columns = PromotionFigures.COLUMNS
        cursor.execute(
            f"""
            UPDATE {self.table("promotion_totals")} AS t SET {", ".join(f"{c} = t.{c} + m.{c}" for c in columns)}
            FROM unnest(%b::text[], {", ".join(f"%b::{PromotionFigures.TYPES[c]}[]" for c in columns)}) AS m(promo_id, {", ".join(columns)})
            WHERE t.promo_id = m.promo_id
            """,
            [promo_ids, *[[getattr(moved[p], c) for p in promo_ids] for c in columns]],
        )


@dataclass(frozen=True)
class PromotionFigures:
    """What one award adds to its promotion's running totals (or what a batch moves them by)."""

    COLUMNS: ClassVar[tuple[str, ...]] = (
        "spins_awarded",
        "spins_used",
        "spins_cancelled",
        "spins_expired_recorded",
        "open_spins",
        "open_liability",
        "wins_paid",
    )
    TYPES: ClassVar[dict[str, str]] = {**dict.fromkeys(COLUMNS, "bigint"), "open_liability": "numeric", "wins_paid": "numeric"}

    spins_awarded: int = 0
    spins_used: int = 0
    spins_cancelled: int = 0
    spins_expired_recorded: int = 0
    open_spins: int = 0
    open_liability: Decimal = ZERO
    wins_paid: Decimal = ZERO

    def __add__(self, other: PromotionFigures) -> PromotionFigures:
        return PromotionFigures(*(getattr(self, c) + getattr(other, c) for c in self.COLUMNS))

    def __sub__(self, other: PromotionFigures) -> PromotionFigures:
        return PromotionFigures(*(getattr(self, c) - getattr(other, c) for c in self.COLUMNS))


NO_FIGURES = PromotionFigures()


@dataclass(frozen=True)
class AwardState:
    """An award as the promotions view holds it: enough to say what it adds to its promotion's totals."""

    COLUMNS: ClassVar[tuple[str, ...]] = (
        "promo_id",
        "spins_awarded",
        "bet_per_spin",
        "spins_used",
        "spins_forfeited",
        "total_win",
        "cancelled_at",
        "expiry_recorded_at",
    )

    promo_id: str
    spins_awarded: int | None
    bet_per_spin: Decimal | None
    spins_used: int
    spins_forfeited: int
    total_win: Decimal
    cancelled_at: datetime | None
    expiry_recorded_at: datetime | None

    @classmethod
    def created(cls, row: AwardRow) -> AwardState:
        """An award created in this batch, before any of the batch's other events."""
        return cls(
            promo_id=created_field(row, "promo_id"),
            spins_awarded=created_field(row, "spins_awarded"),
            bet_per_spin=created_field(row, "bet_per_spin"),
            spins_used=0,
            spins_forfeited=0,
            total_win=ZERO,
            cancelled_at=None,
            expiry_recorded_at=None,
        )

    def after(self, row: AwardRow) -> AwardState:
        """This state with a batch's folded events applied, as ``write_awards`` stores it."""
        return AwardState(
            promo_id=self.promo_id,
            spins_awarded=self.spins_awarded,
            bet_per_spin=self.bet_per_spin,
            spins_used=self.spins_used + row.spins_used,
            spins_forfeited=self.spins_forfeited + row.spins_forfeited,
            total_win=self.total_win + row.total_win,
            cancelled_at=row.cancelled_at or self.cancelled_at,
            expiry_recorded_at=row.expiry_recorded_at or self.expiry_recorded_at,
        )

    def figures(self) -> PromotionFigures:
        """Unplayed spins are cancelled, recorded expired, or open (a liability until their expiry, which is
        worked out when the totals are read)."""
        awarded = self.spins_awarded or 0
        unplayed = awarded - self.spins_used - self.spins_forfeited
        figures = PromotionFigures(spins_awarded=awarded, spins_used=self.spins_used, wins_paid=self.total_win)
        if self.cancelled_at is not None:
            return replace(figures, spins_cancelled=self.spins_forfeited)
        if self.expiry_recorded_at is not None:
            return replace(figures, spins_expired_recorded=unplayed)
        return replace(figures, open_spins=unplayed, open_liability=unplayed * (self.bet_per_spin or ZERO))


class PromotionsProjection(BatchProjection):
    name = "promotions"
    topics = tuple(get_topic(cls) for cls in PROMOTION_EVENTS + AWARD_EVENTS)


def promotion_totals_sql(prefix: str = "", now: str = "%(now)s") -> str:
    """Per promotion as of ``now`` (a query parameter unless told otherwise): the figures finance reads, liability included. The running totals
    count an award's unplayed spins as open until its expiry is recorded; here the awards past their expiry
    but not yet recorded move from the liability to the expired spins (and, asked of an earlier instant,
    recorded expiries that had not come yet move back). Both sets are small and found by their indexes."""
    unplayed = "a.spins_awarded - a.spins_used - a.spins_forfeited"
    return f"""
        WITH due AS (
            SELECT a.promo_id, sum({unplayed}) AS spins, sum(({unplayed}) * a.bet_per_spin) AS liability
            FROM {prefix}promotion_awards a
            WHERE a.cancelled_at IS NULL AND a.expiry_recorded_at IS NULL AND a.spins_used < a.spins_awarded AND a.expires_at <= {now}
            GROUP BY a.promo_id
        ), not_yet AS (
            SELECT a.promo_id, sum({unplayed}) AS spins, sum(({unplayed}) * a.bet_per_spin) AS liability
            FROM {prefix}promotion_awards a
            WHERE a.cancelled_at IS NULL AND a.expiry_recorded_at IS NOT NULL AND a.expires_at > {now}
            GROUP BY a.promo_id
        )
        SELECT t.promo_id, t.name, t.award_type, t.test, t.currency, t.budget_spins, t.spins_reserved, t.ended_at,
               t.budget_spins - t.spins_reserved AS budget_left,
               t.budget_coins, t.coins_reserved, t.budget_coins - t.coins_reserved AS budget_coins_left,
               t.spins_awarded, t.spins_used, t.spins_cancelled,
               t.spins_expired_recorded + coalesce(due.spins, 0) - coalesce(not_yet.spins, 0) AS spins_expired,
               t.open_liability - coalesce(due.liability, 0) + coalesce(not_yet.liability, 0) AS liability,
               t.wins_paid
        FROM {prefix}promotion_totals t
        LEFT JOIN due ON due.promo_id = t.promo_id
        LEFT JOIN not_yet ON not_yet.promo_id = t.promo_id
    """


COIN_FIGURES_SQL = """
    SELECT (SELECT coalesce(sum(coins_reserved), 0) FROM promotion_totals WHERE award_type = 'GOLD_COINS' AND NOT test) AS awarded,
           (SELECT coalesce(sum(coin_balance), 0) FROM wallet WHERE NOT test) AS balances
"""


def liability_report(datastore: Any, now: datetime) -> tuple[int, list[dict[str, Any]], dict[str, Any]]:
    """Every promotion's figures as of ``now``, from this view (a smoke test's promotions left out); the event
    position the view has reached; and the gold coins, apart from the money: awarded, and held in players'
    coin balances (from the wallet view)."""
    from projections.source import APPLICATION

    view = PromotionsView(datastore)
    position = view.max_tracking_id(APPLICATION) or 0
    with datastore.get_connection() as conn:
        lines = conn.execute(f"SELECT * FROM ({promotion_totals_sql()}) p WHERE NOT p.test ORDER BY p.promo_id", {"now": now}).fetchall()
        coins = conn.execute(COIN_FIGURES_SQL).fetchone()
    return position, lines, coins
