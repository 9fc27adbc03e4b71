"""The spin protocol through a real gunicorn server with two worker processes."""

from __future__ import annotations

import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import requests

from tests.fixtures.seed001 import validator
from tests.support import ADMIN, FakeClock, unique


def player_with_session(server, amount="500.00"):
    player_id = unique("player")
    requests.put(f"{server.base}/api/v1/players/{player_id}", json={"region": "CA-QC", "birth_date": "1990-04-01", "currency": "CAD"}, headers=ADMIN, timeout=10).raise_for_status()
    requests.post(f"{server.base}/api/v1/players/{player_id}/deposits", json={"transaction_id": unique("tx"), "amount": amount, "currency": "CAD"}, headers=ADMIN, timeout=10).raise_for_status()
    token = requests.post(f"{server.base}/api/v1/sessions", json={"player_id": player_id}, headers=ADMIN, timeout=10).json()["token"]
    return player_id, {"Authorization": f"Bearer {token}"}


def play(server, session, path, body, request_id):
    return requests.post(f"{server.base}{path}", json=body, headers={**session, "X-Request-Id": request_id}, timeout=30)


def spin_until_answered(server, session, request_id):
    """A game client's loop: retry a retryable error with the same X-Request-Id; if a free-spins block
    is in play (another spin of this session triggered it), play it out first."""
    for _ in range(500):
        response = play(server, session, "/api/v1/game/spin", {"betAmount": "1.00", "currency": "CAD"}, request_id)
        code = response.json()["error"]["code"] if response.status_code != 200 else None
        if code == "BONUS_ROUND_ACTIVE":
            state = requests.get(f"{server.base}/api/v1/game/state", headers=session, timeout=10).json()
            if state["bonusState"]:
                play(server, session, "/api/v1/game/bonus/spin", {"blockId": state["bonusState"]["blockId"]}, str(uuid.uuid4()))
        elif code != "SPIN_IN_PROGRESS":
            return response
    raise AssertionError("never settled")


def settled_spins(database_url, player_id):
    """The player's SpinSettled records, in the order the event store recorded them."""
    from app.bootstrap import build_ledger
    from domain.player import Player

    ledger = build_ledger(database_url, FakeClock(), os.urandom)
    try:
        return [e.spin for e in ledger.events.get(Player.stream_id(player_id)) if type(e).__name__ == "SpinSettled"]
    finally:
        ledger.close()


def test_32_concurrent_spins_on_one_session_settle_once_per_request_id_with_an_exact_balance(server, database_url):
    player_id, session = player_with_session(server)
    request_ids = [str(uuid.uuid4()) for _ in range(8)]
    with ThreadPoolExecutor(max_workers=32) as pool:
        responses = list(pool.map(lambda i: spin_until_answered(server, session, request_ids[i % 8]), range(32)))
    assert [r.status_code for r in responses] == [200] * 32, [r.json() for r in responses if r.status_code != 200][:2]
    by_id: dict[str, set[bytes]] = {}
    for index, response in enumerate(responses):
        by_id.setdefault(request_ids[index % 8], set()).add(response.content)
    assert all(len(bodies) == 1 for bodies in by_id.values())  # every copy of a request id got the same spin

    spins = settled_spins(database_url, player_id)
    cash = [s for s in spins if s["funding"] == "cash"]
    assert sorted(s["request_id"] for s in cash) == sorted(request_ids)  # exactly one settlement per request id
    balance = Decimal("500.00")
    for spin in spins:  # one chain: every spin starts from the balance the previous one left
        assert spin["balance_before"] == balance
        balance = spin["balance_before"] - spin["debited"] + spin["total_win"]
        assert spin["balance_after"] == balance
    state = requests.get(f"{server.base}/api/v1/game/state", headers=session, timeout=10).json()
    assert Decimal(state["balance"]) == balance


def test_a_concurrent_second_spin_is_told_a_spin_is_in_progress(server):
    _, session = player_with_session(server)

    def once(_):
        return requests.post(
            f"{server.base}/api/v1/game/spin", json={"betAmount": "1.00", "currency": "CAD"},
            headers={**session, "X-Request-Id": str(uuid.uuid4())}, timeout=30,
        )

    seen = set()
    for _ in range(20):  # concurrency is not deterministic: try a few bursts until one collides
        with ThreadPoolExecutor(max_workers=8) as pool:
            responses = list(pool.map(once, range(8)))
        # the real generator may trigger free spins: the burst's later spins are then refused for that
        # reason, and the block is played out before the next burst
        collided = [r.json() for r in responses if r.status_code == 409 and r.json()["error"]["code"] != "BONUS_ROUND_ACTIVE"]
        seen |= {r.status_code for r in responses if r.status_code != 409} | ({409} if collided else set())
        for body in collided:
            assert body["error"]["code"] == "SPIN_IN_PROGRESS" and body["error"]["retryable"]
            assert body["error"]["retryAfterMs"] == 2000
            assert list(validator("ErrorResponse").iter_errors(body)) == []
        play_out_any_block(server, session)
        if 409 in seen:
            break
    assert seen == {200, 409}


def play_out_any_block(server, session):
    while (block := requests.get(f"{server.base}/api/v1/game/state", headers=session, timeout=10).json()["bonusState"]) is not None:
        response = play(server, session, "/api/v1/game/bonus/spin", {"blockId": block["blockId"]}, str(uuid.uuid4()))
        assert response.status_code == 200, response.json()
