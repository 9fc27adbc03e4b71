"""Turns an evaluation into money, and caps a round at its max win.

Rounding: each win's amount is ``multiple × line bet × multiplier`` rounded to the cent, half up (only
free-spins wins at ×2.50 on coin values of 0.01 and 0.05 ever have a half cent, and it goes to the
player). The spin's total is the sum of the rounded amounts, so ``sum(winAmount) == totalWin`` always.
A round pays at most ``max_win_multiple × bet``: wins are paid in order until the round's headroom is
used up; the win that crosses it is paid what is left and later wins pay 0.00.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from domain.slot.evaluation import Evaluation

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Payout:
    amounts: tuple[Decimal, ...]  # one per win, in the evaluation's order
    total: Decimal
    max_win_reached: bool


def win_amount(multiple: int, line_bet: Decimal, multiplier: Decimal) -> Decimal:
    return (line_bet * multiple * multiplier).quantize(CENT, rounding=ROUND_HALF_UP)


def pay(evaluation: Evaluation, line_bet: Decimal, multiplier: Decimal, headroom: Decimal) -> Payout:
    amounts, left = [], headroom
    for win in evaluation.wins:
        amount = min(win_amount(win.multiple, line_bet, multiplier), left)
        amounts.append(amount)
        left -= amount
    total = sum(amounts, ZERO)
    return Payout(tuple(amounts), total, bool(amounts) and left == 0)
