"""Replaying a spin record with the pure game: the stored outcome comes out again, or the difference is named."""

from __future__ import annotations

from decimal import Decimal

from domain.slot.crystal_forge import CRYSTAL_FORGE as GAME
from domain.slot.replay import replay_spin
from domain.slot.rounds import SpinInputs, play_base_spin

SPIN = SpinInputs(game=GAME, spin_id="spin-1", request_id="req-1", bet=Decimal("1.00"), currency="CAD",
                  balance_before=Decimal("20.00"), stops=(3, 7, 11, 2, 5), new_block_id="block-1")


def test_a_settled_spin_replays_to_its_own_record():
    record = play_base_spin(SPIN)
    replay = replay_spin(GAME, record, None)
    assert replay.matches and replay.recomputed == record


def test_a_changed_outcome_is_named_and_a_changed_input_shows_in_the_outcome():
    record = play_base_spin(SPIN)
    richer = replay_spin(GAME, {**record, "total_win": record["total_win"] + Decimal("1.00")}, None)
    assert richer.mismatches == ["total_win"]
    elsewhere = replay_spin(GAME, {**record, "reel_stops": [(s + 1) % 10 for s in record["reel_stops"]]}, None)
    assert not elsewhere.matches and "grid" in elsewhere.mismatches


def test_a_record_the_game_cannot_play_does_not_match():
    record = play_base_spin(SPIN)
    off_the_reels = replay_spin(GAME, {**record, "reel_stops": [10_000] * GAME.reels}, None)
    assert not off_the_reels.matches and off_the_reels.mismatches[0].startswith("not replayable: ValueError")
    incomplete = replay_spin(GAME, {k: v for k, v in record.items() if k != "bet"}, None)
    assert not incomplete.matches and "KeyError" in incomplete.mismatches[0]
