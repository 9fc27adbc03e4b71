"""What ``spinledger smoke`` prints: one line per step (its outcome, name, elapsed time and what it found or
why it failed), then one summary line."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

OK = "ok"
FAILED = "FAIL"
SKIPPED = "skip"
NAME_WIDTH = 22


@dataclass(frozen=True)
class StepResult:
    name: str
    outcome: str
    elapsed_ms: float | None = None
    detail: str = ""


def step_line(result: StepResult) -> str:
    """``ok    define promotion          41 ms  smoke-promo (already defined)``"""
    elapsed = f"{result.elapsed_ms:>6.0f} ms" if result.elapsed_ms is not None else " " * 9
    return f"{result.outcome:<6}{result.name:<{NAME_WIDTH}}{elapsed}  {result.detail}".rstrip()


def passed(results: Sequence[StepResult]) -> bool:
    return all(result.outcome != FAILED for result in results) and any(result.outcome == OK for result in results)


def summary_line(results: Sequence[StepResult], elapsed_ms: float) -> str:
    """``smoke passed: 7 steps ok in 412 ms``, or the first failing step, its reason and the counts."""
    counts = {outcome: sum(result.outcome == outcome for result in results) for outcome in (OK, FAILED, SKIPPED)}
    first_failure = next((result for result in results if result.outcome == FAILED), None)
    if first_failure is None:
        return f"smoke passed: {counts[OK]} steps ok in {elapsed_ms:.0f} ms"
    return (f"smoke FAILED at step \"{first_failure.name}\": {first_failure.detail} "
            f"({counts[OK]} ok, {counts[FAILED]} failed, {counts[SKIPPED]} skipped, {elapsed_ms:.0f} ms)")
