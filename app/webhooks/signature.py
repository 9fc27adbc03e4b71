"""Webhook signatures, both sides: how spinledger signs a delivery and how a receiver checks one.

Standard library only, so a receiver can copy this file as it is. A delivery carries three headers:

- ``Webhook-Id``: the delivery's id, the same on every retry of it (deduplicate on it);
- ``Webhook-Timestamp``: when this attempt was sent, in whole seconds since the Unix epoch;
- ``Webhook-Signature``: ``v1=<hex HMAC-SHA256>`` of ``"<id>.<timestamp>.<body>"`` under the subscription's
  secret (several space-separated signatures may come, one per secret, while a secret is rotated).

A receiver answers 2xx once it has kept the event; anything else (or no answer in 10 s) is retried.

    verifier = WebhookVerifier(secret="whsec_...")
    try:
        webhook_id = verifier.verify(request.headers, request.get_data())
    except InvalidWebhook:
        return "", 400
    if not verifier.seen(webhook_id):
        handle(json.loads(body))     # if this fails, answer 5xx: the delivery comes again
        verifier.remember(webhook_id)
    return "", 204
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from typing import Callable, Mapping

SCHEME = "v1"
TOLERANCE_SECONDS = 300  # a timestamp further than this from the receiver's clock is refused (a replay)
REMEMBER_SECONDS = 3 * 86400  # how long an id is remembered: longer than spinledger retries a delivery


class InvalidWebhook(ValueError):
    """The delivery is not one spinledger signed just now: refuse it (400) and keep nothing."""


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"{SCHEME}={digest}"


class WebhookVerifier:
    def __init__(self, secret: str, *, tolerance_seconds: int = TOLERANCE_SECONDS, clock: Callable[[], float] = time.time):
        self._secret = secret
        self._tolerance = tolerance_seconds
        self._clock = clock
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def verify(self, headers: Mapping[str, str], body: bytes) -> str:
        """The delivery's ``Webhook-Id`` if its signature is right and its timestamp recent; else ``InvalidWebhook``."""
        webhook_id, stamp, signatures = (_header(headers, name) for name in ("Webhook-Id", "Webhook-Timestamp", "Webhook-Signature"))
        try:
            timestamp = int(stamp)
        except ValueError:
            raise InvalidWebhook("Webhook-Timestamp is not a whole number of seconds") from None
        if abs(self._clock() - timestamp) > self._tolerance:
            raise InvalidWebhook(f"Webhook-Timestamp is more than {self._tolerance} s from now")
        expected = sign(self._secret, webhook_id, timestamp, body)
        # compare_digest on each: the time taken says nothing about how much of a signature matched.
        if not any(hmac.compare_digest(expected, candidate) for candidate in signatures.split()):
            raise InvalidWebhook("Webhook-Signature does not match the body")
        return webhook_id

    def seen(self, webhook_id: str) -> bool:
        """Whether a delivery with this id was handled here (``remember``) in the last ``REMEMBER_SECONDS``.
        In memory: a receiver with several processes, or that restarts, keeps the ids in its database
        instead (a unique key, written in the transaction that handles the event)."""
        with self._lock:
            at = self._seen.get(webhook_id)
            return at is not None and self._clock() - at < REMEMBER_SECONDS

    def remember(self, webhook_id: str) -> None:
        """Marks the id handled: call it once the event is kept, so that a failed handling is retried."""
        now = self._clock()
        with self._lock:
            if len(self._seen) > 100_000:
                self._seen = {k: at for k, at in self._seen.items() if now - at < REMEMBER_SECONDS}
            self._seen[webhook_id] = now


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == name.lower()), None)
    if not value:
        raise InvalidWebhook(f"{name} is missing")
    return value
