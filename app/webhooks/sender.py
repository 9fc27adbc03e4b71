"""The sender: delivers the outbox, in the worker process.

Each subscription has a lane of its own: a queue and up to ``threads_per_endpoint`` threads POSTing from
it, so a slow or failing endpoint holds only its own lane; the others go on. A dispatcher claims due
deliveries for the lanes that have room (``claim``, which leases them), and a reporter writes the
outcomes back in batches. A failed attempt is retried after an exponential backoff with jitter, for
``RETRY_HOURS``; then the delivery is dead until re-driven.
"""

from __future__ import annotations

import http.client
import ipaddress
import logging
import queue
import urllib.parse
import random
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable
from uuid import UUID

from app.webhooks.signature import sign
from app.webhooks.store import RETRY_HOURS, Claimed, Outcome, WebhookStore

logger = logging.getLogger(__name__)

USER_AGENT = "spinledger-webhooks/1"
BUSY_POLL_SECONDS = 0.01
MAX_ANSWER_BYTES = 64 * 1024


@dataclass(frozen=True)
class Backoff:
    base_seconds: float = 10.0
    most_seconds: float = 3600.0

    def delay(self, attempts: int, rng: random.Random) -> timedelta:
        """After the ``attempts``-th failure: base × 2^(attempts-1), at most ``most``, times a jitter of 0.5 to 1.5."""
        seconds = min(self.base_seconds * 2 ** min(attempts - 1, 30), self.most_seconds)
        return timedelta(seconds=seconds * rng.uniform(0.5, 1.5))


class NotAllowed(ValueError):
    """The endpoint's address is one the sender must not reach (``WEBHOOK_ALLOW_PRIVATE`` is off)."""


class Connections:
    """One thread's keep-alive connections, one per endpoint (plain ``http.client``: a delivery is one small
    POST, and a full HTTP library's overhead would be most of its cost). Redirects are not followed.

    Unless ``allow_private``, an endpoint resolving to a loopback, private, link-local or otherwise special
    address is refused, and a plain-HTTP one is connected to the address checked (a later answer of the
    name server cannot steer it elsewhere)."""

    def __init__(self, timeout_seconds: float, allow_private: bool = False):
        self._timeout = timeout_seconds
        self._allow_private = allow_private
        self._open: dict[tuple[str, str, int], http.client.HTTPConnection] = {}

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        key = (parts.scheme, host, parts.port or (443 if parts.scheme == "https" else 80))
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host_header = host if parts.port is None else f"{host}:{parts.port}"  # never the URL's user:password@
        for attempt in (1, 2):  # a kept-alive connection the endpoint has closed meanwhile is opened again, once
            connection = self._open.get(key)
            reused = connection is not None
            if connection is None:
                connection = self._open[key] = self._connect(*key)
            try:
                connection.request("POST", target, body=body, headers={**headers, "Host": host_header})
                response = connection.getresponse()
                response.read(MAX_ANSWER_BYTES)  # what it says is not kept: only its status
                if response.will_close or not response.isclosed():
                    self.drop(key)
                return response.status
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.drop(key)
                if not reused or attempt == 2:
                    raise
            except BaseException:
                self.drop(key)
                raise
        raise AssertionError("unreachable")

    def _connect(self, scheme: str, host: str, port: int) -> http.client.HTTPConnection:
        address = host
        if not self._allow_private:
            resolved = {info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)}
            special = sorted(a for a in resolved if not ipaddress.ip_address(a.split("%")[0]).is_global)
            if special or not resolved:
                raise NotAllowed(f"{host} resolves to {', '.join(special) or 'nothing'}: not a public address")
            address = sorted(resolved)[0]
        if scheme == "https":  # by name: the certificate is checked against it
            return http.client.HTTPSConnection(host, port, timeout=self._timeout)
        return http.client.HTTPConnection(address, port, timeout=self._timeout)

    def drop(self, key: tuple[str, str, int]) -> None:
        connection = self._open.pop(key, None)
        if connection is not None:
            connection.close()

    def close(self) -> None:
        for key in list(self._open):
            self.drop(key)


class Lane:
    """One subscription's queue and threads."""

    def __init__(self, sender: WebhookSender, subscription_id: UUID):
        self._sender = sender
        self.subscription_id = subscription_id
        self.queue: queue.Queue[Claimed] = queue.Queue()
        self._lock = threading.Lock()
        self.outstanding = 0  # queued or being sent
        self._threads = 0

    def push(self, deliveries: list[Claimed]) -> None:
        with self._lock:
            self.outstanding += len(deliveries)
            for delivery in deliveries:
                self.queue.put(delivery)
            wanted = min(self._sender.threads_per_endpoint, self.outstanding) - self._threads
            for _ in range(max(0, wanted)):
                self._threads += 1
                threading.Thread(target=self._run, name=f"webhook-{self.subscription_id}", daemon=True).start()

    def _run(self) -> None:
        session = Connections(self._sender.timeout_seconds, self._sender.allow_private)
        counted = True
        try:
            while not self._sender.stopping.is_set():
                try:
                    delivery = self.queue.get(timeout=1.0)
                except queue.Empty:
                    with self._lock:
                        if self.queue.empty():  # idle: the thread goes (uncounted under the lock push takes)
                            self._threads -= 1
                            counted = False
                            return
                    continue
                try:
                    self._sender.outcomes.put(self._sender.attempt(session, delivery))
                finally:
                    with self._lock:
                        self.outstanding -= 1
        finally:
            session.close()
            if counted:  # however else the thread ends, push may start another
                with self._lock:
                    self._threads -= 1

    def drain(self) -> None:
        """Stopping: what is queued stays unsent; its lease runs out and another sender takes it."""
        with self._lock:
            while True:
                try:
                    self.queue.get_nowait()
                except queue.Empty:
                    return
                self.outstanding -= 1


