"""Awards: per award, its spins awarded, used and forfeited, its total win, and what decides its status. An award
of gold coins is listed with them: no spins, no expiry, currency ``GC``, its coins in ``coins_awarded``.

The status itself (active, completed, expired, cancelled) depends on the time it is asked at, so it is
computed when the view is read (``AWARD_STATUS_SQL``), from the stored expiry instant.
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

from domain.award import Award
from domain.coin_award import CoinAward
from domain.money import COIN_CURRENCY
from projections.view import BatchProjection, View

ZERO = Decimal("0.00")
AWARD_EVENTS = (
    Award.FreeSpinsAwarded,
    CoinAward.GoldCoinsAwarded,
    Award.AwardSpinPlayed,
    Award.AwardCancelled,
    Award.ExpiredAwardUseAttempted,
    Award.AwardExpired,
    Award.AwardExpiringSoon,
)


@dataclass
class AwardRow:
    created: Any = None  # the FreeSpinsAwarded event, if in this batch
    issued_position: int | None = None  # and its position: the order a player's awards are listed in
    spins_used: int = 0
    spins_forfeited: int = 0
    total_win: Decimal = ZERO
    cancelled_at: datetime | None = None
    expired_use_attempts: int = 0
    expiry_recorded_at: datetime | None = None  # when the expiry job recorded AwardExpired
    expiry_noticed_at: datetime | None = None  # and AwardExpiringSoon
    version: int = 0


def fold_awards(events: list[Any], positions: list[int]) -> dict[UUID, AwardRow]:
    rows: dict[UUID, AwardRow] = {}
    for event, position in zip(events, positions, strict=True):
        if not isinstance(event, AWARD_EVENTS):
            continue
        row = rows.setdefault(event.originator_id, AwardRow())
        row.version = event.originator_version
        if isinstance(event, (Award.FreeSpinsAwarded, CoinAward.GoldCoinsAwarded)):
            row.created, row.issued_position = event, position
        elif isinstance(event, Award.AwardSpinPlayed):
            row.spins_used += event.funding == "award"
            row.total_win += event.win
        elif isinstance(event, Award.AwardCancelled):
            row.spins_forfeited += event.spins_forfeited
            row.cancelled_at = event.timestamp
        elif isinstance(event, Award.ExpiredAwardUseAttempted):
            row.expired_use_attempts += 1
        elif isinstance(event, Award.AwardExpired):  # the forfeit itself follows from expires_at, as everywhere
            row.expiry_recorded_at = event.timestamp
        elif isinstance(event, Award.AwardExpiringSoon):
            row.expiry_noticed_at = event.timestamp
    return rows


COIN_AWARD_FIELDS = {"spins_awarded": 0, "bet_per_spin": None, "currency": COIN_CURRENCY, "expires_at": None}


def created_field(row: AwardRow, name: str) -> Any:
    if row.created is None:
        return None
    if name == "issued_at":
        return row.created.timestamp
    if isinstance(row.created, CoinAward.GoldCoinsAwarded):
        return row.created.coins if name == "coins_awarded" else COIN_AWARD_FIELDS.get(name, getattr(row.created, name, None))
    if name == "coins_awarded":
        return None
    return getattr(row.created, name if name != "spins_awarded" else "spins")


def write_awards(cursor: Cursor[DictRow], table: str, rows: dict[UUID, AwardRow]) -> None:
    """Upserts folded award rows into ``table`` (the awards view's, or the promotions view's own copy)."""
    if not rows:
        return
    ids = list(rows)
    values = [rows[i] for i in ids]
    created = ("player_id", "promo_id", "game_code", "spins_awarded", "bet_per_spin", "currency", "issued_at", "expires_at", "coins_awarded")
    cursor.execute(
        f"""
        INSERT INTO {table} AS a (award_id, player_id, promo_id, game_code, spins_awarded, bet_per_spin,
            currency, issued_at, expires_at, coins_awarded, spins_used, spins_forfeited, total_win, cancelled_at, expired_use_attempts,
            version, issued_position, expiry_recorded_at, expiry_noticed_at)
        SELECT * FROM unnest(%b::uuid[], %b::text[], %b::text[], %b::text[], %b::integer[], %b::numeric[], %b::text[],
            %b::timestamptz[], %b::timestamptz[], %b::numeric[], %b::integer[], %b::integer[], %b::numeric[], %b::timestamptz[],
            %b::integer[], %b::bigint[], %b::bigint[], %b::timestamptz[], %b::timestamptz[])
        ON CONFLICT (award_id) DO UPDATE SET
            spins_used = a.spins_used + EXCLUDED.spins_used,
            spins_forfeited = a.spins_forfeited + EXCLUDED.spins_forfeited,
            total_win = a.total_win + EXCLUDED.total_win,
            cancelled_at = coalesce(EXCLUDED.cancelled_at, a.cancelled_at),
            expired_use_attempts = a.expired_use_attempts + EXCLUDED.expired_use_attempts,
            version = EXCLUDED.version,
            issued_position = coalesce(EXCLUDED.issued_position, a.issued_position),
            expiry_recorded_at = coalesce(EXCLUDED.expiry_recorded_at, a.expiry_recorded_at),
            expiry_noticed_at = coalesce(EXCLUDED.expiry_noticed_at, a.expiry_noticed_at)
        """,
        [
            ids,
            *[[created_field(r, name) for r in values] for name in created],
            [r.spins_used for r in values],
            [r.spins_forfeited for r in values],
            [r.total_win for r in values],
            [r.cancelled_at for r in values],
            [r.expired_use_attempts for r in values],
            [r.version for r in values],
            [r.issued_position for r in values],
            [r.expiry_recorded_at for r in values],
            [r.expiry_noticed_at for r in values],
        ],
    )


class AwardsView(View):
    name = "awards"
    tables = ("award_status",)
    indexes = ("award_status_player", "award_status_player_listed", "award_status_promo", "award_status_expiry_due")

    def write(self, cursor: Cursor[DictRow], events: list[Any], positions: list[int]) -> None:
        write_awards(cursor, self.table("award_status"), fold_awards(events, positions))


class AwardsProjection(BatchProjection):
    name = "awards"
    topics = tuple(get_topic(cls) for cls in AWARD_EVENTS)


def award_status_sql(table: str = "award_status") -> str:
    """Selects an award's status fields as of ``%(now)s``: past its expiry, its unplayed spins are lost."""
    return f"""
        SELECT award_id, player_id, promo_id, game_code, spins_awarded, spins_used, bet_per_spin, currency, total_win,
               issued_at, expires_at, cancelled_at, issued_position, coins_awarded,
               CASE WHEN cancelled_at IS NOT NULL THEN 'cancelled'
                    WHEN spins_used = spins_awarded THEN 'completed'
                    WHEN %(now)s >= expires_at THEN 'expired'
                    ELSE 'active' END AS status,
               CASE WHEN cancelled_at IS NULL AND spins_used < spins_awarded AND %(now)s >= expires_at THEN 0
                    ELSE spins_awarded - spins_used - spins_forfeited END AS spins_remaining,
               CASE WHEN cancelled_at IS NULL AND spins_used < spins_awarded AND %(now)s >= expires_at
                    THEN spins_awarded - spins_used ELSE spins_forfeited END AS spins_forfeited
        FROM {table}
    """
