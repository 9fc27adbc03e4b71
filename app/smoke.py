"""``spinledger smoke --base-url URL --api-key KEY [--webhook-receiver URL]``: the deploy pipeline's promotion smoke
test against a running deployment, over HTTP only.

Each step prints one line (outcome, name, elapsed time, what it found), then a summary line:

1. ``define promotion``: ``PUT /api/v1/promotions/smoke-promo`` (``--promo-id``) with ``"test": true`` and fixed
   terms (2020-01-01 to 2099-12-31, Crystal Forge at 0.20, a billion-spin budget, no caps), so that every run
   sends the same terms: the first run defines it (201), every later one finds it unchanged (200).
2. ``define player``: ``PUT /api/v1/players/smoke-<UTC time>-<random>`` with ``"test": true``, a player of its
   own each run, so that caps and the risk review's counts never build up across runs.
3. ``award free spin``: ``POST /api/v1/awards``, one spin, a fresh idempotency key.
4. ``open session``: ``POST /api/v1/sessions``.
5. ``play free spin``: ``POST /api/v1/game/spin`` with the award; a free-spins block it triggers is played to its
   end (``POST /api/v1/game/bonus/spin``).
6. ``award completed``: ``GET /api/v1/awards/{award_id}`` says ``completed``, its one spin used.
7. ``events recorded``: ``GET /api/v1/events?award_id=...`` lists the award's ``FreeSpinsAwarded`` and the spin's
   ``SpinSettled`` (waiting up to 30 s for the event index, which the worker keeps).

The test marks keep this data out of liability and reconciliation's money totals; the events stay in the log.

**The webhook step** (only with ``--webhook-receiver URL``, a plain ``http://`` URL). The smoke test is its own
receiver: before anything else it listens on the URL's host and port (a ``http.server`` in a thread; on every
interface when the host is a name this machine does not hold, as behind NAT), so a port it cannot take is a
usage error (exit 2). After ``define player`` it subscribes the URL to ``FreeSpinsAwarded``
(``subscribe webhook``; the description names the run). A subscription's secret is shown only when it is made,
so one is made per run rather than reused. After ``events recorded``, ``webhook delivered`` waits up to 30 s
for the delivery of this run's award: the one whose ``Webhook-Id`` is the ``uuid5`` of the subscription and
the award's event, whose signature verifies under the secret (``app.webhooks.signature``, the receiver kit)
and whose body names the award. Deliveries of other subscriptions to the same URL (a killed run's) fail that
signature, are answered 400 and ignored. Whatever happened, ``unsubscribe webhook`` then deletes the run's
subscription (``DELETE /api/v1/webhooks/{id}``, which also cancels what it has not delivered). The deployment's
worker must run, and reach the URL (``WEBHOOK_ALLOW_PRIVATE=true`` for a loopback or private address).

Exit 0 when every step passes; 1 at the first that fails (its line and the summary give the API's error code,
status and message; a ``403 FORBIDDEN`` names the scopes the step needs; the steps after it are printed as
skipped); 2 for a usage error or a base URL that does not answer as spinledger, in one line on standard error.
The key needs ``promotions:write``, ``players:write``, ``awards:write`` and ``compliance``.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Callable, TextIO
from urllib.parse import urlsplit

from app.smoke_http import Answer, Api, CallFailed, Unreachable
from app.smoke_report import FAILED, OK, SKIPPED, StepResult, passed, step_line, summary_line
from app.smoke_webhook import WebhookListener

GAME = "crystal-forge-v1"
DEFAULT_PROMO_ID = "smoke-promo"
API_KEY_VARIABLE = "SPINLEDGER_SMOKE_API_KEY"
EVENTS_WAIT_SECONDS = 30.0
WEBHOOK_WAIT_SECONDS = 30.0
POLL_SECONDS = 0.25
MOST_BONUS_SPINS = 1_000  # a block's spins, retriggers included, are far fewer: more means the block never ends
SMOKE_SCOPES = ("promotions:write", "players:write", "awards:write", "compliance")
AWARD_EVENT = "FreeSpinsAwarded"
SPIN_EVENT = "SpinSettled"

PROMOTION_TERMS: dict[str, Any] = {
    "name": "spinledger smoke test",
    "award_type": "FREE_SPINS",
    "game_codes": [GAME],
    "max_spins_per_award": 1,
    "bet_per_spin": "0.20",
    "currency": "CAD",
    "starts_at": "2020-01-01T00:00:00Z",
    "ends_at": "2099-12-31T00:00:00Z",
    "budget_spins": 1_000_000_000,
    "per_player_daily_limit": None,
    "per_player_weekly_limit": None,
    "allowed_regions": ["CA"],
    "award_ttl_seconds": 86_400,
    "test": True,
}
PLAYER_PROFILE: dict[str, Any] = {"region": "CA-ON", "birth_date": "1990-04-01", "currency": "CAD", "test": True}


class StepFailed(Exception):
    """A step's check that did not hold: the reason is printed on its line."""


