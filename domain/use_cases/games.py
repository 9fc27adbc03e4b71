"""The games' catalogue as operators run it: each game open or under maintenance.

The game calls ask this on every spin; a game's maintenance is read again at most once a ``RECHECK`` in each
process (the one that set it sees it at once), so a change reaches every server within that time without a
read per spin.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from eventsourcing.persistence import IntegrityError

from domain.clock import Clock
from domain.errors import ConcurrentModification, GameNotFound, GameUnderMaintenance
from domain.games import GAMES
from domain.maintenance import GameMaintenance, MaintenanceTerms
from domain.results import GameStatus
from domain.slot.definition import SlotGame
from domain.streams import MAX_ATTEMPTS, Streams

RECHECK = timedelta(seconds=1)
OPEN, MAINTENANCE = "open", "maintenance"


class Games:
    def __init__(self, streams: Streams, clock: Clock):
        self._streams = streams
        self.clock = clock
        self._seen: dict[str, tuple[GameMaintenance | None, datetime]] = {}

    def list_games(self) -> list[GameStatus]:
        now = self.clock.now()
        return [self._status(game, self._read(code, now), now) for code, game in sorted(GAMES.items())]

    def get_game(self, game_code: str) -> GameStatus:
        now = self.clock.now()
        return self._status(self._game(game_code), self._read(game_code, now), now)

    def set_maintenance(self, game_code: str, terms: MaintenanceTerms, set_by: str) -> GameStatus:
        """Sets the game's maintenance (terms already in force record nothing)."""
        game = self._game(game_code)
        for _ in range(MAX_ATTEMPTS):
            now = self.clock.now()
            terms.check_at(now)
            maintenance = self._streams.load_one(GameMaintenance.create_id(game_code))
            if maintenance is None:
                if not terms.active:  # nothing was ever on: nothing to record
                    return self._status(game, None, now)
                maintenance = GameMaintenance.set_first(game_code, terms, set_by, now)
            elif not maintenance.change(terms, set_by, now):
                return self._status(game, maintenance, now)
            try:
                self._streams.save(maintenance)
            except IntegrityError:
                continue
            self._seen[game_code] = (maintenance, now)
            return self._status(game, maintenance, now)
        raise ConcurrentModification("the game's maintenance changed under this request repeatedly; retry it")

    def check_open(self, game: SlotGame, now: datetime, *, block_in_play: bool) -> GameStatus | None:
        """Raises ``GameUnderMaintenance`` with the operator's message unless the game is open or the player
        has a block to finish; returns the maintenance the player may finish a block under. The maintenance is
        as this process last read it, within ``RECHECK``."""
        maintenance = self._recent(game.code, now)
        if maintenance is None or not maintenance.is_on_at(now):
            return None
        status = self._status(game, maintenance, now)
        if not block_in_play:
            until = f" until {status.until.isoformat()}" if status.until else ""
            raise GameUnderMaintenance(f"{status.message} (under maintenance{until})")
        return status

    def _recent(self, game_code: str, now: datetime) -> GameMaintenance | None:
        seen = self._seen.get(game_code)
        if seen is not None and now - seen[1] < RECHECK:
            return seen[0]
        return self._read(game_code, now)

    def _read(self, game_code: str, now: datetime) -> GameMaintenance | None:
        maintenance: GameMaintenance | None = self._streams.load_one(GameMaintenance.create_id(game_code))
        self._seen[game_code] = (maintenance, now)
        return maintenance

    @staticmethod
    def _game(game_code: str) -> SlotGame:
        game = GAMES.get(game_code)
        if game is None:
            raise GameNotFound(f"no game {game_code!r}; the games are {', '.join(sorted(GAMES))}", field="game_code")
        return game

    @staticmethod
    def _status(game: SlotGame, maintenance: GameMaintenance | None, now: datetime) -> GameStatus:
        if maintenance is None or not maintenance.is_on_at(now):
            return GameStatus(game.code, game.name, game.version, OPEN, None, None, None)
        return GameStatus(game.code, game.name, game.version, MAINTENANCE, maintenance.message, maintenance.until, maintenance.modified_on)
