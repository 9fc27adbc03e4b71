"""Crystal Forge (``crystal-forge-v1``): the certified data of the game.

Symbols, the first five paylines, the line pays, coin values and the free-spins rules are seed 001's. The
other fifteen paylines, the scatter pays, the reel strips and the max-win cap are ours; the strips were
searched so that the exact RTP, which ``spinledger rtp`` computes from them, is 96.00 % ± 0.05 %.
Changing any number here changes the maths: the version must change with it, and the test that pins the
RTP will fail until it does.
"""

from __future__ import annotations

from decimal import Decimal

from domain.slot.definition import FreeSpinsRules, SlotGame, Symbol

SYMBOLS = (
    Symbol(1, "wild", "wild", "Wild Crystal"),
    Symbol(2, "scatter", "scatter", "Scatter Gem"),
    Symbol(3, "diamond", "premium", "Diamond"),
    Symbol(4, "ruby", "premium", "Ruby"),
    Symbol(5, "emerald", "premium", "Emerald"),
    Symbol(6, "gold", "mid", "Gold"),
    Symbol(7, "silver", "mid", "Silver"),
    Symbol(8, "ace", "low", "Ace"),
    Symbol(9, "king", "low", "King"),
    Symbol(10, "queen", "low", "Queen"),
    Symbol(11, "jack", "low", "Jack"),
)

REEL_STRIPS = (
    (11, 9, 10, 8, 6, 9, 8, 10, 7, 11, 1, 9, 8, 7, 9, 6, 10, 2, 10, 4, 11, 3, 5, 6, 5, 11, 10, 11, 8, 10, 1, 7),
    (11, 6, 10, 8, 4, 11, 8, 6, 2, 11, 4, 5, 7, 9, 1, 8, 6, 8, 10, 1, 10, 8, 10, 9, 10, 1, 9, 6, 7, 9, 7, 3),
    (7, 9, 10, 1, 2, 5, 1, 10, 11, 9, 10, 8, 6, 4, 8, 5, 1, 11, 4, 3, 11, 7, 6, 11, 5, 10, 11, 5, 9, 10, 4, 5),
    (10, 7, 10, 8, 3, 4, 1, 10, 8, 11, 6, 1, 3, 9, 11, 1, 11, 10, 7, 9, 5, 10, 11, 6, 2, 4, 9, 8, 11, 8, 11, 7),
    (4, 11, 5, 10, 3, 6, 7, 11, 7, 6, 7, 4, 1, 9, 10, 8, 11, 8, 11, 2, 11, 10, 8, 7, 9, 1, 8, 10, 6, 8, 10, 9),
)

PAYLINES = (
    (1, 1, 1, 1, 1),
    (0, 0, 0, 0, 0),
    (2, 2, 2, 2, 2),
    (0, 1, 2, 1, 0),
    (2, 1, 0, 1, 2),
    (1, 0, 0, 0, 1),
    (1, 2, 2, 2, 1),
    (0, 0, 1, 2, 2),
    (2, 2, 1, 0, 0),
    (1, 0, 1, 2, 1),
    (1, 2, 1, 0, 1),
    (0, 1, 1, 1, 0),
    (2, 1, 1, 1, 2),
    (0, 1, 0, 1, 0),
    (2, 1, 2, 1, 2),
    (1, 1, 0, 1, 1),
    (1, 1, 2, 1, 1),
    (0, 0, 2, 0, 0),
    (2, 2, 0, 2, 2),
    (0, 2, 0, 2, 0),
)

LINE_PAYS = {
    1: {5: 1000},
    3: {3: 50, 4: 200, 5: 1000},
    4: {3: 30, 4: 100, 5: 500},
    5: {3: 20, 4: 75, 5: 300},
    6: {3: 10, 4: 40, 5: 150},
    7: {3: 8, 4: 25, 5: 100},
    8: {3: 5, 4: 15, 5: 75},
    9: {3: 5, 4: 15, 5: 75},
    10: {3: 4, 4: 10, 5: 50},
    11: {3: 4, 4: 10, 5: 50},
}

# 2×, 10× and 50× the total bet, in line bets.
SCATTER_PAYS = {3: 40, 4: 200, 5: 1000}

CRYSTAL_FORGE = SlotGame(
    code="crystal-forge-v1",
    version="1.4.2",
    name="Crystal Forge",
    rows=3,
    symbols=SYMBOLS,
    reel_strips=REEL_STRIPS,
    paylines=PAYLINES,
    line_pays=LINE_PAYS,
    scatter_pays=SCATTER_PAYS,
    free_spins=FreeSpinsRules(spins_by_scatter_count={3: 10, 4: 15, 5: 20}, multiplier=Decimal("2.50"), retrigger_spins=10),
    max_win_multiple=5000,
    coin_values=tuple(Decimal(v) for v in ("0.01", "0.02", "0.05", "0.10", "0.20", "0.50", "1.00", "2.00", "5.00")),
)