class UsageError(Exception):
    """Exit 2, with this line."""


@dataclass
class SmokeRun:
    """One run's settings and what each step learns for the next."""

    api: Api
    promo_id: str
    run_id: str
    listener: WebhookListener | None = None
    award_id: str = ""
    token: str = ""
    spin_id: str = ""
    award_event_id: str = ""
    subscription_id: str = ""
    subscription_secret: str = field(default="", repr=False)

    @property
    def player_id(self) -> str:
        return self.run_id


@dataclass(frozen=True)
class Step:
    name: str
    scopes: tuple[str, ...]  # the key's scopes the step's calls need (any of), named when one answers 403
    action: Callable[[SmokeRun], str]  # what it found, for its line; raises CallFailed or StepFailed
    always: bool = False  # clean-up: runs after a failure too


def define_promotion(run: SmokeRun) -> str:
    answer = run.api.call("PUT", f"/api/v1/promotions/{run.promo_id}", body=PROMOTION_TERMS, expect=(200, 201))
    require_test_mark(answer, "promotion")
    return f"{run.promo_id} ({'defined' if answer.status == 201 else 'already defined'})"


def define_player(run: SmokeRun) -> str:
    answer = run.api.call("PUT", f"/api/v1/players/{run.player_id}", body=PLAYER_PROFILE, expect=(200, 201))
    require_test_mark(answer, "player")
    return run.player_id


def require_test_mark(answer: Answer, what: str) -> None:
    if not isinstance(answer.body, dict) or answer.body.get("test") is not True:
        raise StepFailed(f"the {what} is not marked test: the answer's \"test\" is {body_field(answer, 'test')!r}")


def award_free_spin(run: SmokeRun) -> str:
    request = {
        "request_id": f"{run.run_id}-award", "player_id": run.player_id, "promo_id": run.promo_id, "award_type": "FREE_SPINS",
        "award_value": 1, "game_code": GAME, "issued_at": utc_now_text(), "idempotency_key": f"{run.run_id}-award",
    }
    answer = run.api.call("POST", "/api/v1/awards", body=request, expect=(200, 201))  # 200: a retry's replay
    run.award_id = str(body_field(answer, "award_id"))
    return f"award {run.award_id}"


def open_session(run: SmokeRun) -> str:
    answer = run.api.call("POST", "/api/v1/sessions", body={"player_id": run.player_id}, expect=(201,))
    run.token = str(body_field(answer, "token"))
    return f"{body_field(answer, 'currency')} session until {body_field(answer, 'expires_at')}"


def play_free_spin(run: SmokeRun) -> str:
    spin = game_call(run, "/api/v1/game/spin", {"awardId": run.award_id}, "spin")
    if spin.get("funding") != "award" or spin.get("awardId") != run.award_id:
        raise StepFailed(f"the spin was funded by {spin.get('funding')!r} of award {spin.get('awardId')!r}, not by award {run.award_id}")
    run.spin_id = str(spin["spinId"])
    bonus_spins = play_block(run, spin["bonusData"]["blockId"]) if spin.get("bonusTriggered") else []
    total_win = sum_money([spin, *bonus_spins])
    block = f" + {len(bonus_spins)} bonus spins" if bonus_spins else ""
    return f"spin {run.spin_id}{block}, won {total_win} {spin.get('currency')}"


