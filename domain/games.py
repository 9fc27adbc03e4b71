"""The catalogue of games a promotion may name and a player may play, and the bets each accepts."""

from __future__ import annotations

from decimal import Decimal

from domain.slot.crystal_forge import CRYSTAL_FORGE
from domain.slot.definition import SlotGame

GAMES: dict[str, SlotGame] = {CRYSTAL_FORGE.code: CRYSTAL_FORGE}
GAME_CODES = frozenset(GAMES)
# Every version ever certified, by code and version: a spin is replayed with the version that played it,
# so a new version is added here beside its predecessors, never in place of them.
GAME_VERSIONS: dict[tuple[str, str], SlotGame] = {(game.code, game.version): game for game in (CRYSTAL_FORGE,)}


def is_valid_bet(game_code: str, bet: Decimal) -> bool:
    game = GAMES.get(game_code)
    return game is not None and bet in game.valid_bets
