"""Replaying a settled spin: the game plays it again from its stored inputs, and the outcomes are compared.

The inputs are what was drawn or known before the spin (reel stops, bet, funding, balance, and for a
free spin the block as it stood); everything else in the record is outcome, and must come out identical.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from domain.slot.definition import SlotGame
from domain.slot.rounds import BONUS, Block, SpinInputs, play_base_spin, play_bonus_spin


@dataclass(frozen=True)
class Replay:
    recomputed: dict[str, Any]  # the record as the game computes it again
    mismatches: list[str]  # the fields where the stored record says otherwise

    @property
    def matches(self) -> bool:
        return not self.mismatches


def replay_spin(game: SlotGame, stored: dict[str, Any], block_before: dict[str, Any] | None) -> Replay:
    """``stored`` is a ``SpinSettled`` record; ``block_before`` the player's block before it (free spins only).
    A record whose inputs the game cannot play (stops off the reels, a field missing) does not match."""
    try:
        return _replayed(game, stored, block_before)
    except (ValueError, KeyError, TypeError, ArithmeticError) as error:
        return Replay({}, [f"not replayable: {type(error).__name__}: {error}"])


def _replayed(game: SlotGame, stored: dict[str, Any], block_before: dict[str, Any] | None) -> Replay:
    triggered = stored.get("bonus_data") or {}
    inputs = SpinInputs(
        game=game,
        spin_id=stored["spin_id"],
        request_id=stored["request_id"],
        bet=stored["bet"],
        currency=stored["currency"],
        balance_before=stored["balance_before"],
        stops=tuple(stored["reel_stops"]),
        new_block_id=triggered.get("block_id") or "",
        funding=stored["funding"],
        award_id=stored["award_id"],
    )
    if stored["funding"] == BONUS:
        if block_before is None:
            raise ValueError("a free spin replays only with the block it was played in")
        recomputed = play_bonus_spin(inputs, Block.from_dict(block_before))
    else:
        recomputed = play_base_spin(inputs)
    return Replay(recomputed, sorted(field for field, value in recomputed.items() if stored.get(field) != value))
