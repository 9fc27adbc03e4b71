"""The one award append path under 64 concurrent writers in two processes, as two server processes run it
(the production ledger: cached states, group commit): the budget is spent exactly, no player passes a cap, and
each idempotency key records one award, answered alike in both processes."""

from __future__ import annotations

import multiprocessing
import os
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest

from app.bootstrap import build_ledger
from domain.errors import DomainError
from tests.support import FakeClock, adult, award_request, terms, unique

WRITERS_PER_PROCESS = 32
REQUESTS_PER_WRITER = 8
PLAYERS = 8
BUDGETED = dict(budget_spins=100, per_player_daily_limit=20)  # 8 players x 20 > 100: the budget runs out first
CAPPED = dict(budget_spins=100_000, per_player_daily_limit=10)  # every player asks more than 10: each cap is reached


def award_from_process(database_url: str, plan: list[list[tuple[str, str, str]]], start_at: float) -> list[tuple[str, str, str | None, bool]]:
    """One server process: a writer thread per list of (player, promotion, key); each result as (key, outcome,
    award id or error code, replayed)."""
    ledger = build_ledger(database_url, FakeClock(), os.urandom)
    try:
        time.sleep(max(0.0, start_at - time.time()))  # both processes start writing together

        def write(requests: list[tuple[str, str, str]]) -> list[tuple[str, str, str | None, bool]]:
            answered = []
            for player_id, promo_id, key in requests:
                (result,) = ledger.award_batch([award_request(player_id, promo_id, key=key, award_value=1)])
                if isinstance(result, DomainError):
                    answered.append((key, "refused", result.code, False))
                else:
                    answered.append((key, "awarded", result.receipt.award_id, result.replayed))
            return answered

        with ThreadPoolExecutor(max_workers=WRITERS_PER_PROCESS) as pool:
            return [r for rs in pool.map(write, plan) for r in rs]
    finally:
        ledger.close()


@pytest.fixture
def world(ledger):
    players = [unique("player") for _ in range(PLAYERS)]
    for player_id in players:
        ledger.register_player(player_id, adult())
    budgeted, capped = unique("budgeted"), unique("capped")
    ledger.define_promotion(budgeted, terms(**BUDGETED))
    ledger.define_promotion(capped, terms(**CAPPED))
    return players, budgeted, capped


def plans(players: list[str], budgeted: str, capped: str) -> tuple[list, list]:
    """Each process's writers; half of every writer's keys are also sent, the same request, by the other process."""
    per_process = []
    for process in range(2):
        writers = []
        for writer in range(WRITERS_PER_PROCESS):
            requests = []
            for n in range(REQUESTS_PER_WRITER):
                player = players[(writer + n) % PLAYERS]
                promo = budgeted if n % 2 == 0 else capped
                shared = n < REQUESTS_PER_WRITER // 2
                key = f"{promo}:{writer}:{n}" if shared else f"{promo}:{writer}:{n}:process-{process}"
                requests.append((player, promo, key))
            writers.append(requests)
        per_process.append(writers)
    return per_process[0], per_process[1]


def test_sixty_four_writers_in_two_processes_spend_the_budget_exactly_reach_each_cap_and_record_one_award_per_key(world, database_url, db):
    players, budgeted, capped = world
    first, second = plans(players, budgeted, capped)
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn")) as pool:
        start_at = time.time() + 4  # both processes are up by then
        results = [r for f in [pool.submit(award_from_process, database_url, plan, start_at) for plan in (first, second)] for r in f.result()]

    assert len(results) == 2 * WRITERS_PER_PROCESS * REQUESTS_PER_WRITER
    refused = Counter(code for _, outcome, code, _ in results if outcome == "refused")
    assert set(refused) <= {"BUDGET_EXHAUSTED", "RATE_LIMIT"}  # nothing failed for want of a retry

    recorded = db.execute(
        "SELECT convert_from(state, 'UTF8')::jsonb FROM spinledger_events WHERE topic LIKE %s"
        " AND convert_from(state, 'UTF8')::jsonb ->> 'promo_id' IN (%s, %s)",
        ["%FreeSpinsAwarded", budgeted, capped],
    ).fetchall()
    awards = [state for (state,) in recorded]
    per_key = Counter(a["idempotency_key"] for a in awards)
    assert max(per_key.values()) == 1  # one event per key

    spent = Counter(a["promo_id"] for a in awards)
    assert spent[budgeted] == BUDGETED["budget_spins"]  # exactly: 1-spin awards refused only once none is left
    per_player = Counter((a["promo_id"], a["player_id"]) for a in awards)
    assert max(per_player[(budgeted, p)] for p in players) <= BUDGETED["per_player_daily_limit"]
    assert [per_player[(capped, p)] for p in players] == [CAPPED["per_player_daily_limit"]] * PLAYERS

    answered = {}
    for key, outcome, award_id, _ in results:  # a key sent by both processes has one answer in both
        if outcome == "awarded":
            assert answered.setdefault(key, award_id) == award_id
    assert set(answered) == set(per_key)
    refused_keys = {key for key, outcome, _, _ in results if outcome == "refused"}
    assert refused_keys.isdisjoint(answered)  # never refused in one process and awarded in the other
    assert sum(not replayed for _, outcome, _, replayed in results if outcome == "awarded") == len(awards)

    (reserved,) = db.execute(
        "SELECT coalesce(sum((convert_from(state, 'UTF8')::jsonb ->> 'spins')::int), 0) FROM spinledger_events"
        " WHERE originator_id = (SELECT originator_id FROM spinledger_events WHERE topic LIKE %s"
        "  AND convert_from(state, 'UTF8')::jsonb ->> 'promo_id' = %s) AND topic LIKE %s",
        ["%PromotionDefined", budgeted, "%BudgetReserved"],
    ).fetchone()
    assert reserved == BUDGETED["budget_spins"]  # what the append checked against, derived from the events


def test_the_plans_ask_for_more_than_the_budget_and_the_caps_allow():
    players = [f"p{i}" for i in range(PLAYERS)]
    first, second = plans(players, "b", "c")
    keys = {key: (player, promo) for plan in (first, second) for writer in plan for player, promo, key in writer}
    asked = Counter(keys.values())
    assert sum(n for (_, promo), n in asked.items() if promo == "b") > BUDGETED["budget_spins"]
    assert min(n for (_, promo), n in asked.items() if promo == "c") > CAPPED["per_player_daily_limit"]