def play_block(run: SmokeRun, block_id: str) -> list[dict[str, Any]]:
    """Every spin of the free-spins block the award's spin triggered, to its last."""
    spins: list[dict[str, Any]] = []
    while len(spins) < MOST_BONUS_SPINS:
        spin = game_call(run, "/api/v1/game/bonus/spin", {"blockId": block_id}, f"bonus-{len(spins) + 1}")
        spins.append(spin)
        if spin.get("state") == "bonus_complete":
            return spins
    raise StepFailed(f"the free-spins block {block_id} had not ended after {MOST_BONUS_SPINS} spins")


def game_call(run: SmokeRun, path: str, body: dict[str, Any], request_name: str) -> dict[str, Any]:
    return object_body(run.api.call("POST", path, body=body, token=run.token, request_id=f"{run.run_id}-{request_name}", expect=(200,)))


def sum_money(spins: list[dict[str, Any]]) -> str:
    return str(sum((Decimal(str(spin.get("totalWin", "0"))) for spin in spins), Decimal("0.00")))


def award_completed(run: SmokeRun) -> str:
    award = object_body(run.api.call("GET", f"/api/v1/awards/{run.award_id}", expect=(200,)))
    status, used, remaining = (award.get(name) for name in ("status", "spins_used", "spins_remaining"))
    if status != "completed" or used != 1 or remaining != 0:
        raise StepFailed(f"the award is {status!r} with {used!r} spins used and {remaining!r} left: expected completed, 1 used, 0 left")
    return f"completed, {used} of {award.get('spins_awarded')} spins used"


def events_recorded(run: SmokeRun) -> str:
    """Waits for the event index to hold the award's event and the spin's."""
    deadline = time.monotonic() + EVENTS_WAIT_SECONDS
    while True:
        events = award_events(run)
        award_event = next((e for e in events if e.get("type") == AWARD_EVENT), None)
        spin_event = next((e for e in events if e.get("type") == SPIN_EVENT and spin_of(e) == run.spin_id), None)
        if award_event is not None and spin_event is not None:
            run.award_event_id = str(award_event["event_id"])
            return f"{AWARD_EVENT} at position {award_event['position']}, {SPIN_EVENT} at {spin_event['position']}"
        if time.monotonic() >= deadline:
            missing = [name for name, found in ((AWARD_EVENT, award_event), (SPIN_EVENT, spin_event)) if found is None]
            raise StepFailed(f"GET /api/v1/events?award_id={run.award_id} lists no {' and no '.join(missing)} after "
                             f"{EVENTS_WAIT_SECONDS:.0f} s (is the worker, which keeps the event index, running?)")
        time.sleep(POLL_SECONDS)


def award_events(run: SmokeRun) -> list[dict[str, Any]]:
    """Every event of the award's of the two types, page after page."""
    events: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        params = [("award_id", run.award_id), ("type", AWARD_EVENT), ("type", SPIN_EVENT), ("limit", "1000")]
        page = object_body(run.api.call("GET", "/api/v1/events", params=params + ([("after", after)] if after else []), expect=(200,)))
        events.extend(page.get("data", []))
        after = page.get("next_cursor")
        if not page.get("has_more") or not after:
            return events


def spin_of(event: dict[str, Any]) -> str | None:
    spin = event.get("payload", {}).get("spin")
    return spin.get("spin_id") if isinstance(spin, dict) else None


def subscribe_webhook(run: SmokeRun) -> str:
    assert run.listener is not None
    request = {"url": run.listener.url, "event_types": [AWARD_EVENT], "description": f"spinledger smoke {run.run_id}"}
    answer = run.api.call("POST", "/api/v1/webhooks", body=request, expect=(201,))
    run.subscription_id = str(body_field(answer, "id"))
    run.subscription_secret = str(body_field(answer, "secret"))
    run.listener.expect_secret(run.subscription_secret)
    return f"subscription {run.subscription_id} to {run.listener.url}"


