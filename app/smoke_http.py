"""The smoke test's HTTP client (``requests``): the API key on every back-office call, an ``X-Request-Id`` per
call (kept on its retries), a bounded retry of what the API calls retryable, and every failure turned into one
line that names the API's error code, status and message."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any, Collection, Mapping, Sequence

import requests

RETRY_ATTEMPTS = 3
LONGEST_RETRY_WAIT_MS = 5_000  # a retryable error asking for a longer wait (a full daily cap) fails the step instead
DEFAULT_RETRY_WAIT_MS = 1_000
REASON_LENGTH = 300
OS_REASON = re.compile(r"\[Errno -?\d+\][^'\")]*")

Params = Mapping[str, str] | Sequence[tuple[str, str]]


class CallFailed(Exception):
    """A call that did not answer as its step needs. ``reason`` is the line to print; ``code`` the API's error code."""

    def __init__(self, reason: str, code: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.code = code


class Unreachable(Exception):
    """The base URL does not answer as a spinledger deployment does."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any


@dataclass(frozen=True)
class RetryableFailure:
    failure: CallFailed
    wait_seconds: float


class Api:
    """Calls of one smoke run against ``base_url``."""

    def __init__(self, base_url: str, api_key: str, run_id: str, timeout_seconds: float = 10.0):
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._run_id = run_id
        self._timeout = timeout_seconds
        self._calls = 0
        self._session = requests.Session()

    def close(self) -> None:
        self._session.close()

    def probe(self) -> None:
        """``GET /healthz``, without a key: ``Unreachable`` unless it answers ``{"status": "ok"}``."""
        url = f"{self.base_url}/healthz"
        try:
            response = self._session.get(url, timeout=self._timeout)
        except requests.RequestException as error:
            raise Unreachable(f"cannot reach {url}: {short(error)}") from None
        if response.status_code != 200 or parsed(response) != {"status": "ok"}:
            raise Unreachable(f"{url} answered HTTP {response.status_code}, not spinledger's {{\"status\": \"ok\"}}: is the base URL right?")

    def call(self, method: str, path: str, *, expect: Collection[int], body: Any = None, params: Params | None = None,
             token: str | None = None, request_id: str | None = None) -> Answer:
        """The answer when its status is one of ``expect``; else ``CallFailed``, after retrying what may be retried."""
        headers = {"Authorization": f"Bearer {token or self._api_key}", "X-Request-Id": request_id or self._next_request_id()}
        failure = CallFailed(f"{method} {path} was not sent")
        for attempt in range(1, RETRY_ATTEMPTS + 1):
            outcome = self._attempt(method, path, expect, body, params, headers)
            if isinstance(outcome, Answer):
                return outcome
            failure = outcome.failure
            if attempt < RETRY_ATTEMPTS:
                time.sleep(outcome.wait_seconds)
        raise failure

    def _attempt(self, method: str, path: str, expect: Collection[int], body: Any, params: Params | None,
                 headers: dict[str, str]) -> Answer | RetryableFailure:
        try:
            response = self._session.request(method, f"{self.base_url}{path}", json=body, params=params, headers=headers,
                                             timeout=self._timeout)
        except requests.RequestException as error:
            return RetryableFailure(CallFailed(f"no answer to {method} {path}: {short(error)}"), DEFAULT_RETRY_WAIT_MS / 1000)
        if response.status_code in expect:
            return Answer(response.status_code, parsed(response))
        failure = failure_of(response)
        wait_ms = retry_wait_ms(response)
        if wait_ms is None:
            raise failure
        return RetryableFailure(failure, wait_ms / 1000)

    def _next_request_id(self) -> str:
        self._calls += 1
        return f"{self._run_id}-{self._calls:02d}"


def parsed(response: requests.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def error_envelope(response: requests.Response) -> dict[str, Any] | None:
    body = parsed(response)
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else None


def failure_of(response: requests.Response) -> CallFailed:
    """``CODE (HTTP 503): message [field f]`` from the API's error envelope, or the status and the body's start."""
    error = error_envelope(response)
    if error is None:
        text = response.text.strip().replace("\n", " ")[:REASON_LENGTH]
        return CallFailed(f"HTTP {response.status_code} without the API's error envelope: {text or '(empty body)'}")
    code = str(error.get("code"))
    field = f" [field {error['field']}]" if error.get("field") else ""
    return CallFailed(f"{code} (HTTP {response.status_code}): {error.get('message', '')}{field}"[:REASON_LENGTH], code)


def retry_wait_ms(response: requests.Response) -> float | None:
    """How long to wait before sending the call again, when the API says it may be retried soon; else ``None``."""
    error = error_envelope(response)
    if error is None or error.get("retryable") is not True:
        return None
    wait = error.get("retryAfterMs") or DEFAULT_RETRY_WAIT_MS
    return wait if isinstance(wait, (int, float)) and wait <= LONGEST_RETRY_WAIT_MS else None


def short(error: Exception) -> str:
    """A ``requests`` exception in one line: its class and the operating system's reason (``[Errno 111] Connection
    refused``) when its long text has one, else the start of that text."""
    text = str(error)
    reason = OS_REASON.search(text)
    return f"{type(error).__name__} ({reason.group(0).strip()})" if reason else f"{type(error).__name__}: {text}"[:REASON_LENGTH]
