"""Evaluates one spin from its reel stops: the visible grid, line wins, scatter wins.

A reel stop is the index on the strip of the symbol shown in the top row; the rows below show the next
symbols of the strip, wrapping around. Line wins run left to right from the first reel: the line's symbol
is its first symbol that is not wild, the wild stands in for any symbol but the scatter, and a line pays
the better of its symbol's run and its leading wilds' own run. The scatter pays anywhere on the grid.
Results are in multiples of the line bet, integers; ``domain.slot.payout`` turns them into money.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.slot.definition import SlotGame

Position = tuple[int, int]  # (col, row)


@dataclass(frozen=True)
class Win:
    kind: str  # "line" or "scatter"
    payline_index: int  # the scatter's wins carry the number of paylines, which names no payline
    symbol_id: int
    count: int
    multiple: int  # of the line bet
    positions: tuple[Position, ...]


@dataclass(frozen=True)
class Evaluation:
    stops: tuple[int, ...]
    grid: tuple[tuple[int, ...], ...]  # grid[col][row]
    wins: tuple[Win, ...]
    scatter_count: int

    @property
    def total_multiple(self) -> int:
        return sum(win.multiple for win in self.wins)


def visible_grid(game: SlotGame, stops: tuple[int, ...]) -> tuple[tuple[int, ...], ...]:
    if len(stops) != game.reels or any(not 0 <= stop < size for stop, size in zip(stops, game.reel_sizes, strict=True)):
        raise ValueError(f"reel stops {stops!r} do not fit reel sizes {game.reel_sizes!r}")
    return tuple(tuple(strip[(stop + row) % len(strip)] for row in range(game.rows)) for strip, stop in zip(game.reel_strips, stops, strict=True))


def line_win(game: SlotGame, symbols: tuple[int, ...]) -> tuple[int, int, int] | None:
    """``(symbol id, count, multiple)`` of the best win on one line's symbols, or None."""
    wild = game.wild
    leading_wilds = 0
    while leading_wilds < len(symbols) and symbols[leading_wilds] == wild:
        leading_wilds += 1
    wild_pay = game.line_pays.get(wild, {}).get(leading_wilds, 0)
    best = (wild, leading_wilds, wild_pay) if wild_pay else None
    if leading_wilds < len(symbols) and symbols[leading_wilds] != game.scatter:
        base = symbols[leading_wilds]
        count = leading_wilds + 1
        while count < len(symbols) and symbols[count] in (base, wild):
            count += 1
        pay = game.line_pays.get(base, {}).get(count, 0)
        if pay and (best is None or pay > best[2]):
            best = (base, count, pay)
    return best


def evaluate(game: SlotGame, stops: tuple[int, ...]) -> Evaluation:
    grid = visible_grid(game, stops)
    wins = []
    for index, rows in enumerate(game.paylines):
        found = line_win(game, tuple(grid[col][row] for col, row in enumerate(rows)))
        if found:
            symbol, count, multiple = found
            wins.append(Win("line", index, symbol, count, multiple, tuple((col, rows[col]) for col in range(count))))
    scatters = tuple((col, row) for col, column in enumerate(grid) for row, symbol in enumerate(column) if symbol == game.scatter)
    scatter_pay = game.scatter_pays.get(len(scatters), 0)
    if scatter_pay:
        wins.append(Win("scatter", game.lines, game.scatter, len(scatters), scatter_pay, scatters))
    return Evaluation(tuple(stops), grid, tuple(wins), len(scatters))
