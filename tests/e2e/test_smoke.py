"""``spinledger smoke`` as the deploy pipeline runs it: the installed command, over HTTP, against a real
``spinledger serve`` and ``spinledger worker`` on a database of the module's own (a game's maintenance is the
whole database's)."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest
import requests

from tests.e2e.conftest import SYNTHETIC_PLAYERS, Server, free_port
from tests.support import ADMIN, API_KEYS, GAME, OPERATOR, scratch_database

SPINLEDGER = Path(sys.executable).with_name("spinledger")
SMOKE_KEY = "test-smoke-key"
SMOKE_KEYS = {**API_KEYS, SMOKE_KEY: {"name": "smoke", "scopes": ["promotions:write", "players:write", "awards:write", "compliance"]}}
STEPS = ["define promotion", "define player", "award free spin", "open session", "play free spin", "award completed",
         "events recorded"]
WEBHOOK_STEPS = ["define promotion", "define player", "subscribe webhook", "award free spin", "open session", "play free spin",
                 "award completed", "events recorded", "webhook delivered", "unsubscribe webhook"]
STEP_LINE = re.compile(r"^(ok|FAIL|skip) +(\S+(?: \S+)*)(?: +(\d+) ms)?(?:  (.*))?$")
MAINTENANCE_MESSAGE = "Crystal Forge is being updated by the smoke test's test"
MAINTENANCE_SPREADS_SECONDS = 1.2  # every server process reads a game's maintenance at most once a second


@pytest.fixture(scope="module")
def deployment(server_url: str) -> Iterator[Server]:
    with scratch_database(server_url, "spinledger_smoke") as url:
        env = {**SYNTHETIC_PLAYERS, "WEBHOOK_ALLOW_PRIVATE": "true", "SPINLEDGER_API_KEYS": json.dumps(SMOKE_KEYS)}
        running = Server(url, env=env)
        yield running
        running.stop()


def smoke(base_url: str, *flags: str, key: str = SMOKE_KEY) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SPINLEDGER), "smoke", "--base-url", base_url, "--api-key", key, *flags],
                          capture_output=True, text=True, timeout=180)


def steps_of(output: str) -> list[tuple[str, str]]:
    """(outcome, step name) of each step line, in order."""
    return [(found.group(1), found.group(2)) for line in output.splitlines() if (found := STEP_LINE.match(line))]


def detail_of(output: str, step: str) -> str:
    return next(found.group(4) or "" for line in output.splitlines() if (found := STEP_LINE.match(line)) and found.group(2) == step)


def set_maintenance(server: Server, active: bool, message: str) -> None:
    answer = requests.put(f"{server.base}/api/v1/games/{GAME}/maintenance", json={"active": active, "message": message},
                          headers=OPERATOR, timeout=10)
    assert answer.status_code == 200, answer.text
    time.sleep(MAINTENANCE_SPREADS_SECONDS)


def test_smoke_passes_twice_against_a_running_deployment(deployment):
    runs = [smoke(deployment.base), smoke(deployment.base)]

    for run in runs:
        assert run.returncode == 0, run.stdout + run.stderr
        assert steps_of(run.stdout) == [("ok", step) for step in STEPS]
        assert re.search(r"^smoke passed: 7 steps ok in \d+ ms$", run.stdout, re.MULTILINE), run.stdout
        assert run.stderr == ""
    assert detail_of(runs[1].stdout, "define promotion") == "smoke-promo (already defined)"
    players = [detail_of(run.stdout, "define player") for run in runs]
    assert players[0] != players[1], "each run has a player of its own"
    promotion = requests.get(f"{deployment.base}/api/v1/promotions/smoke-promo", headers=ADMIN, timeout=10).json()
    assert promotion["test"] is True and promotion["spins_reserved"] >= 2
    for player_id in players:
        player = requests.get(f"{deployment.base}/api/v1/players/{player_id}", headers=ADMIN, timeout=10).json()
        assert player["test"] is True
        awards = requests.get(f"{deployment.base}/api/v1/players/{player_id}/awards", headers=ADMIN, timeout=10).json()["data"]
        assert [(a["promo_id"], a["status"], a["spins_used"]) for a in awards] == [("smoke-promo", "completed", 1)]


def test_smoke_verifies_the_signed_webhook_of_its_award_on_its_own_receiver(deployment):
    receiver = f"http://127.0.0.1:{free_port()}/smoke-webhook"

    run = smoke(deployment.base, "--webhook-receiver", receiver)

    assert run.returncode == 0, run.stdout + run.stderr
    assert steps_of(run.stdout) == [("ok", step) for step in WEBHOOK_STEPS]
    assert detail_of(run.stdout, "webhook delivered").endswith("signature verified")
    assert "smoke passed: 10 steps ok" in run.stdout
    subscriptions = requests.get(f"{deployment.base}/api/v1/webhooks?limit=100", headers=ADMIN, timeout=10).json()["data"]
    assert [s for s in subscriptions if s["url"] == receiver] == [], "the run's subscription was deleted"


def test_smoke_fails_at_the_spin_and_skips_the_rest_when_the_game_is_under_maintenance(deployment):
    receiver = f"http://127.0.0.1:{free_port()}/smoke-webhook"
    set_maintenance(deployment, True, MAINTENANCE_MESSAGE)
    try:
        run = smoke(deployment.base, "--webhook-receiver", receiver)
    finally:
        set_maintenance(deployment, False, "the smoke test's test is over")

    assert run.returncode == 1, run.stdout + run.stderr
    assert steps_of(run.stdout) == [
        ("ok", "define promotion"), ("ok", "define player"), ("ok", "subscribe webhook"), ("ok", "award free spin"),
        ("ok", "open session"), ("FAIL", "play free spin"), ("skip", "award completed"), ("skip", "events recorded"),
        ("skip", "webhook delivered"), ("ok", "unsubscribe webhook"),
    ]
    assert detail_of(run.stdout, "play free spin").startswith(f"GAME_UNDER_MAINTENANCE (HTTP 503): {MAINTENANCE_MESSAGE}")
    summary = run.stdout.splitlines()[-1]
    assert summary.startswith('smoke FAILED at step "play free spin": GAME_UNDER_MAINTENANCE (HTTP 503)'), summary
    assert "(6 ok, 1 failed, 3 skipped" in summary


def test_smoke_names_the_step_and_the_scope_when_its_key_lacks_one(deployment):
    run = smoke(deployment.base, key="test-admin-key")  # every scope but compliance

    assert run.returncode == 1, run.stdout + run.stderr
    assert steps_of(run.stdout) == [("ok", step) for step in STEPS[:-1]] + [("FAIL", "events recorded")]
    assert detail_of(run.stdout, "events recorded").startswith("FORBIDDEN (HTTP 403)")
    assert "the step needs compliance" in detail_of(run.stdout, "events recorded")
    assert 'smoke FAILED at step "events recorded": FORBIDDEN' in run.stdout


def test_smoke_exits_2_with_one_line_when_the_base_url_does_not_answer():
    run = smoke(f"http://127.0.0.1:{free_port()}")

    assert run.returncode == 2
    assert run.stdout == ""
    assert len(run.stderr.splitlines()) == 1 and "Traceback" not in run.stderr
    assert run.stderr.startswith("spinledger smoke: cannot reach http://127.0.0.1:") and "Connection refused" in run.stderr


def test_smoke_exits_2_with_one_line_when_it_cannot_listen_on_the_webhook_receivers_port():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = smoke(f"http://127.0.0.1:{free_port()}", "--webhook-receiver", f"http://127.0.0.1:{port}/hook")

    assert run.returncode == 2
    assert run.stdout == ""
    assert run.stderr == f"spinledger smoke: cannot listen on 127.0.0.1:{port} for --webhook-receiver: Address already in use\n"


def test_smoke_refuses_an_https_webhook_receiver_it_could_not_serve():
    run = smoke("http://127.0.0.1:8000", "--webhook-receiver", "https://127.0.0.1:8443/hook")

    assert run.returncode == 2
    assert run.stderr.startswith("spinledger smoke: --webhook-receiver must be a plain http:// URL")
