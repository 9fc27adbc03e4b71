"""Drift alerts sent to ``ALERT_WEBHOOK_URL``: JSON, signed with HMAC-SHA256 over id, timestamp and body.

Headers: ``Webhook-Id`` (stable per alert), ``Webhook-Timestamp`` (Unix seconds) and ``Webhook-Signature``
(``v1=<hex of HMAC-SHA256(ALERT_WEBHOOK_SECRET, "<id>.<timestamp>.<body>")>``). A receiver checks the
signature in constant time, refuses old timestamps, and ignores an id it has seen.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any
from uuid import uuid5

import requests

from domain.ids import NAMESPACE

TIMEOUT_SECONDS = 5


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    message = f"{webhook_id}.{timestamp}.".encode() + body
    return "v1=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


class WebhookAlertSender:
    def __init__(self, url: str, secret: str, clock: Any):
        self.url, self.secret, self.clock = url, secret, clock

    def __call__(self, alert: dict[str, Any]) -> None:
        body = json.dumps({"type": "DriftAlertRaised", **alert}, default=str, sort_keys=True).encode()
        webhook_id = str(uuid5(NAMESPACE, f"alert:{alert['run_id']}:{alert['check']}"))
        timestamp = int(self.clock.now().timestamp())
        headers = {
            "Content-Type": "application/json",
            "Webhook-Id": webhook_id,
            "Webhook-Timestamp": str(timestamp),
            "Webhook-Signature": sign(self.secret, webhook_id, timestamp, body),
        }
        requests.post(self.url, data=body, headers=headers, timeout=TIMEOUT_SECONDS).raise_for_status()
