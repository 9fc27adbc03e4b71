"""Lookup tables that let numpy evaluate a game exactly as ``domain.slot.evaluation`` does.

A line's pay depends only on its five symbols, so the pay of every possible five-symbol line is computed
once, by the domain's own ``line_win``, and then looked up. Symbols are indexed from 0 here (id - 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from itertools import product

import numpy as np

from domain.slot.definition import SlotGame
from domain.slot.evaluation import line_win


@dataclass(frozen=True)
class GameTables:
    symbols: int
    windows: tuple[np.ndarray, ...]  # windows[reel][stop, row] = symbol index
    scatters: tuple[np.ndarray, ...]  # scatters[reel][stop] = scatter symbols shown
    line_pay: np.ndarray  # line_pay[code] where code = sum(symbol index × symbols ** (reels - 1 - reel))
    scatter_pay: np.ndarray  # scatter_pay[count], in line bets
    free_spins: np.ndarray  # free_spins[scatter count] = spins awarded (the retrigger excluded)
    # Per payline, the pay of any stops as two lookups: line_pay[prefix[line][stops of reels 1-3] +
    # suffix[line][stops of reels 4-5]], reels 1-3 and 4-5 each flattened to one index.
    prefix: np.ndarray  # prefix[line, flat stops 1-3] = code of the line's first three symbols × symbols²
    suffix: np.ndarray  # suffix[line, flat stops 4-5] = code of the line's last two symbols


@lru_cache(maxsize=4)
def tables_for(game: SlotGame) -> GameTables:
    if game.reels != 5:
        raise ValueError("the tables are written for five reels")
    symbols = max(s.id for s in game.symbols)
    windows = tuple(
        np.array([[strip[(stop + row) % len(strip)] - 1 for row in range(game.rows)] for stop in range(len(strip))], dtype=np.int64)
        for strip in game.reel_strips
    )
    scatters = tuple((window == game.scatter - 1).sum(axis=1) for window in windows)
    line_pay = np.zeros(symbols**game.reels, dtype=np.int64)
    for code, line in enumerate(product(range(1, symbols + 1), repeat=game.reels)):
        found = line_win(game, line)
        if found:
            line_pay[code] = found[2]
    scatter_pay = np.zeros(game.reels * game.rows + 1, dtype=np.int64)
    free_spins = np.zeros(game.reels * game.rows + 1, dtype=np.int64)
    for count in range(len(scatter_pay)):
        scatter_pay[count] = game.scatter_pays.get(count, 0)
        eligible = [n for n in game.free_spins.spins_by_scatter_count if n <= count]
        free_spins[count] = game.free_spins.spins_by_scatter_count[max(eligible)] if eligible else 0
    left = np.indices(game.reel_sizes[:3]).reshape(3, -1).T
    right = np.indices(game.reel_sizes[3:]).reshape(2, -1).T
    prefix = np.zeros((game.lines, len(left)), dtype=np.int32)
    suffix = np.zeros((game.lines, len(right)), dtype=np.int32)
    for index, line in enumerate(game.paylines):
        for reel in range(3):
            prefix[index] = prefix[index] * symbols + windows[reel][left[:, reel], line[reel]]
        for reel in range(3, 5):
            suffix[index] = suffix[index] * symbols + windows[reel][right[:, reel - 3], line[reel]]
    prefix *= symbols**2
    return GameTables(symbols, windows, scatters, line_pay, scatter_pay, free_spins, prefix, suffix)


def spin_multiples(game: SlotGame, tables: GameTables, stops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Total win (in line bets) and scatter count of each spin, vectorised over the rows of ``stops``.

    Written for five reels, as the enumeration in ``exact`` is."""
    sizes = game.reel_sizes
    left = (stops[:, 0] * sizes[1] + stops[:, 1]) * sizes[2] + stops[:, 2]
    right = stops[:, 3] * sizes[4] + stops[:, 4]
    total = np.zeros(stops.shape[0], dtype=np.int64)
    for line in range(game.lines):
        total += tables.line_pay[tables.prefix[line][left] + tables.suffix[line][right]]
    scatter_count = np.zeros(stops.shape[0], dtype=np.int64)
    for reel in range(game.reels):
        scatter_count += tables.scatters[reel][stops[:, reel]]
    return total + tables.scatter_pay[scatter_count], scatter_count
