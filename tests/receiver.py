"""A real webhook receiver for the tests: an HTTP server on loopback that checks every delivery with the
receiver kit (``app.webhooks.signature``) and answers as the test tells it to."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

from app.webhooks.signature import InvalidWebhook, WebhookVerifier


@dataclass(frozen=True)
class Received:
    path: str
    webhook_id: str | None
    body: dict[str, Any] | None
    valid: bool
    answered: int
    whole: bool  # the body arrived whole (a sender killed between sending the headers and the body cuts it)


class Receiver:
    """Endpoints at ``url(path)``, one per subscription (each with its secret, given by ``expect``).

    ``answer(path, n)`` says what the n-th request to a path gets: a status, or ``"hang"`` (wait for
    ``release`` or 30 s, then 200)."""

    def __init__(self) -> None:
        self.secrets: dict[str, str] = {}
        self.received: list[Received] = []
        self.answer: Callable[[str, int], int | str] = lambda path, n: 200
        self.release = threading.Event()
        self.clock: Callable[[], float] = time.time  # what "now" is to the verifier
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self._server: ThreadingHTTPServer | None = None
        self.port = 0
        self.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def expect(self, path: str, secret: str) -> None:
        self.secrets[path] = secret

    def start(self) -> None:
        """Listens (again, on the same port after ``stop``)."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as most receivers: the sender's connections are reused

            def do_POST(self) -> None:  # noqa: N802 (the standard library's name)
                if receiver._server is None or receiver._server is not server:  # stopped: a kept-alive connection is cut too
                    self.close_connection = True
                    return
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                with receiver._lock:
                    n = receiver._counts.get(self.path, 0)
                    receiver._counts[self.path] = n + 1
                answer = receiver.answer(self.path, n)
                if answer == "hang":
                    receiver.release.wait(30)
                    answer = 200
                webhook_id, valid = None, False
                try:
                    verifier = WebhookVerifier(receiver.secrets.get(self.path, ""), clock=receiver.clock)
                    webhook_id = verifier.verify(dict(self.headers), body)
                    valid = True
                except InvalidWebhook:
                    pass
                with receiver._lock:
                    receiver.received.append(
                        Received(self.path, webhook_id, json.loads(body) if valid else None, valid, int(answer), len(body) == length)
                    )
                self.send_response(int(answer))
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Stops listening: connections are refused until ``start``."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def arrived(self, path: str) -> int:
        """Requests to a path so far, answered or not yet."""
        with self._lock:
            return self._counts.get(path, 0)

    def delivered(self, path: str) -> dict[str, dict[str, Any]]:
        """The deliveries a path took (answered 2xx), by Webhook-Id."""
        with self._lock:
            return {r.webhook_id: r.body for r in self.received if r.path == path and r.valid and 200 <= r.answered < 300}  # type: ignore[misc]

    def wait_for(self, path: str, count: int, timeout: float = 60) -> dict[str, dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(found := self.delivered(path)) < count:
            assert time.monotonic() < deadline, f"{path}: {len(found)} of {count} delivered"
            time.sleep(0.02)
        return found
