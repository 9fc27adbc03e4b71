"""The smoke test's own webhook receiver: an ``http.server`` in a thread, listening on the host and port of the
``--webhook-receiver`` URL, taking POSTs to its path and checking each with the receiver kit
(``app.webhooks.signature``) under the smoke subscription's secret."""

from __future__ import annotations

import errno
import json
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from app.webhooks.signature import InvalidWebhook, WebhookVerifier


@dataclass(frozen=True)
class Delivery:
    webhook_id: str | None  # as the Webhook-Id header says, verified or not
    body: Any
    problem: str | None  # why the receiver kit refused it; None when it verified


class WebhookListener:
    """Deliveries POSTed to ``url``: each answered 204 when its signature verifies under the secret, else 400."""

    def __init__(self, url: str):
        parts = urlsplit(url)
        self.url = url
        self.path = parts.path or "/"
        self._secret: str | None = None
        self._deliveries: list[Delivery] = []
        self._arrived = threading.Condition()
        self._server = listening(parts.hostname or "", parts.port or 80, self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, name="smoke-webhook-listener", daemon=True)
        self._thread.start()

    def expect_secret(self, secret: str) -> None:
        with self._arrived:
            self._secret = secret

    def wait_for(self, webhook_id: str, timeout_seconds: float) -> Delivery | None:
        """The first delivery carrying this ``Webhook-Id``, waiting for it at most ``timeout_seconds``."""
        deadline = time.monotonic() + timeout_seconds
        with self._arrived:
            while True:
                found = next((d for d in self._deliveries if d.webhook_id == webhook_id), None)
                left = deadline - time.monotonic()
                if found is not None or left <= 0:
                    return found
                self._arrived.wait(left)

    def received(self) -> int:
        with self._arrived:
            return len(self._deliveries)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def take(self, headers: dict[str, str], raw: bytes) -> bool:
        """Keeps a request that reached the path; whether it verified, which its answer says (204 or 400)."""
        with self._arrived:
            secret = self._secret
        problem = None
        try:
            WebhookVerifier(secret or "").verify(headers, raw)
        except InvalidWebhook as refused:
            problem = str(refused)
        if secret is None:
            problem = "arrived before the smoke subscription's secret was known"
        webhook_id = next((value for name, value in headers.items() if name.lower() == "webhook-id"), None)
        with self._arrived:
            self._deliveries.append(Delivery(webhook_id, json_or_text(raw), problem))
            self._arrived.notify_all()
        return problem is None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        listener = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 (the standard library's name)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if urlsplit(self.path).path != listener.path:
                    self._answer(404)
                    return
                self._answer(204 if listener.take(dict(self.headers), raw) else 400)

            def _answer(self, status: int) -> None:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the standard library's name)
                pass

        return Handler


def listening(host: str, port: int, handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    """A server bound to the URL's host and port; to every interface on that port when the host is a name this
    machine is reached by but does not hold or cannot resolve (behind NAT or a load balancer)."""
    try:
        server = ThreadingHTTPServer((host, port), handler)
    except OSError as error:
        if not isinstance(error, socket.gaierror) and error.errno != errno.EADDRNOTAVAIL:
            raise
        server = ThreadingHTTPServer(("", port), handler)
    server.daemon_threads = True
    return server


def json_or_text(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")
