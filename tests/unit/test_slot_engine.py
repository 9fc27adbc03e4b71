"""Crystal Forge's engine: evaluation against a slow reference, rounding, the cap, and the stop draw."""

from decimal import Decimal
from itertools import count

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.slot.crystal_forge import CRYSTAL_FORGE as GAME
from domain.slot.evaluation import Evaluation, Win, evaluate, visible_grid
from domain.slot.payout import pay
from domain.slot.rng import draw_stop, draw_stops

stops_strategy = st.tuples(*(st.integers(0, size - 1) for size in GAME.reel_sizes))


def reference_line_pay(symbols):
    """Every paying symbol tried in turn: its run from the left, wilds standing in, and the best pay.

    A run made of wilds alone pays as wilds, never as the symbol they would stand in for."""
    best = 0
    for candidate, pays in GAME.line_pays.items():
        run = 0
        while run < len(symbols) and symbols[run] in (candidate, GAME.wild):
            run += 1
        if candidate != GAME.wild and candidate not in symbols[:run]:
            continue
        best = max(best, pays.get(run, 0))
    return best


def reference_total(stops):
    strips = GAME.reel_strips
    grid = [[strips[col][(stops[col] + row) % 32] for row in range(3)] for col in range(5)]
    lines = sum(reference_line_pay([grid[col][rows[col]] for col in range(5)]) for rows in GAME.paylines)
    scatters = sum(column.count(GAME.scatter) for column in grid)
    return lines + GAME.scatter_pays.get(scatters, 0), scatters


@settings(max_examples=3000, deadline=None)
@given(stops_strategy)
def test_evaluation_matches_the_slow_reference_evaluator(stops):
    evaluation = evaluate(GAME, stops)
    assert (evaluation.total_multiple, evaluation.scatter_count) == reference_total(stops)


@settings(max_examples=300, deadline=None)
@given(stops_strategy)
def test_every_win_lies_on_the_grid_with_its_symbol_or_wilds(stops):
    evaluation = evaluate(GAME, stops)
    for win in evaluation.wins:
        assert len(win.positions) == win.count
        shown = [evaluation.grid[col][row] for col, row in win.positions]
        if win.kind == "scatter":
            assert win.payline_index == GAME.lines and set(shown) == {GAME.scatter}
        else:
            assert [row for _, row in win.positions] == list(GAME.paylines[win.payline_index][: win.count])
            assert set(shown) <= {win.symbol_id, GAME.wild}
            assert win.multiple == GAME.line_pays[win.symbol_id][win.count]


def test_the_grid_shows_three_consecutive_symbols_of_each_strip_wrapping_around():
    grid = visible_grid(GAME, (31, 0, 30, 5, 10))
    strips = GAME.reel_strips
    assert grid[0] == (strips[0][31], strips[0][0], strips[0][1])
    assert grid[2] == (strips[2][30], strips[2][31], strips[2][0])
    assert grid[3] == tuple(strips[3][5:8])


def test_a_line_of_four_wilds_then_a_king_pays_five_kings():
    from domain.slot.evaluation import line_win

    assert line_win(GAME, (1, 1, 1, 1, 9)) == (9, 5, 75)
    assert line_win(GAME, (1, 1, 1, 1, 1)) == (1, 5, 1000)
    assert line_win(GAME, (1, 1, 2, 3, 3)) is None  # the scatter breaks the line
    assert line_win(GAME, (3, 1, 3, 4, 3)) == (3, 3, 50)


def evaluation_of(*multiples):
    wins = tuple(Win("line", index, 3, 3, multiple, ((0, 1), (1, 1), (2, 1))) for index, multiple in enumerate(multiples))
    return Evaluation((0,) * 5, ((3, 3, 3),) * 5, wins, 0)


@given(st.lists(st.integers(1, 1000), max_size=20), st.sampled_from(GAME.coin_values), st.sampled_from([Decimal("1"), Decimal("2.50")]))
def test_the_rounded_win_amounts_always_add_up_to_the_total(multiples, coin, multiplier):
    payout = pay(evaluation_of(*multiples), coin, multiplier, Decimal("1000000.00"))
    assert sum(payout.amounts, Decimal("0.00")) == payout.total
    assert all(amount == amount.quantize(Decimal("0.01")) for amount in payout.amounts)


def test_a_half_cent_of_a_free_spins_win_goes_to_the_player():
    payout = pay(evaluation_of(5), Decimal("0.01"), Decimal("2.50"), Decimal("1000.00"))
    assert payout.amounts == (Decimal("0.13"),)  # 5 × 0.01 × 2.50 = 0.125


def test_a_round_pays_no_more_than_its_headroom_and_says_so():
    payout = pay(evaluation_of(50, 30, 20), Decimal("1.00"), Decimal("1"), Decimal("60.00"))
    assert payout.amounts == (Decimal("50.00"), Decimal("10.00"), Decimal("0.00"))
    assert payout.total == Decimal("60.00") and payout.max_win_reached


def test_a_win_below_the_headroom_does_not_reach_the_max_win():
    payout = pay(evaluation_of(50), Decimal("1.00"), Decimal("1"), Decimal("60.00"))
    assert payout.total == Decimal("50.00") and not payout.max_win_reached


def test_a_stop_drawn_from_random_bytes_rejects_the_biased_top_of_the_range():
    draws = iter([(2**32 - 1).to_bytes(4, "big"), (7).to_bytes(4, "big")])
    assert draw_stop(3, lambda n: next(draws)) == 1  # 2**32 - 1 is past the last multiple of 3


def test_every_stop_is_drawn_equally_often_from_a_counter():
    counter = count()
    stops = [draw_stop(32, lambda n: next(counter).to_bytes(n, "big")) for _ in range(3200)]
    assert all(stops.count(stop) == 100 for stop in range(32))
    assert len(draw_stops(GAME.reel_sizes, lambda n: bytes(n))) == 5


def test_the_strips_never_show_two_scatters_on_one_reel():
    for strip in GAME.reel_strips:
        for stop in range(len(strip)):
            assert [strip[(stop + row) % len(strip)] for row in range(3)].count(GAME.scatter) <= 1