def webhook_delivered(run: SmokeRun) -> str:
    assert run.listener is not None
    webhook_id = str(uuid.uuid5(uuid.UUID(run.subscription_id), run.award_event_id))
    delivery = run.listener.wait_for(webhook_id, WEBHOOK_WAIT_SECONDS)
    if delivery is None:
        raise StepFailed(f"no delivery {webhook_id} reached {run.listener.url} in {WEBHOOK_WAIT_SECONDS:.0f} s "
                         f"({run.listener.received()} other requests did); the service says: {delivery_status(run, webhook_id)}")
    if delivery.problem is not None:
        raise StepFailed(f"delivery {webhook_id} does not verify under the subscription's secret: {delivery.problem}")
    body = delivery.body if isinstance(delivery.body, dict) else {}
    if (body.get("type"), body.get("stream_id"), body.get("event_id")) != (AWARD_EVENT, run.award_id, run.award_event_id):
        raise StepFailed(f"delivery {webhook_id} carries {body.get('type')!r} of stream {body.get('stream_id')!r}, "
                         f"not the {AWARD_EVENT} of award {run.award_id}")
    return f"delivery {webhook_id}, signature verified"


def delivery_status(run: SmokeRun, webhook_id: str) -> str:
    """What the service knows of the delivery, for a failure's line: whether it was enqueued, tried, refused."""
    try:
        page = object_body(run.api.call("GET", f"/api/v1/webhooks/{run.subscription_id}/deliveries", params={"limit": "100"}, expect=(200,)))
    except (CallFailed, StepFailed) as failure:
        return f"its deliveries could not be read: {failure}"
    delivery = next((d for d in page.get("data", []) if d.get("id") == webhook_id), None)
    if delivery is None:
        return "nothing enqueued yet (is `spinledger worker` running?)"
    return (f"{delivery.get('status')}, {delivery.get('attempts')} attempts, last answer {delivery.get('last_status')}, "
            f"last error {delivery.get('last_error')!r}")


def unsubscribe_webhook(run: SmokeRun) -> str:
    if not run.subscription_id:
        raise NothingToDo("no subscription was made")
    run.api.call("DELETE", f"/api/v1/webhooks/{run.subscription_id}", expect=(204,))
    return f"subscription {run.subscription_id} deleted"


class NothingToDo(Exception):
    """A clean-up step with nothing to clean: printed as skipped."""


def object_body(answer: Answer) -> dict[str, Any]:
    if not isinstance(answer.body, dict):
        raise StepFailed(f"the answer (HTTP {answer.status}) is not a JSON object")
    return answer.body


def body_field(answer: Answer, name: str) -> Any:
    if not isinstance(answer.body, dict) or name not in answer.body:
        raise StepFailed(f"the answer (HTTP {answer.status}) has no {name!r}")
    return answer.body[name]


def utc_now_text() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def steps(with_webhook: bool) -> list[Step]:
    """The steps in order; the webhook's three only when a receiver URL is given."""
    webhook_setup = [Step("subscribe webhook", ("awards:write",), subscribe_webhook)] if with_webhook else []
    webhook_check = [
        Step("webhook delivered", ("awards:write",), webhook_delivered),
        Step("unsubscribe webhook", ("awards:write",), unsubscribe_webhook, always=True),
    ] if with_webhook else []
    return [
        Step("define promotion", ("promotions:write",), define_promotion),
        Step("define player", ("players:write",), define_player),
        *webhook_setup,
        Step("award free spin", ("awards:write",), award_free_spin),
        Step("open session", ("players:write",), open_session),
        Step("play free spin", (), play_free_spin),
        Step("award completed", ("awards:read", "awards:write"), award_completed),
        Step("events recorded", ("compliance",), events_recorded),
        *webhook_check,
    ]


def run_step(step: Step, run: SmokeRun) -> StepResult:
    started = time.perf_counter()
    try:
        detail = step.action(run)
    except NothingToDo as nothing:
        return StepResult(step.name, SKIPPED, detail=str(nothing))
    except CallFailed as failure:
        return StepResult(step.name, FAILED, elapsed_since(started), failure_reason(step, failure))
    except StepFailed as failure:
        return StepResult(step.name, FAILED, elapsed_since(started), str(failure))
    except Exception as unexpected:  # an answer of a shape the step did not foresee: a failed step, not a traceback
        return StepResult(step.name, FAILED, elapsed_since(started), f"unexpected {type(unexpected).__name__}: {unexpected}")
    return StepResult(step.name, OK, elapsed_since(started), detail)


