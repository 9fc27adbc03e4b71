"""``spinledger rtp``: the certification report of a game, as text."""

from __future__ import annotations

from fractions import Fraction

from domain.slot.certification.exact import ExactReport
from domain.slot.certification.montecarlo import MonteCarloResult
from domain.slot.definition import SlotGame

TARGET = Fraction(96, 100)
TOLERANCE = Fraction(5, 10_000)


def percent(value: float | Fraction, places: int = 4) -> str:
    return f"{float(value) * 100:.{places}f} %"


def within_target(exact: ExactReport) -> bool:
    return abs(exact.rtp - TARGET) <= TOLERANCE


def confirms(exact: ExactReport, sampled: MonteCarloResult) -> bool:
    low, high = sampled.interval
    return low <= float(exact.rtp) <= high


def render(game: SlotGame, exact: ExactReport, exact_seconds: float, sampled: MonteCarloResult | None) -> str:
    spins = ", ".join(f"{n} -> {float(e):.3f}" for n, e in exact.expected_free_spins.items())
    lines = [
        f"{game.name} ({game.code}, game version {game.version}), {game.reels}x{game.rows}, {game.lines} lines,"
        f" reels {'/'.join(map(str, game.reel_sizes))}",
        "",
        f"exact, every one of {exact.combinations:,} stop combinations ({exact_seconds:.2f} s)",
        f"  RTP                      {percent(exact.rtp)}   target {percent(TARGET, 2)} ± {percent(TOLERANCE, 2)}:"
        f" {'within' if within_target(exact) else 'OUTSIDE'}",
        f"                           = {exact.rtp.numerator}/{exact.rtp.denominator}",
        f"  base game                {percent(exact.base_rtp)}",
        f"  free spins               {percent(exact.free_spins_rtp)}",
        f"  hit rate                 {percent(exact.hit_rate, 2)} (1 in {1 / float(exact.hit_rate):.2f} spins wins or triggers)",
        f"  free spins trigger       1 in {1 / float(exact.trigger_probability):.1f} spins"
        f" ({percent(exact.trigger_probability)}; retrigger the same per free spin)",
        f"  free spins per block     {spins} (by spins awarded, retriggers included)",
        f"  standard deviation       {exact.standard_deviation:.4f} x bet per spin",
        f"  max win                  {game.max_win_multiple:,} x bet per round; a block reaches it with p <= {exact.max_win_probability_bound:.1e},",
        f"                           so the cap takes <= {exact.cap_effect_bound:.1e} off the RTP (Chernoff bound)",
    ]
    if sampled is not None:
        low, high = sampled.interval
        lines += [
            "",
            f"Monte Carlo, {sampled.spins:,} base spins ({sampled.evaluations:,} spins evaluated with free spins, "
            f"{sampled.seconds:.2f} s, {sampled.evaluations_per_second:,.0f} spins/s)",
            f"  RTP                      {percent(sampled.rtp)}   95 % interval [{percent(low)}, {percent(high)}]: "
            f"{'contains' if confirms(exact, sampled) else 'DOES NOT contain'} the exact RTP",
            f"  hit rate                 {percent(sampled.hit_rate, 2)}",
            f"  standard deviation       {sampled.standard_deviation:.4f} x bet per spin",
        ]
    return "\n".join(lines)
