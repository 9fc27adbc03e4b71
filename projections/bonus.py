"""Bonus state: per player, the free-spins block in play, and the awards they still hold."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from domain.player import Player
from projections.awards import AWARD_EVENTS, fold_awards, write_awards
from projections.source import plain
from projections.view import BatchProjection, View

_NO_CHANGE = object()  # the batch says nothing of the player's block


class BonusView(View):
    name = "bonus"
    tables = ("bonus_blocks", "bonus_awards")
    indexes = ("bonus_blocks_player_id", "bonus_awards_player")

    def write(self, cursor: Cursor[DictRow], events: list[Any], positions: list[int]) -> None:
        players: dict[UUID, dict[str, Any]] = {}
        for event in events:
            if isinstance(event, Player.PlayerRegistered):
                players.setdefault(event.originator_id, {"block": _NO_CHANGE})["player_id"] = event.player_id
            elif isinstance(event, Player.SpinSettled):
                players.setdefault(event.originator_id, {"block": _NO_CHANGE})["block"] = event.spin["block"]
            else:
                continue
            players[event.originator_id]["version"] = event.originator_version
        if players:
            ids = list(players)
            rows = [players[i] for i in ids]
            cursor.execute(
                f"""
                INSERT INTO {self.table("bonus_blocks")} AS b (stream_id, player_id, version)
                SELECT * FROM unnest(%b::uuid[], %b::text[], %b::bigint[])
                ON CONFLICT (stream_id) DO UPDATE SET
                    player_id = coalesce(EXCLUDED.player_id, b.player_id), version = EXCLUDED.version
                """,
                [ids, [r.get("player_id") for r in rows], [r["version"] for r in rows]],
            )
            changed = [(i, r["block"]) for i, r in zip(ids, rows, strict=True) if r["block"] is not _NO_CHANGE]
            if changed:
                cursor.execute(
                    f"""UPDATE {self.table("bonus_blocks")} AS b SET block = u.block
                        FROM unnest(%b::uuid[], %b::jsonb[]) AS u(stream_id, block) WHERE b.stream_id = u.stream_id""",
                    [[i for i, _ in changed], [Jsonb(plain(block)) if block is not None else None for _, block in changed]],
                )
        write_awards(cursor, self.table("bonus_awards"), fold_awards(events, positions))


class BonusProjection(BatchProjection):
    name = "bonus"
    topics = tuple(get_topic(cls) for cls in (Player.PlayerRegistered, Player.SpinSettled, *AWARD_EVENTS))
