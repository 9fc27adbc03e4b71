"""Issue 7's figures: how long an award takes from its commit to a local receiver's answer while the award
benchmark's load runs, and how fast the worker drains a backlog of deliveries to that receiver."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import requests

from tests.bench import wrk

BACKLOG = 20_000


@dataclass
class WebhookFigures:
    latencies_ms: list[float]  # the award's event time (its commit, within a millisecond) to the receiver's answer
    awards_under_load: int
    backlog: int
    backlog_seconds: float  # the receiver's first to last delivery of the backlog
    refused: int  # deliveries whose signature the receiver refused (must be none)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Receiving:
    """The receiver process, from start to SIGTERM; ``received`` then holds what it took."""

    def __init__(self, port: int, secret: str):
        self.out = Path(tempfile.mkstemp(prefix="spinledger-receiver-")[1])
        self.process = subprocess.Popen([sys.executable, "-m", "tests.bench.webhook_receiver", str(port), secret, str(self.out)],
                                        stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None and self.process.stdout.readline().strip() == "listening"

    def stop(self) -> dict[str, Any]:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)
        result = json.loads(self.out.read_text())
        self.out.unlink()
        return result


# The benchmark's players are synthetic: each takes hundreds of awards a day and deposits far more than a person
# would. The risk review still judges every event, but with thresholds they do not reach, so that none is paused.
SYNTHETIC_PLAYERS = {"RISK_AWARDS_PER_DAY": "10000", "RISK_DEPOSITS_24H_AMOUNT": "999999999999.00"}


def start_worker(database_url: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url, "PROJECTION_POLL_SECONDS": "1", "WEBHOOK_ALLOW_PRIVATE": "true", **SYNTHETIC_PLAYERS}
    return subprocess.Popen([sys.executable, "-m", "app.cli", "worker"], env=env, stderr=subprocess.DEVNULL)


def stop_worker(worker: subprocess.Popen) -> None:
    worker.terminate()
    worker.wait(timeout=60)


def wait_delivered(database_url: str, subscription: str, count: int, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    with psycopg.connect(database_url, autocommit=True) as conn:
        while conn.execute("SELECT count(*) FROM webhook_deliveries WHERE subscription_id = %s AND status = 'delivered'",
                           [subscription]).fetchone()[0] < count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"webhooks: {count} deliveries not delivered in {timeout:.0f} s")
            time.sleep(0.1)


def bench_webhooks(base: str, port: int, headers: dict[str, str], database_url: str, award_round: Any, batch_body: Any) -> WebhookFigures:
    print("webhooks: commit to receiver under the award load, then a backlog drained ...", flush=True)
    receiver_port = free_port()
    made = requests.post(f"{base}/api/v1/webhooks", json={"url": f"http://127.0.0.1:{receiver_port}/hook", "event_types": ["FreeSpinsAwarded"]},
                         headers=headers, timeout=30)
    made.raise_for_status()
    subscription, secret = made.json()["id"], made.json()["secret"]
    try:
        receiving = Receiving(receiver_port, secret)
        worker = start_worker(database_url)
        try:
            time.sleep(3)  # the worker's start
            load: wrk.Round = award_round()
            wait_delivered(database_url, subscription, load.requests)
        finally:
            stop_worker(worker)
        under_load = receiving.stop()
        latencies = [(arrived - datetime.fromisoformat(occurred).timestamp()) * 1000 for arrived, _, occurred in under_load["received"]]

        with ThreadPoolExecutor(4) as pool:  # the backlog, recorded while no worker runs
            list(pool.map(lambda n: requests.post(f"{base}/api/v1/awards/batch", json=batch_body(n), headers=headers, timeout=120).raise_for_status(),
                          range(BACKLOG // 1000)))
        receiving = Receiving(receiver_port, secret)
        worker = start_worker(database_url)
        try:
            wait_delivered(database_url, subscription, load.requests + BACKLOG)
        finally:
            stop_worker(worker)
        backlog = receiving.stop()
        arrivals = [arrived for arrived, _, _ in backlog["received"]]
        return WebhookFigures(latencies, load.requests, len(arrivals), max(arrivals) - min(arrivals),
                              under_load["refused"] + backlog["refused"])
    finally:
        requests.delete(f"{base}/api/v1/webhooks/{subscription}", headers=headers, timeout=30)
