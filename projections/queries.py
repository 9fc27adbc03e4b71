"""The back office's reads, answered from the views: an award, a player's awards, a player.

A view answers only once it is current for what is asked: its position has reached the last event of every
stream the answer depends on, so a client reads its own writes (an award it has just been granted, a spin
just played). ``current_for`` tells; the caller waits for the worker or asks the event store instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.postgres import PostgresDatastore

from domain.award import ACTIVE
from domain.errors import ValidationFailed
from domain.ids import player_stream_id
from domain.paging import Page
from domain.promotion import AWARD_TYPE_FREE_SPINS, AWARD_TYPE_GOLD_COINS
from domain.results import AwardStatus, PlayerSummary
from projections.awards import award_status_sql
from projections.source import APPLICATION


def _award(row: dict[str, Any]) -> AwardStatus:
    return AwardStatus(
        award_id=str(row["award_id"]),
        player_id=row["player_id"],
        promo_id=row["promo_id"],
        game_code=row["game_code"],
        award_type=AWARD_TYPE_FREE_SPINS if row["coins_awarded"] is None else AWARD_TYPE_GOLD_COINS,
        coins_awarded=row["coins_awarded"],
        status=row["status"],
        spins_awarded=row["spins_awarded"],
        spins_used=row["spins_used"],
        spins_remaining=row["spins_remaining"],
        spins_forfeited=row["spins_forfeited"],
        bet_per_spin=row["bet_per_spin"],
        currency=row["currency"],
        total_win=row["total_win"],
        issued_at=row["issued_at"],
        expires_at=row["expires_at"],
        cancelled_at=row["cancelled_at"],
    )


BLOCK_AMOUNTS = ("total_win", "triggering_bet", "multiplier")


def _block(stored: dict[str, Any]) -> dict[str, Any]:
    """A bonus block as the aggregate holds it: the view stores its amounts as decimal strings."""
    return {**stored, **{k: Decimal(stored[k]) for k in BLOCK_AMOUNTS if stored.get(k) is not None}}


class ReadModels:
    def __init__(self, datastore: PostgresDatastore):
        self.datastore = datastore

    def current_for(self, views: Sequence[str], streams: Iterable[UUID]) -> bool:
        """Whether every one of ``views`` has applied the last event of every one of ``streams``: one query."""
        reached = ", ".join(f"(SELECT coalesce(max(notification_id), 0) FROM {view}_tracking WHERE application_name = %(app)s)" for view in views)
        with self.datastore.get_connection() as conn:
            row = conn.execute(
                f"""SELECT least({reached}) >= (
                        SELECT coalesce(max(last.notification_id), 0) FROM unnest(%(streams)s::uuid[]) AS s(id),
                        LATERAL (SELECT notification_id FROM spinledger_events e WHERE e.originator_id = s.id
                                 ORDER BY originator_version DESC LIMIT 1) AS last) AS current""",
                {"app": APPLICATION, "streams": list(streams)},
            ).fetchone()
        return bool(row["current"])

    def award(self, award_id: UUID, now: datetime) -> AwardStatus | None:
        with self.datastore.get_connection() as conn:
            row = conn.execute(award_status_sql() + " WHERE award_id = %(award)s", {"award": award_id, "now": now}).fetchone()
        return _award(row) if row is not None and row["issued_at"] is not None else None

    def player_awards(self, player_id: str, after: str | None, limit: int, now: datetime) -> Page[AwardStatus]:
        """A player's awards newest first (the order they were granted in), after the award ``after``."""
        params: dict[str, Any] = {"player": player_id, "now": now, "limit": limit + 1}
        below = ""
        with self.datastore.get_connection() as conn:
            if after is not None:
                cursor = conn.execute(
                    "SELECT issued_position FROM award_status WHERE player_id = %(player)s AND award_id::text = %(after)s",
                    {"player": player_id, "after": after},
                ).fetchone()
                if cursor is None:
                    raise ValidationFailed("after is not a cursor of this list", field="after")
                params["below"], below = cursor["issued_position"], " AND issued_position < %(below)s"
            rows = conn.execute(
                award_status_sql() + " WHERE player_id = %(player)s" + below + " ORDER BY issued_position DESC LIMIT %(limit)s", params
            ).fetchall()
        data = [_award(row) for row in rows[:limit]]
        has_more = len(rows) > limit
        return Page(data=data, next_cursor=data[-1].award_id if has_more else None, has_more=has_more)

    def awards_due_for_expiry(self, now: datetime, notice: timedelta | None, limit: int = 1000) -> list[UUID]:
        """Awards with spins left that are past their instant and not yet recorded expired, or (with
        ``notice``) that expire within it and were not yet noticed; soonest first."""
        with self.datastore.get_connection() as conn:
            rows = conn.execute(
                """SELECT award_id FROM award_status
                   WHERE cancelled_at IS NULL AND expiry_recorded_at IS NULL AND spins_used < spins_awarded
                     AND (expires_at <= %(now)s OR (%(notice)s::interval IS NOT NULL AND expiry_noticed_at IS NULL
                                                     AND expires_at <= %(now)s + %(notice)s::interval))
                   ORDER BY expires_at LIMIT %(limit)s""",
                {"now": now, "notice": notice, "limit": limit},
            ).fetchall()
        return [row["award_id"] for row in rows]

    def has_player(self, player_id: str) -> bool:
        with self.datastore.get_connection() as conn:
            return conn.execute("SELECT 1 FROM players WHERE stream_id = %s", [player_stream_id(player_id)]).fetchone() is not None

    def open_award_ids(self, player_id: str) -> list[UUID]:
        """The awards a player holds that are still open (neither cancelled nor played out)."""
        with self.datastore.get_connection() as conn:
            rows = conn.execute(
                "SELECT award_id FROM award_status WHERE player_id = %s AND cancelled_at IS NULL AND spins_used < spins_awarded",
                [player_id],
            ).fetchall()
        return [row["award_id"] for row in rows]

    def player(self, player_id: str, now: datetime) -> PlayerSummary | None:
        with self.datastore.get_connection() as conn:
            profile = conn.execute(
                """SELECT p.player_id, p.region, p.birth_date, p.currency, p.self_excluded_until, w.balance, w.coin_balance, w.test, b.block
                   FROM players p LEFT JOIN wallet w ON w.stream_id = p.stream_id LEFT JOIN bonus_blocks b ON b.stream_id = p.stream_id
                   WHERE p.stream_id = %s""",
                [player_stream_id(player_id)],
            ).fetchone()
            if profile is None or profile["region"] is None:
                return None
            awards = conn.execute(
                award_status_sql() + " WHERE player_id = %(player)s ORDER BY issued_at, issued_position", {"player": player_id, "now": now}
            ).fetchall()
        birth_date = profile["birth_date"]
        return PlayerSummary(
            player_id=profile["player_id"],
            region=profile["region"],
            birth_date=birth_date if isinstance(birth_date, date) else date.fromisoformat(birth_date),
            currency=profile["currency"],
            balance=profile["balance"] if profile["balance"] is not None else Decimal("0.00"),
            coin_balance=profile["coin_balance"] if profile["coin_balance"] is not None else Decimal("0.00"),
            test=bool(profile["test"]),
            self_excluded_until=profile["self_excluded_until"],
            awards=[_award(row) for row in awards if row["status"] == ACTIVE],
            bonus_block=_block(profile["block"]) if profile["block"] is not None else None,
        )