class WebhookSender:
    def __init__(self, store: WebhookStore, now: Callable[[], datetime], *, threads_per_endpoint: int = 8,
                 per_endpoint_queue: int = 64, poll_seconds: float = 0.05, timeout_seconds: float = 10.0,
                 backoff: Backoff = Backoff(), rng: random.Random | None = None, allow_private: bool = False):
        self._store = store
        self._now = now
        self.threads_per_endpoint = threads_per_endpoint
        self._queue_limit = per_endpoint_queue
        self._poll = poll_seconds
        self.timeout_seconds = timeout_seconds
        self.allow_private = allow_private
        self._backoff = backoff
        self._rng = rng or random.Random()
        self._lanes: dict[UUID, Lane] = {}
        self.outcomes: queue.Queue[Outcome] = queue.Queue()
        self.stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        self._threads = [threading.Thread(target=self._dispatch, name="webhook-dispatcher", daemon=True),
                         threading.Thread(target=self._report, name="webhook-reporter", daemon=True)]
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        """Stops claiming; what is being sent finishes and is reported; what is queued is left to its lease."""
        self.stopping.set()
        for lane in list(self._lanes.values()):
            lane.drain()
        for thread in self._threads:
            thread.join(timeout)

    def attempt(self, session: Connections, delivery: Claimed) -> Outcome:
        """One POST of a delivery, and what it came to."""
        now = self._now()
        timestamp = int(now.timestamp())
        body = delivery.body.encode()
        headers = {
            "Content-Type": "application/json", "User-Agent": USER_AGENT, "Webhook-Id": str(delivery.id),
            "Webhook-Timestamp": str(timestamp), "Webhook-Signature": sign(delivery.secret, str(delivery.id), timestamp, body),
        }
        status: int | None = None
        try:
            status = session.post(delivery.url, body, headers)
            if 200 <= status < 300:
                return Outcome(delivery.id, status, None, None, attempts=delivery.attempts)
            error = f"answered {status}"
        except Exception as failure:  # refused, reset, timed out, not HTTP, not allowed: all retried alike
            error = f"{type(failure).__name__}: {failure}"[:500]
        retry_at = now + self._backoff.delay(delivery.attempts, self._rng)
        dead = retry_at - delivery.retrying_since > timedelta(hours=RETRY_HOURS)
        if dead:
            logger.warning("webhook %s of subscription %s: dead after %d attempts (%s)", delivery.id, delivery.subscription_id,
                           delivery.attempts, error)
        return Outcome(delivery.id, status, error, None if dead else retry_at, dead=dead, attempts=delivery.attempts)

    def _dispatch(self) -> None:
        while not self.stopping.is_set():
            try:
                claimed = self._claim()
            except Exception:
                logger.exception("webhook sender: claiming deliveries failed; trying again")
                claimed = 0
            if not claimed:
                # A lane still busy may soon have room for a backlog: look again soon. Else, at the poll's pace.
                busy = any(0 < lane.outstanding < self._queue_limit for lane in self._lanes.values())
                self.stopping.wait(min(self._poll, BUSY_POLL_SECONDS) if busy else self._poll)

    def _claim(self) -> int:
        room = {sub: self._queue_limit - lane.outstanding for sub, lane in self._lanes.items()}
        claimed = self._store.claim(self._now(), per_subscription=self._queue_limit, room=room)
        by_lane: dict[UUID, list[Claimed]] = {}
        for delivery in claimed:
            by_lane.setdefault(delivery.subscription_id, []).append(delivery)
        for subscription_id, deliveries in by_lane.items():
            lane = self._lanes.get(subscription_id)
            if lane is None:
                lane = self._lanes[subscription_id] = Lane(self, subscription_id)
            lane.push(deliveries)
        return len(claimed)

    def _report(self) -> None:
        while not (self.stopping.is_set() and self.outcomes.empty() and not any(l.outstanding for l in self._lanes.values())):
            batch: list[Outcome] = []
            try:
                batch.append(self.outcomes.get(timeout=0.05))
                while len(batch) < 500:
                    batch.append(self.outcomes.get_nowait())
            except queue.Empty:
                pass
            while batch:
                try:
                    self._store.report(batch, self._now())
                    batch = []
                except Exception:
                    logger.exception("webhook sender: recording %d outcomes failed; trying again", len(batch))
                    time.sleep(1.0)
                    if self.stopping.is_set():
                        return  # their leases run out, and they are sent again
