"""The API's one error object, as an exception."""

from __future__ import annotations

import email.utils
import json
import time
from typing import Any

import requests


class SpinledgerError(Exception):
    """A call the API refused, or that failed: the API's error envelope, typed.

    ``status`` is the HTTP status, ``code`` the API's error code (``VALIDATION_ERROR``, ``RATE_LIMIT``, ...),
    ``field`` the request field it is about (or ``None``), ``request_id`` the ``X-Request-Id`` of the call (quote it
    to the operator: it finds the call in their logs and raw audit log), ``retry_after`` the seconds the API asks you
    to wait before sending it again (``retryAfterMs`` / ``Retry-After``; ``None`` when it says nothing).
    ``retryable`` is the envelope's own flag. ``idempotency_key`` is the key the call was sent with, if any: after a
    failure, look it up (``Client.get_award_by_key``) or send the call again with it.
    """

    def __init__(
        self,
        status: int | None,
        code: str,
        message: str,
        field: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        *,
        retryable: bool = False,
        body: Any = None,
        idempotency_key: str | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.request_id = request_id
        self.retry_after = retry_after
        self.retryable = retryable
        self.body = body
        self.idempotency_key = idempotency_key

    def __reduce__(self) -> tuple[Any, ...]:  # picklable (across processes), with every attribute
        return (_rebuild, (type(self), dict(vars(self)), self.message))

    def __str__(self) -> str:
        where = f"HTTP {self.status}" if self.status is not None else "no answer"
        field = f" [field {self.field}]" if self.field else ""
        request = f" (request {self.request_id})" if self.request_id else ""
        return f"{self.code} ({where}): {self.message}{field}{request}"

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, message={self.message!r}, "
                f"field={self.field!r}, request_id={self.request_id!r}, retry_after={self.retry_after!r})")

    @classmethod
    def from_response(cls, response: requests.Response, request_id: str, idempotency_key: str | None = None) -> SpinledgerError:
        """The envelope ``{"error": {...}}`` of an answer; an answer without one (a proxy's 502 page) gets the code
        ``HTTP_<status>`` and the start of its body as the message."""
        header_wait = retry_after_header(response.headers.get("Retry-After"))
        try:
            body = json.loads(response.content) if response.content else None
        except ValueError:
            body = None
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict) or not isinstance(error.get("code"), str):
            text = response.text.strip().replace("\n", " ")[:300] or response.reason or "(empty body)"
            return cls(response.status_code, f"HTTP_{response.status_code}", text, None,
                       response.headers.get("X-Request-Id") or request_id, header_wait,
                       retryable=response.status_code in (429, 502, 503, 504), body=body, idempotency_key=idempotency_key)
        wait_ms = error.get("retryAfterMs")
        wait = wait_ms / 1000 if isinstance(wait_ms, (int, float)) and not isinstance(wait_ms, bool) else header_wait
        return cls(response.status_code, error["code"], str(error.get("message", "")), error.get("field"),
                   error.get("requestId") or response.headers.get("X-Request-Id") or request_id, wait,
                   retryable=error.get("retryable") is True, body=body, idempotency_key=idempotency_key)

    @property
    def has_envelope(self) -> bool:
        return isinstance(self.body, dict) and isinstance(self.body.get("error"), dict)


class SpinledgerConnectionError(SpinledgerError):
    """No answer (connection refused or cut, a timeout), after the retries that were safe. The call may or may not
    have been recorded: with an ``idempotency_key``, send it again with that key, or look the key up."""

    def __init__(self, message: str, request_id: str, idempotency_key: str | None = None):
        super().__init__(None, "NO_RESPONSE", message, None, request_id, None, retryable=True,
                         idempotency_key=idempotency_key)


def _rebuild(cls: type[SpinledgerError], attributes: dict[str, Any], message: str) -> SpinledgerError:
    error = Exception.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(attributes)
    return error


def retry_after_header(value: str | None) -> float | None:
    """``Retry-After`` in seconds: a number of seconds, or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
