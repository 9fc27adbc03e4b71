"""Promotions: per promotion, spins awarded / used / expired / cancelled, budget left, outstanding
liability (unplayed spins × bet per spin) and wins paid.

The view keeps its own copy of each award's counts (``promotion_awards``), so that it answers "as of
now" — an award past its expiry is no longer a liability — without depending on another view's progress.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic
from psycopg import Cursor
from psycopg.rows import DictRow

from domain.promotion import AWARD_TYPE_FREE_SPINS, Promotion
from projections.awards import AWARD_EVENTS, fold_awards, write_awards
from projections.view import BatchProjection, View

PROMOTION_EVENTS = (Promotion.PromotionDefined, Promotion.PromotionUpdated, Promotion.PromotionEnded, Promotion.BudgetReserved,
                    Promotion.CoinsReserved)


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
    indexes = ("promotion_totals_promo_id", "promotion_awards_promo")

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
                [ids, [r.promo_id for r in values], [r.name for r in values], [r.currency for r in values],
                 [r.budget_spins for r in values], [r.spins_reserved for r in values], [r.award_type for r in values],
                 [r.budget_coins for r in values], [r.coins_reserved for r in values], [r.test for r in values],
                 [r.ended_at for r in values], [r.version for r in values]],
            )
        write_awards(cursor, self.table("promotion_awards"), fold_awards(events, positions))


class PromotionsProjection(BatchProjection):
    name = "promotions"
    topics = tuple(get_topic(cls) for cls in PROMOTION_EVENTS + AWARD_EVENTS)


def promotion_totals_sql(prefix: str = "") -> str:
    """Per promotion as of ``%(now)s``: the figures finance reads, liability included."""
    return f"""
        SELECT t.promo_id, t.name, t.award_type, t.test, t.currency, t.budget_spins, t.spins_reserved, t.ended_at,
               t.budget_spins - t.spins_reserved AS budget_left,
               t.budget_coins, t.coins_reserved, t.budget_coins - t.coins_reserved AS budget_coins_left,
               coalesce(sum(a.spins_awarded), 0) AS spins_awarded,
               coalesce(sum(a.spins_used), 0) AS spins_used,
               coalesce(sum(a.spins_forfeited) FILTER (WHERE a.cancelled_at IS NOT NULL), 0) AS spins_cancelled,
               coalesce(sum(a.spins_awarded - a.spins_used - a.spins_forfeited)
                        FILTER (WHERE a.cancelled_at IS NULL AND a.expires_at <= %(now)s), 0) AS spins_expired,
               coalesce(sum((a.spins_awarded - a.spins_used - a.spins_forfeited) * a.bet_per_spin)
                        FILTER (WHERE a.cancelled_at IS NULL AND a.expires_at > %(now)s), 0) AS liability,
               coalesce(sum(a.total_win), 0) AS wins_paid
        FROM {prefix}promotion_totals t LEFT JOIN {prefix}promotion_awards a ON a.promo_id = t.promo_id
        GROUP BY t.stream_id
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
