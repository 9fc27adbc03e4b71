"""The exact maths of a slot, computed from its reel strips: no sampling, no floating point.

The base game: every combination of reel stops (32^5 for Crystal Forge) is evaluated once, with numpy,
into an exact histogram of (win in line bets, scatters shown) counts.

The free spins: a block is a branching process. Each free spin is an independent spin of the same reels;
a spin that retriggers adds ``retrigger_spins`` more, each of which may retrigger in turn. So a block of
``n`` spins is ``n`` independent "units", a unit being one spin plus everything its retriggers add, and
``U = v + r·(U_1 + … + U_R)`` gives the first two moments of a unit in closed form. Every figure is then a
``Fraction`` computed from integer counts; only the standard deviation's square root is a float.

The max-win cap: the RTP above is without it. Its effect is bounded, not estimated: the unit's moment
generating function solves ``φ(θ) = M₀(θ) + M₁(θ)·φ(θ)^R``, and Chernoff's bound turns it into an upper
bound on the chance that a block reaches the cap and on what the cap takes off the RTP.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from domain.slot.certification.tables import GameTables, tables_for
from domain.slot.definition import SlotGame

TAIL = 1e-18  # retrigger counts whose probability falls below this are left out of the block distribution


@dataclass(frozen=True)
class SpinHistogram:
    counts: np.ndarray  # counts[win in line bets, scatter count]; the sum is the number of stop combinations

    @property
    def combinations(self) -> int:
        return int(self.counts.sum())

    def probability(self, mask: np.ndarray) -> Fraction:
        return Fraction(int(self.counts[mask].sum()), self.combinations)


@dataclass(frozen=True)
class ExactReport:
    rtp: Fraction  # what one base spin returns per unit bet, its free spins included, before the cap
    base_rtp: Fraction
    free_spins_rtp: Fraction
    hit_rate: Fraction  # a spin that wins anything or triggers free spins
    trigger_probability: Fraction  # also the retrigger probability of a free spin: same reels
    expected_free_spins: dict[int, Fraction]  # by spins awarded at the trigger, retriggers included
    standard_deviation: float  # of one base spin's whole return (its free spins included), in bets
    max_win_probability_bound: float  # a free-spins block reaching the cap is at most this likely
    cap_effect_bound: float  # the cap takes at most this much off the RTP
    combinations: int


def spin_histogram(game: SlotGame, tables: GameTables | None = None) -> SpinHistogram:
    """Every stop combination, evaluated: reels 1-3 as rows, reels 4-5 as columns of one matrix."""
    tables = tables or tables_for(game)
    n = tables.symbols
    sizes = game.reel_sizes
    left = np.indices(sizes[:3]).reshape(3, -1).T  # every (stop 1, stop 2, stop 3)
    right = np.indices(sizes[3:]).reshape(2, -1).T  # every (stop 4, stop 5)
    pays = tables.line_pay.reshape(n**3, n**2)  # [code of reels 1-3, code of reels 4-5]
    live = pays.any(axis=1)  # prefixes that some ending can still turn into a win
    wins = np.zeros((left.shape[0], right.shape[0]), dtype=np.int64)
    for line in range(game.lines):
        prefix = tables.prefix[line] // n**2
        rows = np.flatnonzero(live[prefix])
        wins[rows] += pays[prefix[rows]][:, tables.suffix[line]]
    scatters = (
        sum(tables.scatters[reel][left[:, reel]] for reel in range(3))[:, None]
        + sum(tables.scatters[reel + 3][right[:, reel]] for reel in range(2))[None, :]
    )
    wins += tables.scatter_pay[scatters]
    width = len(tables.scatter_pay)
    keys = (wins * width + scatters).ravel()
    counts = np.bincount(keys, minlength=(int(keys.max()) // width + 1) * width).reshape(-1, width)
    return SpinHistogram(counts)


def _moments(counts: np.ndarray, values: np.ndarray, total: int) -> tuple[Fraction, Fraction]:
    weights = [int(c) for c in counts]
    return (
        Fraction(sum(w * int(v) for w, v in zip(weights, values, strict=True)), total),
        Fraction(sum(w * int(v) ** 2 for w, v in zip(weights, values, strict=True)), total),
    )


def _log_mgf(probabilities: np.ndarray, values: np.ndarray, theta: float) -> float:
    present = probabilities > 0
    if not present.any():
        return -math.inf
    return float(np.logaddexp.reduce(np.log(probabilities[present]) + theta * values[present]))


def _cap_bounds(game: SlotGame, histogram: SpinHistogram, initial_spins: Mapping[int, Fraction]) -> tuple[float, float]:
    """Chernoff bounds, over the free-spins blocks, on P(block reaches the cap) and E[(block − cap)+]."""
    rules = game.free_spins
    counts = histogram.counts.astype(np.float64) / histogram.combinations
    retriggers = np.arange(counts.shape[1]) >= rules.trigger_count
    values = np.arange(counts.shape[0]) * float(rules.multiplier)  # in line bets
    cap = float(game.max_win_multiple * game.lines)
    plain, retrigger = counts[:, ~retriggers].sum(axis=1), counts[:, retriggers].sum(axis=1)
    best_probability, best_excess = 1.0, cap
    for theta in np.geomspace(1e-5, 1.0, 400):
        log_m0, log_m1 = _log_mgf(plain, values, theta), _log_mgf(retrigger, values, theta)
        log_phi, converged = 0.0, False
        for _ in range(10_000):
            following = float(np.logaddexp(log_m0, log_m1 + rules.retrigger_spins * log_phi))
            if following > 50:  # past the fixed point: the generating function is infinite at this θ
                break
            if abs(following - log_phi) < 1e-13:
                converged = True
                break
            log_phi = following
        if not converged:
            continue
        worst = max(initial_spins)  # the longest starting block has the fattest tail
        log_tail = worst * log_phi - theta * cap
        best_probability = min(best_probability, math.exp(log_tail))
        best_excess = min(best_excess, math.exp(log_tail) / (math.e * theta))
    return best_probability, best_excess


def exact_report(game: SlotGame) -> ExactReport:
    tables = tables_for(game)
    histogram = spin_histogram(game, tables)
    rules = game.free_spins
    lines, total = game.lines, histogram.combinations
    counts = histogram.counts
    wins = np.arange(counts.shape[0])  # line bets
    scatter_counts = range(counts.shape[1])
    triggered = np.arange(counts.shape[1]) >= rules.trigger_count
    multiplier = Fraction(rules.multiplier)
    retrigger_spins = rules.retrigger_spins

    # One spin, in bets: the base game's win b, and a free spin's win v = multiplier × b.
    mean_b, square_b = _moments(counts.sum(axis=1), wins, total)
    mean_b, square_b = mean_b / lines, square_b / lines**2
    q = histogram.probability(np.broadcast_to(triggered, counts.shape))
    mean_v, square_v = multiplier * mean_b, multiplier**2 * square_b
    v_and_retrigger = multiplier * _moments(counts[:, triggered].sum(axis=1), wins, total)[0] / lines
    if retrigger_spins * q >= 1:
        raise ValueError("retriggers outpace the spins played: a free-spins block would never end on average")

    # A unit: one free spin and all that its retriggers add.
    mean_u = mean_v / (1 - retrigger_spins * q)
    square_u = (square_v + 2 * retrigger_spins * v_and_retrigger * mean_u + q * retrigger_spins * (retrigger_spins - 1) * mean_u**2) / (
        1 - retrigger_spins * q
    )

    def block(initial: int) -> tuple[Fraction, Fraction]:
        return initial * mean_u, initial * square_u + initial * (initial - 1) * mean_u**2

    free_rtp, free_square, cross = Fraction(0), Fraction(0), Fraction(0)
    for scatters in scatter_counts:
        initial = int(tables.free_spins[scatters])
        if not initial:
            continue
        probability = Fraction(int(counts[:, scatters].sum()), total)
        block_mean, block_square = block(initial)
        free_rtp += probability * block_mean
        free_square += probability * block_square
        # The base spin's win and its block are independent once the scatter count is known.
        cross += _moments(counts[:, scatters], wins, total)[0] / lines * block_mean
    rtp = mean_b + free_rtp
    variance = square_b + 2 * cross + free_square - rtp**2
    expected_spins = {n: Fraction(n) / (1 - retrigger_spins * q) for n in sorted(set(rules.spins_by_scatter_count.values()))}
    probability_bound, excess_bound = _cap_bounds(game, histogram, expected_spins)
    won = (wins[:, None] > 0) | triggered[None, :]
    trigger_rate = float(q)
    return ExactReport(
        rtp=rtp,
        base_rtp=mean_b,
        free_spins_rtp=free_rtp,
        hit_rate=histogram.probability(won),
        trigger_probability=q,
        expected_free_spins=expected_spins,
        standard_deviation=math.sqrt(variance),
        max_win_probability_bound=probability_bound,
        cap_effect_bound=trigger_rate * excess_bound / lines,
        combinations=total,
    )
