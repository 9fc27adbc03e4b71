"""Settling one spin: from reel stops already drawn to the complete, replayable spin record.

Pure functions of their inputs: the caller draws the stops, the ids and the time first, so that the
event that records the result holds everything: replaying it draws nothing.

Funding: ``cash`` spins take the bet from the balance, and ``coins`` spins from the gold-coin balance (the
record's currency is then ``GC``, and so is a block they trigger); ``award`` spins are a promotional award's free
spins at the award's fixed bet, and take nothing; ``bonus`` spins are a scatter-triggered free-spins
block's, at the triggering bet, and take nothing. Wins are credited to the balance the record is in (cash,
or coins), so ``balance_after == balance_before - debited + total_win`` where ``debited`` is the bet for cash
and coin spins and 0 otherwise.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from decimal import Decimal
from typing import Any

from domain.slot.definition import SlotGame
from domain.slot.evaluation import evaluate
from domain.slot.payout import ZERO, pay

CASH, COINS, AWARD, BONUS = "cash", "coins", "award", "bonus"
PAID = (CASH, COINS)  # the fundings that take the bet from a balance
IDLE, IN_BONUS, BONUS_COMPLETE = "idle", "bonus", "bonus_complete"
ONE = Decimal("1")


@dataclass(frozen=True)
class Block:
    """A free-spins block in play: a round of its own, identified by its block id."""

    block_id: str
    triggering_bet: Decimal
    total_spins: int
    spins_played: int
    total_win: Decimal
    multiplier: Decimal
    award_id: str | None  # the promotional award whose spin triggered it, if one did
    coins: bool = False  # triggered by a spin in gold coins: played and paid in coins (absent from older blocks)

    @property
    def spins_remaining(self) -> int:
        return self.total_spins - self.spins_played

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if not self.coins:  # a cash block's record is as it was before coins: replays of older spins still match
            del data["coins"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Block:
        return cls(**data)


@dataclass(frozen=True)
class SpinInputs:
    game: SlotGame
    spin_id: str
    request_id: str
    bet: Decimal
    currency: str
    balance_before: Decimal
    stops: tuple[int, ...]
    new_block_id: str  # used only if this spin triggers free spins
    funding: str = CASH
    award_id: str | None = None


def _wins(game: SlotGame, evaluation: Any, amounts: tuple[Decimal, ...]) -> list[dict[str, Any]]:
    return [
        {
            "type": win.kind,
            "payline_index": win.payline_index,
            "symbol_id": win.symbol_id,
            "count": win.count,
            "multiplier": Decimal(win.multiple).quantize(Decimal("0.01")),
            "win_amount": amount,
            "positions": [list(p) for p in win.positions],
        }
        for win, amount in zip(evaluation.wins, amounts, strict=True)
    ]


def _record(inputs: SpinInputs, evaluation: Any, payout: Any, debited: Decimal, round_id: str, block_id: str | None) -> dict[str, Any]:
    game = inputs.game
    return {
        "spin_id": inputs.spin_id,
        "round_id": round_id,
        "request_id": inputs.request_id,
        "funding": inputs.funding,
        "award_id": inputs.award_id,
        "block_id": block_id,
        "game_code": game.code,
        "game_version": game.version,
        "rng_version": game.rng_version,
        "bet": inputs.bet,
        "currency": inputs.currency,
        "debited": debited,
        "reel_stops": list(evaluation.stops),
        "grid": [list(column) for column in evaluation.grid],
        "wins": _wins(game, evaluation, payout.amounts),
        "total_win": payout.total,
        "max_win_reached": payout.max_win_reached,
        "scatter_count": evaluation.scatter_count,
        "balance_before": inputs.balance_before,
        "balance_after": inputs.balance_before - debited + payout.total,
    }


def play_base_spin(inputs: SpinInputs) -> dict[str, Any]:
    """A cash or award spin: its own round, which may trigger a free-spins block."""
    game = inputs.game
    evaluation = evaluate(game, inputs.stops)
    payout = pay(evaluation, inputs.bet / game.lines, ONE, inputs.bet * game.max_win_multiple)
    debited = inputs.bet if inputs.funding in PAID else ZERO
    record = _record(inputs, evaluation, payout, debited, inputs.spin_id, None)
    awarded = game.free_spins.spins_by_scatter_count.get(min(evaluation.scatter_count, max(game.free_spins.spins_by_scatter_count)), 0)
    if awarded:
        block = Block(inputs.new_block_id, inputs.bet, awarded, 0, ZERO, game.free_spins.multiplier, inputs.award_id, inputs.funding == COINS)
        record |= {
            "bonus_triggered": True,
            "bonus_data": {"type": "free_spins", "free_spins_awarded": awarded, "initial_multiplier": block.multiplier, "block_id": block.block_id},
            "free_spins": None,
            "block_summary": None,
            "block": block.as_dict(),
            "state": IN_BONUS,
        }
    else:
        record |= {"bonus_triggered": False, "bonus_data": None, "free_spins": None, "block_summary": None, "block": None, "state": IDLE}
    return record


def play_bonus_spin(inputs: SpinInputs, block: Block) -> dict[str, Any]:
    """One spin of a free-spins block, at the block's bet and multiplier, capped at the block's max win."""
    game = inputs.game
    evaluation = evaluate(game, inputs.stops)
    headroom = block.triggering_bet * game.max_win_multiple - block.total_win
    payout = pay(evaluation, block.triggering_bet / game.lines, block.multiplier, headroom)
    retrigger = evaluation.scatter_count >= game.free_spins.trigger_count and not payout.max_win_reached
    added = game.free_spins.retrigger_spins if retrigger else 0
    played = replace(block, spins_played=block.spins_played + 1, total_spins=block.total_spins + added, total_win=block.total_win + payout.total)
    if payout.max_win_reached:  # the round has paid all it may: the block ends here
        played = replace(played, total_spins=played.spins_played)
    record = _record(replace(inputs, bet=block.triggering_bet), evaluation, payout, ZERO, block.block_id, block.block_id)
    finished = played.spins_remaining == 0
    record |= {
        "bonus_triggered": False,
        "bonus_data": None,
        "free_spins": {
            "block_id": block.block_id,
            "spin_number": played.spins_played,
            "total_spins": played.total_spins,
            "spins_remaining": played.spins_remaining,
            "multiplier": block.multiplier,
            "multiplier_applied": block.multiplier,
            "block_total_win": played.total_win,
            "retrigger_occurred": retrigger,
            "retrigger_spins_added": added,
        },
        "block_summary": block_summary(played) if finished else None,
        "block": None if finished else played.as_dict(),
        "state": BONUS_COMPLETE if finished else IN_BONUS,
    }
    return record


def block_summary(block: Block) -> dict[str, Any]:
    return {
        "block_id": block.block_id,
        "total_spins_played": block.spins_played,
        "total_win": block.total_win,
        "triggering_bet": block.triggering_bet,
        "win_multiple": (block.total_win / block.triggering_bet).quantize(Decimal("0.01")),
    }
