"""A stored spin's 5 × 3 grid as rows of named cells, each marked with the winning lines that pass through it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from domain.games import GAME_VERSIONS


@dataclass(frozen=True)
class Cell:
    symbol: str  # the symbol's name, as the game names it
    wins: tuple[str, ...]  # "line 3", "scatter": what this cell is part of

    @property
    def winning(self) -> bool:
        return bool(self.wins)


def symbol_names(record: dict[str, Any]) -> dict[int, str]:
    """The names of the symbols of the game version that played ``record``."""
    game = GAME_VERSIONS.get((record["game_code"], record["game_version"]))
    return {symbol.id: symbol.name for symbol in game.symbols} if game else {}


def grid_rows(record: dict[str, Any]) -> list[list[Cell]]:
    """``record``: a spin as stored (its ``grid`` is a list of reels, top to bottom; a win's ``positions`` are
    ``[reel, row]``)."""
    names = symbol_names(record)
    marks: dict[tuple[int, int], list[str]] = {}
    for win in record.get("wins") or []:
        label = "scatter" if win["type"] == "scatter" else f"line {int(win['payline_index']) + 1}"
        for reel, row in win["positions"]:
            marks.setdefault((int(reel), int(row)), []).append(label)
    reels = record["grid"]
    return [[Cell(names.get(reels[reel][row], f"symbol {reels[reel][row]}"), tuple(marks.get((reel, row), ())))
             for reel in range(len(reels))] for row in range(len(reels[0]))]
