"""Players: per player, the profile the back office reads — region, birth date, currency — and the end of
any self-exclusion."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic
from psycopg import Cursor
from psycopg.rows import DictRow

from domain.player import Player
from projections.view import BatchProjection, View

PLAYER_EVENTS = (Player.PlayerRegistered, Player.PlayerUpdated, Player.SelfExclusionStarted)


@dataclass
class ProfileRow:
    player_id: str | None = None
    region: str | None = None
    birth_date: str | None = None
    currency: str | None = None
    self_excluded_until: datetime | None = None
    version: int = 0


class PlayersView(View):
    name = "players"
    tables = ("players",)
    indexes = ("players_player_id",)

    def write(self, cursor: Cursor[DictRow], events: list[Any], positions: list[int]) -> None:
        rows: dict[UUID, ProfileRow] = {}
        for event in events:
            row = rows.setdefault(event.originator_id, ProfileRow())
            row.version = event.originator_version
            if isinstance(event, (Player.PlayerRegistered, Player.PlayerUpdated)):
                row.player_id = getattr(event, "player_id", row.player_id)
                row.region, row.birth_date, row.currency = event.region, event.birth_date, event.currency
            elif isinstance(event, Player.SelfExclusionStarted):
                # As the aggregate: an exclusion only ever lengthens.
                row.self_excluded_until = max(event.until, row.self_excluded_until or event.until)
        ids = list(rows)
        values = [rows[i] for i in ids]
        cursor.execute(
            f"""
            INSERT INTO {self.table("players")} AS p (stream_id, player_id, region, birth_date, currency, self_excluded_until, version)
            SELECT stream_id, player_id, region, birth_date::date, currency, self_excluded_until, version
            FROM unnest(%b::uuid[], %b::text[], %b::text[], %b::text[], %b::text[], %b::timestamptz[], %b::bigint[])
                AS u(stream_id, player_id, region, birth_date, currency, self_excluded_until, version)
            ON CONFLICT (stream_id) DO UPDATE SET
                player_id = coalesce(EXCLUDED.player_id, p.player_id),
                region = coalesce(EXCLUDED.region, p.region),
                birth_date = coalesce(EXCLUDED.birth_date, p.birth_date),
                currency = coalesce(EXCLUDED.currency, p.currency),
                self_excluded_until = greatest(EXCLUDED.self_excluded_until, p.self_excluded_until),
                version = EXCLUDED.version
            """,
            [
                ids,
                [r.player_id for r in values],
                [r.region for r in values],
                [r.birth_date for r in values],
                [r.currency for r in values],
                [r.self_excluded_until for r in values],
                [r.version for r in values],
            ],
        )


class PlayersProjection(BatchProjection):
    name = "players"
    topics = tuple(get_topic(cls) for cls in PLAYER_EVENTS)
