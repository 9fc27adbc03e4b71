"""Deposit limits under concurrency, on PostgreSQL: two processes' worth of writers deciding on the same player."""

from __future__ import annotations

import threading
from decimal import Decimal

from app.bootstrap import build_ledger
from domain.errors import DepositLimitExceeded
from domain.requests import FundsRequest
from tests.support import adult, unique


def test_concurrent_deposits_never_pass_a_limit_together(ledger, database_url, clock, random_bytes):
    other = build_ledger(database_url, clock, random_bytes)  # a second server process's Application, its own cache
    try:
        player_id = unique("player")
        ledger.register_player(player_id, adult())
        ledger.set_limits(player_id, {"deposit_daily": Decimal("100.00")})
        outcomes: list[str] = []
        lock = threading.Lock()
        start = threading.Barrier(12)

        def deposit(app) -> None:  # type: ignore[no-untyped-def]
            start.wait()
            try:
                app.move_funds(FundsRequest(player_id, "deposit", unique("tx"), Decimal("30.00"), "CAD"))
                outcome = "credited"
            except DepositLimitExceeded:
                outcome = "refused"
            with lock:
                outcomes.append(outcome)

        threads = [threading.Thread(target=deposit, args=(ledger if n % 2 else other,)) for n in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes) == ["credited"] * 3 + ["refused"] * 9
        assert ledger.get_player(player_id).balance == Decimal("90.00")
        assert ledger.get_limits(player_id).used["deposit_daily"].used == Decimal("90.00")
    finally:
        other.close()
