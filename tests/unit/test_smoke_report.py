"""What ``spinledger smoke`` prints, and how it reads the API's answers, without a server: the step and summary
lines, the API's error envelope turned into a line, which errors it retries, and a free-spins block the award's
spin triggers played to its end."""

from __future__ import annotations

import sys
from typing import Any

import requests

from app.smoke import SmokeRun, play_free_spin, run_steps, steps
from app.smoke_http import Answer, CallFailed, failure_of, retry_wait_ms
from app.smoke_report import FAILED, OK, SKIPPED, StepResult, passed, step_line, summary_line


def response(status: int, body: bytes) -> requests.Response:
    made = requests.Response()
    made.status_code = status
    made._content = body
    return made


def test_a_step_line_gives_the_outcome_the_name_the_elapsed_time_and_what_was_found():
    assert step_line(StepResult("define promotion", OK, 41.2, "smoke-promo (already defined)")) == (
        "ok    define promotion          41 ms  smoke-promo (already defined)")
    assert step_line(StepResult("award completed", SKIPPED)) == "skip  award completed"


def test_the_summary_names_the_first_failing_step_and_its_reason():
    results = [StepResult("define promotion", OK, 5), StepResult("play free spin", FAILED, 9, "GAME_UNDER_MAINTENANCE (HTTP 503): soon"),
               StepResult("award completed", SKIPPED)]

    assert not passed(results)
    assert summary_line(results, 120.4) == (
        'smoke FAILED at step "play free spin": GAME_UNDER_MAINTENANCE (HTTP 503): soon (1 ok, 1 failed, 1 skipped, 120 ms)')


def test_the_summary_of_a_clean_run_counts_its_steps():
    results = [StepResult("define promotion", OK, 5), StepResult("define player", OK, 7)]

    assert passed(results)
    assert summary_line(results, 12) == "smoke passed: 2 steps ok in 12 ms"


def test_an_error_envelope_becomes_its_code_status_message_and_field():
    failure = failure_of(response(400, b'{"error": {"code": "VALIDATION_ERROR", "message": "Unknown field.", "field": "test"}}'))

    assert failure.reason == "VALIDATION_ERROR (HTTP 400): Unknown field. [field test]"
    assert failure.code == "VALIDATION_ERROR"


def test_an_answer_without_the_envelope_is_shown_by_its_status_and_the_start_of_its_body():
    assert failure_of(response(502, b"<html>Bad gateway</html>")).reason == (
        "HTTP 502 without the API's error envelope: <html>Bad gateway</html>")


def test_only_errors_the_api_calls_retryable_soon_are_retried():
    assert retry_wait_ms(response(409, b'{"error": {"code": "SPIN_IN_PROGRESS", "retryable": true, "retryAfterMs": 2000}}')) == 2000
    assert retry_wait_ms(response(503, b'{"error": {"code": "SERVICE_UNAVAILABLE", "retryable": true}}')) == 1000
    assert retry_wait_ms(response(429, b'{"error": {"code": "RATE_LIMIT", "retryable": true, "retryAfterMs": 50400000}}')) is None
    assert retry_wait_ms(response(503, b'{"error": {"code": "GAME_UNDER_MAINTENANCE", "retryable": false}}')) is None


class ScriptedApi:
    """Answers each call with the next scripted body, and keeps the calls."""

    def __init__(self, *bodies: dict[str, Any]):
        self.bodies = list(bodies)
        self.calls: list[tuple[str, str, Any, str | None]] = []

    def call(self, method: str, path: str, *, body: Any = None, request_id: str | None = None, **_: Any) -> Answer:
        self.calls.append((method, path, body, request_id))
        if isinstance(self.bodies[0], CallFailed):
            raise self.bodies.pop(0)
        return Answer(200, self.bodies.pop(0))


def spin(**fields: Any) -> dict[str, Any]:
    return {"spinId": "s-1", "funding": "award", "awardId": "a-1", "totalWin": "0.00", "currency": "CAD", "bonusTriggered": False,
            "state": "idle", **fields}


def test_a_block_the_awards_spin_triggers_is_played_to_its_last_spin():
    api = ScriptedApi(
        spin(totalWin="0.40", bonusTriggered=True, bonusData={"blockId": "b-1"}, state="bonus"),
        spin(spinId="s-2", funding="bonus", totalWin="1.00", state="bonus"),
        spin(spinId="s-3", funding="bonus", totalWin="0.25", state="bonus_complete"),
    )
    run = SmokeRun(api, "smoke-promo", "smoke-run", award_id="a-1", token="t")  # type: ignore[arg-type]

    assert play_free_spin(run) == "spin s-1 + 2 bonus spins, won 1.65 CAD"
    assert [(path, body, request_id) for _, path, body, request_id in api.calls] == [
        ("/api/v1/game/spin", {"awardId": "a-1"}, "smoke-run-spin"),
        ("/api/v1/game/bonus/spin", {"blockId": "b-1"}, "smoke-run-bonus-1"),
        ("/api/v1/game/bonus/spin", {"blockId": "b-1"}, "smoke-run-bonus-2"),
    ]
    assert run.spin_id == "s-1"


def test_after_a_failure_the_later_steps_are_skipped_but_the_webhook_is_still_unsubscribed(capsys):
    api = ScriptedApi({"promo_id": "smoke-promo", "test": True}, CallFailed("FORBIDDEN (HTTP 403): no", "FORBIDDEN"), {})
    run = SmokeRun(api, "smoke-promo", "smoke-run", subscription_id="w-1")  # type: ignore[arg-type]
    plan = [step for step in steps(with_webhook=True) if step.name != "subscribe webhook"]

    results = run_steps(plan, run, sys.stdout)

    assert [(r.name, r.outcome) for r in results] == [
        ("define promotion", OK), ("define player", FAILED), ("award free spin", SKIPPED), ("open session", SKIPPED),
        ("play free spin", SKIPPED), ("award completed", SKIPPED), ("events recorded", SKIPPED), ("webhook delivered", SKIPPED),
        ("unsubscribe webhook", OK),
    ]
    assert results[1].detail == ("FORBIDDEN (HTTP 403): no (the step needs players:write; "
                                 "a smoke key needs promotions:write, players:write, awards:write, compliance)")
    assert api.calls[-1][:2] == ("DELETE", "/api/v1/webhooks/w-1")
    assert capsys.readouterr().out.splitlines()[2] == "skip  award free spin"
