"""Promotions: per promotion, spins awarded / used / expired / cancelled, budget left, outstanding
liability (unplayed spins × bet per spin) and wins paid.

The view keeps its own copy of each award's counts (``promotion_awards``), so that it answers "as of
now" — an award past its expiry is no longer a liability — without depending on another view's progress.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic
from psycopg import Cursor
from psycopg.rows import DictRow

from domain.promotion import Promotion
from projections.awards import AWARD_EVENTS, fold_awards, write_awards
from projections.view import BatchProjection, View

PROMOTION_EVENTS = (Promotion.PromotionDefined, Promotion.PromotionUpdated, Promotion.PromotionEnded, Promotion.BudgetReserved)


@dataclass
class PromotionRow:
    promo_id: str | None = None
    name: str | None = None
    currency: str | None = None
    budget_spins: int | None = None
    spins_reserved: int = 0
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
                row.name, row.currency, row.budget_spins = terms["name"], terms["currency"], terms["budget_spins"]
            elif isinstance(event, Promotion.PromotionEnded):
                row.ended_at = event.timestamp
            elif isinstance(event, Promotion.BudgetReserved):
                row.spins_reserved += event.spins
        if rows:
            ids = list(rows)
            values = [rows[i] for i in ids]
            cursor.execute(
                f"""
                INSERT INTO {self.table("promotion_totals")} AS t (stream_id, promo_id, name, currency, budget_spins, spins_reserved, ended_at, version)
                SELECT * FROM unnest(%b::uuid[], %b::text[], %b::text[], %b::text[], %b::bigint[], %b::bigint[], %b::timestamptz[], %b::bigint[])
                ON CONFLICT (stream_id) DO UPDATE SET
                    promo_id = coalesce(EXCLUDED.promo_id, t.promo_id),
                    name = coalesce(EXCLUDED.name, t.name),
                    currency = coalesce(EXCLUDED.currency, t.currency),
                    budget_spins = coalesce(EXCLUDED.budget_spins, t.budget_spins),
                    spins_reserved = t.spins_reserved + EXCLUDED.spins_reserved,
                    ended_at = coalesce(EXCLUDED.ended_at, t.ended_at),
                    version = EXCLUDED.version
                """,
                [ids, [r.promo_id for r in values], [r.name for r in values], [r.currency for r in values],
                 [r.budget_spins for r in values], [r.spins_reserved for r in values], [r.ended_at for r in values],
                 [r.version for r in values]],
            )
        write_awards(cursor, self.table("promotion_awards"), fold_awards(events, positions))


class PromotionsProjection(BatchProjection):
    name = "promotions"
    topics = tuple(get_topic(cls) for cls in PROMOTION_EVENTS + AWARD_EVENTS)


def promotion_totals_sql(prefix: str = "") -> str:
    """Per promotion as of ``%(now)s``: the figures finance reads, liability included."""
    return f"""
        SELECT t.promo_id, t.name, t.currency, t.budget_spins, t.spins_reserved, t.ended_at,
               t.budget_spins - t.spins_reserved AS budget_left,
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


def liability_report(datastore: Any, now: datetime) -> tuple[int, list[dict[str, Any]]]:
    """Every promotion's figures as of ``now``, from this view; and the event position the view has reached."""
    from projections.source import APPLICATION

    view = PromotionsView(datastore)
    position = view.max_tracking_id(APPLICATION) or 0
    with datastore.get_connection() as conn:
        lines = conn.execute(promotion_totals_sql() + " ORDER BY t.promo_id", {"now": now}).fetchall()
    return position, lines
