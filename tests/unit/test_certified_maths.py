"""The certification maths: the exact RTP pinned, checked by reel independence, and confirmed by sampling."""

from fractions import Fraction

import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.slot.certification import report
from domain.slot.certification.exact import exact_report, spin_histogram
from domain.slot.certification.montecarlo import simulate
from domain.slot.certification.tables import spin_multiples, tables_for
from app.cli import main
from domain.slot.crystal_forge import CRYSTAL_FORGE as GAME
from domain.slot.evaluation import evaluate

PINNED_RTP = Fraction(125485391998043, 130710669099008)  # 96.0024 %


@pytest.fixture(scope="module")
def exact():
    return exact_report(GAME)


def test_the_exact_rtp_is_pinned_and_within_96_percent_plus_or_minus_five_hundredths(exact):
    assert exact.rtp == PINNED_RTP
    assert abs(exact.rtp - Fraction(96, 100)) <= Fraction(5, 10_000)
    assert exact.base_rtp + exact.free_spins_rtp == exact.rtp


def test_the_rtp_the_game_announces_is_the_exact_rtp_rounded(exact):
    assert GAME.rtp == f"{float(exact.rtp) * 100:.2f}"


def test_the_enumeration_covers_every_stop_combination_once():
    assert spin_histogram(GAME).combinations == 32**5


def reel_independence_base_rtp():
    """The base game's RTP by another route: a line's pay depends on five independent reels, every line
    has the same odds (each stop is uniform), and the scatter count is a sum of independent reels."""
    frequency = [{s: Fraction(strip.count(s), len(strip)) for s in set(strip)} for strip in GAME.reel_strips]
    wild = GAME.wild

    def p(reel, symbol):
        return frequency[reel].get(symbol, Fraction(0))

    line = Fraction(1)
    for reel in range(5):
        line *= p(reel, wild)
    line *= GAME.line_pays[wild][5]
    for symbol, pays in GAME.line_pays.items():
        if symbol == wild:
            continue
        for length, multiple in pays.items():
            for first in range(length):  # the first reel that shows the symbol itself
                chance = Fraction(1)
                for reel in range(first):
                    chance *= p(reel, wild)
                chance *= p(first, symbol)
                for reel in range(first + 1, length):
                    chance *= p(reel, symbol) + p(reel, wild)
                if length < 5:
                    chance *= 1 - p(length, symbol) - p(length, wild)
                line += chance * multiple
    scatters = [Fraction(1)]
    for reel in range(5):
        shown = 3 * p(reel, GAME.scatter)  # never two on one reel at once
        scatters = [a * (1 - shown) + b * shown for a, b in zip(scatters + [0], [0] + scatters)]
    scatter_pays = sum(scatters[n] * GAME.scatter_pays.get(n, 0) for n in range(6))
    return (GAME.lines * line + scatter_pays) / GAME.lines


def test_the_enumerated_base_rtp_equals_the_reel_independence_formula_exactly(exact):
    assert exact.base_rtp == reel_independence_base_rtp()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(*(st.integers(0, size - 1) for size in GAME.reel_sizes)), min_size=1, max_size=50))
def test_the_vectorised_evaluator_agrees_with_the_domain_on_every_spin(stops):
    wins, scatters = spin_multiples(GAME, tables_for(GAME), np.array(stops))
    expected = [evaluate(GAME, tuple(s)) for s in stops]
    assert wins.tolist() == [e.total_multiple for e in expected]
    assert scatters.tolist() == [e.scatter_count for e in expected]


def test_a_seeded_monte_carlo_run_confirms_the_exact_rtp_within_its_95_percent_interval(exact):
    sampled = simulate(GAME, 1_000_000, seed=2026, timer=time.perf_counter)
    low, high = sampled.interval
    assert low <= float(exact.rtp) <= high
    assert abs(sampled.hit_rate - float(exact.hit_rate)) < 0.005
    assert sampled.evaluations > sampled.spins  # free spins were played too


def test_spinledger_rtp_prints_the_exact_report_and_the_monte_carlo_run(capsys):
    status = main(["rtp", "--spins", "300000", "--seed", "7"])
    out = capsys.readouterr().out
    assert status == 0
    assert "RTP                      96.0024 %" in out and "within" in out
    assert "contains the exact RTP" in out
    for figure in ("base game", "free spins", "hit rate", "free spins trigger", "standard deviation", "Monte Carlo, 300,000 base spins"):
        assert figure in out


def test_the_report_fails_a_monte_carlo_interval_that_misses(exact):
    from domain.slot.certification.montecarlo import MonteCarloResult

    far = MonteCarloResult(spins=1_000_000, evaluations=1_000_000, rtp=0.90, standard_deviation=3.4, hit_rate=0.5, seconds=1.0)
    assert not report.confirms(exact, far)