def failure_reason(step: Step, failure: CallFailed) -> str:
    if failure.code == "FORBIDDEN" and step.scopes:
        return f"{failure.reason} (the step needs {' or '.join(step.scopes)}; a smoke key needs {', '.join(SMOKE_SCOPES)})"
    return failure.reason


def run_steps(plan: list[Step], run: SmokeRun, out: TextIO) -> list[StepResult]:
    """Each step in order, its line printed as it ends; after a failure only the clean-up steps run."""
    results: list[StepResult] = []
    for step in plan:
        failed_before = any(result.outcome == FAILED for result in results)
        result = StepResult(step.name, SKIPPED) if failed_before and not step.always else run_step(step, run)
        print(step_line(result), file=out, flush=True)
        results.append(result)
    return results


def elapsed_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def new_run_id() -> str:
    """``smoke-20261118T100000Z-3f9a1c``: the player's id and the prefix of every key and request id."""
    return f"smoke-{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"


def base_url_of(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--base-url must be an http:// or https:// URL such as http://127.0.0.1:8000, got {text!r}")
    return text.rstrip("/")


def receiver_url_of(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme != "http" or not parts.hostname:
        raise UsageError(f"--webhook-receiver must be a plain http:// URL this machine can listen on, such as "
                         f"http://127.0.0.1:8765/smoke-webhook, got {text!r}")
    if parts.username is not None or parts.password is not None:
        raise UsageError("--webhook-receiver must not carry a user or password (the API refuses them)")
    try:
        parts.port
    except ValueError:
        raise UsageError(f"--webhook-receiver has no valid port: {text!r}") from None
    return text


def api_key_of(given: str | None) -> str:
    key = given or os.environ.get(API_KEY_VARIABLE, "")
    if not key:
        raise UsageError(f"give the API key with --api-key KEY or in {API_KEY_VARIABLE}")
    return key


def start_listener(url: str) -> WebhookListener:
    try:
        return WebhookListener(url)
    except OSError as error:
        parts = urlsplit(url)
        raise UsageError(f"cannot listen on {parts.hostname}:{parts.port or 80} for --webhook-receiver: {error.strerror or error}") from None


def smoke(base_url: str, api_key: str, promo_id: str, receiver_url: str | None, out: TextIO) -> int:
    """Runs the steps against the deployment and prints them; raises ``UsageError`` before any is run."""
    started = time.perf_counter()
    run_id = new_run_id()
    listener = start_listener(receiver_url) if receiver_url else None
    api = Api(base_url, api_key, run_id)
    try:
        api.probe()
        results = run_steps(steps(listener is not None), SmokeRun(api, promo_id, run_id, listener), out)
    except Unreachable as unreachable:
        raise UsageError(str(unreachable)) from None
    finally:
        api.close()
        if listener is not None:
            listener.close()
    print(summary_line(results, elapsed_since(started)), file=out, flush=True)
    return 0 if passed(results) else 1


def add_smoke_command(commands: Any) -> None:
    """Adds ``smoke`` to the ``spinledger`` command's subcommands."""
    parser = commands.add_parser("smoke", help="the deploy pipeline's promotion smoke test against a running deployment, over HTTP",
                                 description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", required=True, help="the deployment, e.g. http://127.0.0.1:8000")
    parser.add_argument("--api-key", help=f"a key with promotions:write, players:write, awards:write and compliance "
                                           f"(default: ${API_KEY_VARIABLE})")
    parser.add_argument("--webhook-receiver", metavar="URL",
                        help="also check a signed webhook: listen on this http:// URL's host and port and subscribe it")
    parser.add_argument("--promo-id", default=DEFAULT_PROMO_ID, help=f"the smoke promotion's id (default {DEFAULT_PROMO_ID})")


def smoke_command(args: argparse.Namespace) -> int:
    try:
        receiver = receiver_url_of(args.webhook_receiver) if args.webhook_receiver else None
        return smoke(base_url_of(args.base_url), api_key_of(args.api_key), args.promo_id, receiver, sys.stdout)
    except UsageError as usage:
        print(f"spinledger smoke: {usage}", file=sys.stderr)
        return 2
