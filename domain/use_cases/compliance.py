"""Compliance's use cases on the event store itself: a spin as recorded, its replay, a player's last games."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Repository
from eventsourcing.persistence import EventStore

from domain.errors import GameVersionUnavailable, PlayerNotFound, SpinNotFound
from domain.games import GAME_VERSIONS
from domain.ids import event_id_for
from domain.player import Player
from domain.results import GameRound, SpinRecord, SpinReplay
from domain.slot.payout import ZERO
from domain.slot.replay import replay_spin
from domain.slot.rounds import BONUS

HISTORY_READ = 500  # events read back per query while collecting a player's last games


class Compliance:
    """Reads the event store as recorded (never a cache): what compliance sees is what was written."""

    def __init__(self, events: EventStore[UUID], repository: Repository[UUID]):
        self.events = events
        self.repository = repository

    def spin_record(self, spin_id: str, stream_id: UUID, version: int) -> SpinRecord:
        """The ``SpinSettled`` event at ``version`` of the player stream ``stream_id``, which must be ``spin_id``'s."""
        events = list(self.events.get(stream_id, gt=version - 1, lte=version))
        if not events or not isinstance(events[0], Player.SpinSettled) or events[0].spin["spin_id"] != spin_id:
            raise SpinNotFound(f"no spin {spin_id}")
        event = events[0]
        player: Player = self.repository.get(stream_id, version=1)
        return SpinRecord(spin_id, event_id_for(stream_id, version), player.player_id, stream_id, version, event.timestamp, event.spin)

    def replay_spin(self, spin: SpinRecord) -> SpinReplay:
        """The spin played again by the game version that played it, from its reel stops and the state before."""
        record = spin.record
        game = GAME_VERSIONS.get((record["game_code"], record["game_version"]))
        if game is None:
            raise GameVersionUnavailable(f"{record['game_code']} version {record['game_version']} is not installed here")
        block_before: dict[str, Any] | None = None
        if record["funding"] == BONUS:
            block_before = self.repository.get(spin.stream_id, version=spin.version - 1).block
        replayed = replay_spin(game, record, block_before)
        return SpinReplay(spin, replayed.recomputed, replayed.mismatches)

    def game_history(self, player_id: str, up_to_version: int | None, rounds: int) -> tuple[list[GameRound], int | None]:
        """A player's last ``rounds`` games, newest first, from the end of the stream (or from ``up_to_version``
        down), and the version to read on from for older ones (``None`` when there are none)."""
        stream_id = Player.stream_id(player_id)
        try:
            self.repository.get(stream_id, version=1)
        except AggregateNotFoundError:
            raise PlayerNotFound(f"no player {player_id}") from None
        games: list[list[Any]] = []  # each a round's SpinSettled events, newest first
        keys: list[str] = []
        for event in self._spins_backwards(stream_id, up_to_version):
            key = round_key(event.spin)
            if not keys or keys[-1] != key:
                if len(keys) == rounds:  # a spin of an older game: the last one collected is whole
                    return [self._round(g) for g in games], games[-1][-1].originator_version - 1
                keys.append(key)
                games.append([])
            games[-1].append(event)
        return [self._round(g) for g in games], None

    def _spins_backwards(self, stream_id: UUID, up_to_version: int | None) -> Iterator[Any]:
        upper = up_to_version
        while True:
            events = list(self.events.get(stream_id, lte=upper, desc=True, limit=HISTORY_READ))
            for event in events:
                if isinstance(event, Player.SpinSettled):
                    yield event
            if len(events) < HISTORY_READ:
                return
            upper = events[-1].originator_version - 1

    def _round(self, newest_first: list[Any]) -> GameRound:
        events = newest_first[::-1]
        first, last = events[0].spin, events[-1].spin
        block_id = (first.get("bonus_data") or {}).get("block_id") or first.get("block_id")
        return GameRound(
            round_id=round_key(first),
            funding=first["funding"],
            award_id=first["award_id"],
            block_id=block_id,
            complete=block_id is None or last["block"] is None,
            currency=first["currency"],
            started_at=events[0].timestamp,
            ended_at=events[-1].timestamp,
            balance_start=first["balance_before"],
            balance_end=last["balance_after"],
            bet=sum((e.spin["debited"] for e in events), ZERO),
            total_win=sum((e.spin["total_win"] for e in events), ZERO),
            spins=[{**e.spin, "settled_at": e.timestamp} for e in events],
        )


def round_key(spin: dict[str, Any]) -> str:
    """A free spin belongs to its block's game, as does the spin that triggered the block."""
    if spin["funding"] == BONUS:
        block_id: str = spin["block_id"]
        return block_id
    triggered = spin.get("bonus_data") or {}
    key: str = triggered.get("block_id") or spin["spin_id"]
    return key
