"""Monte Carlo play of a slot, vectorised with numpy, to confirm the exact figures by sampling.

Whole rounds are played: each base spin, and for those that trigger, their free-spins blocks (with
retriggers and the max-win cap) spin by spin, all blocks of a chunk at once.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.random import Generator, default_rng

from domain.slot.certification.tables import GameTables, spin_multiples, tables_for
from domain.slot.definition import SlotGame

Z_95 = 1.959963984540054


@dataclass(frozen=True)
class MonteCarloResult:
    spins: int  # base spins played
    evaluations: int  # spins evaluated, free spins included
    rtp: float
    standard_deviation: float
    hit_rate: float
    seconds: float

    @property
    def standard_error(self) -> float:
        return self.standard_deviation / math.sqrt(self.spins)

    @property
    def interval(self) -> tuple[float, float]:
        """The 95 % confidence interval of the RTP."""
        return self.rtp - Z_95 * self.standard_error, self.rtp + Z_95 * self.standard_error

    @property
    def evaluations_per_second(self) -> float:
        return self.evaluations / self.seconds


def _draw(rng: Generator, game: SlotGame, count: int) -> np.ndarray:
    return rng.integers(0, np.array(game.reel_sizes), (count, game.reels))


def _play_blocks(game: SlotGame, tables: GameTables, rng: Generator, initial: np.ndarray) -> tuple[np.ndarray, int]:
    """Each block's summed win in line bets, multiplier and cap applied, and the spins it took."""
    rules = game.free_spins
    cap = game.max_win_multiple * game.lines
    multiplier = float(rules.multiplier)
    remaining = initial.copy()
    summed = np.zeros(len(initial), dtype=np.int64)
    evaluated = 0
    while True:
        active = np.flatnonzero(remaining > 0)
        if not len(active):
            return np.minimum(summed * multiplier, cap), evaluated
        wins, scatters = spin_multiples(game, tables, _draw(rng, game, len(active)))
        evaluated += len(active)
        summed[active] += wins
        remaining[active] += np.where(scatters >= rules.trigger_count, rules.retrigger_spins, 0) - 1
        remaining[active[summed[active] * multiplier >= cap]] = 0  # the max win ends the block


def simulate(
    game: SlotGame,
    spins: int,
    seed: int,
    timer: Callable[[], float],
    chunk: int = 500_000,
    progress: Callable[[int], None] | None = None,
) -> MonteCarloResult:
    """``spins`` base spins drawn from ``seed``; ``timer`` (seconds, e.g. ``time.perf_counter``) times the run."""
    tables = tables_for(game)
    rng = default_rng(seed)
    total = square = 0.0
    hits = evaluations = played = 0
    started = timer()
    while played < spins:
        count = min(chunk, spins - played)
        wins, scatters = spin_multiples(game, tables, _draw(rng, game, count))
        evaluations += count
        returns = wins.astype(np.float64)
        initial = tables.free_spins[scatters]
        triggered = np.flatnonzero(initial > 0)
        if len(triggered):
            blocks, evaluated = _play_blocks(game, tables, rng, initial[triggered])
            returns[triggered] += blocks
            evaluations += evaluated
        returns /= game.lines
        total += float(returns.sum())
        square += float((returns**2).sum())
        hits += int(((wins > 0) | (initial > 0)).sum())
        played += count
        if progress:
            progress(count)
    seconds = timer() - started
    mean = total / spins
    variance = max(square / spins - mean**2, 0.0) * spins / max(spins - 1, 1)
    return MonteCarloResult(spins, evaluations, mean, math.sqrt(variance), hits / spins, seconds)
