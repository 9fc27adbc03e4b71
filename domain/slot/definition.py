"""What a slot game is: symbols, reel strips, paylines, pay table and feature rules, as plain data.

Every pay is a multiple of the line bet (total bet / number of lines), scatter pays included, so that a
win's amount is always ``multiplier × line bet`` (× the free-spins multiplier during free spins).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType


@dataclass(frozen=True)
class Symbol:
    id: int
    key: str
    type: str  # wild | scatter | premium | mid | low
    name: str


@dataclass(frozen=True)
class FreeSpinsRules:
    spins_by_scatter_count: Mapping[int, int]
    multiplier: Decimal
    retrigger_spins: int

    @property
    def trigger_count(self) -> int:
        return min(self.spins_by_scatter_count)


@dataclass(frozen=True, eq=False)  # one object per certified version; compared and hashed by identity
class SlotGame:
    code: str
    version: str
    name: str
    rows: int
    symbols: tuple[Symbol, ...]
    reel_strips: tuple[tuple[int, ...], ...]
    paylines: tuple[tuple[int, ...], ...]  # paylines[line][reel] = row, row 0 at the top
    line_pays: Mapping[int, Mapping[int, int]]  # symbol id -> {count: multiple of the line bet}
    scatter_pays: Mapping[int, int]  # scatter count -> multiple of the line bet, anywhere on the grid
    free_spins: FreeSpinsRules
    max_win_multiple: int  # a round pays at most this many times its total bet
    coin_values: tuple[Decimal, ...]
    rtp: str = "96.00"  # the certified figure, percent; a test checks it against the exact maths
    volatility: str = "medium-high"
    default_bet: Decimal = Decimal("1.00")
    jurisdictions: tuple[str, ...] = ("CA",)  # ISO 3166-1 countries where the game may be played
    rng_version: str = "stops-uniform-rejection-v1"
    wild: int = field(init=False)
    scatter: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "wild", next(s.id for s in self.symbols if s.type == "wild"))
        object.__setattr__(self, "scatter", next(s.id for s in self.symbols if s.type == "scatter"))
        object.__setattr__(self, "line_pays", MappingProxyType({k: MappingProxyType(dict(v)) for k, v in self.line_pays.items()}))
        object.__setattr__(self, "scatter_pays", MappingProxyType(dict(self.scatter_pays)))
        ids = {s.id for s in self.symbols}
        for strip in self.reel_strips:
            if not set(strip) <= ids:
                raise ValueError("a reel strip names an unknown symbol")
            if self._scatters_in_one_window(strip):
                raise ValueError("two scatters of one reel can show at once")
        if any(len(line) != self.reels or not all(0 <= row < self.rows for row in line) for line in self.paylines):
            raise ValueError("a payline leaves the grid")

    def _scatters_in_one_window(self, strip: tuple[int, ...]) -> bool:
        return any(sum(strip[(stop + row) % len(strip)] == self.scatter for row in range(self.rows)) > 1 for stop in range(len(strip)))

    @property
    def reels(self) -> int:
        return len(self.reel_strips)

    @property
    def reel_sizes(self) -> tuple[int, ...]:
        return tuple(len(strip) for strip in self.reel_strips)

    @property
    def lines(self) -> int:
        return len(self.paylines)

    @property
    def valid_bets(self) -> frozenset[Decimal]:
        return frozenset(coin * self.lines for coin in self.coin_values)

    @property
    def min_bet(self) -> Decimal:
        return min(self.coin_values) * self.lines

    @property
    def max_bet(self) -> Decimal:
        return max(self.coin_values) * self.lines
