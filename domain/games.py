"""The catalogue of games a promotion may name, and the bets each accepts."""

from __future__ import annotations

from decimal import Decimal

CRYSTAL_FORGE = "crystal-forge-v1"
LINES = 20
COIN_VALUES = tuple(Decimal(v) for v in ("0.01", "0.02", "0.05", "0.10", "0.20", "0.50", "1.00", "2.00", "5.00"))
VALID_BETS = frozenset(coin * LINES for coin in COIN_VALUES)

GAME_CODES = frozenset({CRYSTAL_FORGE})


def is_valid_bet(game_code: str, bet: Decimal) -> bool:
    return game_code in GAME_CODES and bet in VALID_BETS
