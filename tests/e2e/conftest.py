"""A real ``spinledger serve`` (gunicorn, two worker processes) on a free loopback port, with its
``spinledger worker`` (the projections) beside it, as production runs them."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from typing import Iterator

import pytest
import requests

from tests.support import API_KEYS


# The tests' players are synthetic: many take more awards in a day, or deposit more, than the risk review lets
# through unflagged. A server for them judges with thresholds they do not reach (a test of the review sets its own).
SYNTHETIC_PLAYERS = {"RISK_AWARDS_PER_DAY": "10000", "RISK_DEPOSITS_24H_AMOUNT": "999999999999.00"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, database_url: str, port: int | None = None, env: dict[str, str] | None = None):
        self.database_url = database_url
        self.extra_env = env or {}
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "PORT": str(self.port),
            "WEB_CONCURRENCY": "2",
            "SPINLEDGER_API_KEYS": json.dumps(API_KEYS),
            **self.extra_env,
        }
        # Each in a process group of its own, so that ``kill`` reaches gunicorn's workers as well as its master.
        self.process = subprocess.Popen([sys.executable, "-m", "app.cli", "serve"], env=env, start_new_session=True)
        self.worker = subprocess.Popen([sys.executable, "-m", "app.cli", "worker"], env=env, start_new_session=True)
        try:
            self._wait_until_ready()
        except BaseException:
            self.kill()  # never left running behind a failed test
            raise

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}")
            try:
                if requests.get(f"{self.base}/readyz", timeout=1).status_code == 200:
                    return
            except (requests.ConnectionError, requests.Timeout):  # not listening yet, or still starting up
                time.sleep(0.2)
        raise RuntimeError("server did not become ready in 60 s")

    def kill(self) -> None:
        """SIGKILL to every process: gunicorn's master and workers, and the projections worker."""
        for process in (self.process, self.worker):
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait()

    def restarted(self) -> Server:
        """The same service started again, on the same port."""
        return Server(self.database_url, self.port, self.extra_env)

    def stop(self) -> int:
        if self.worker.poll() is None:
            self.worker.send_signal(signal.SIGTERM)
            try:
                self.worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.worker.kill()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[Server]:
    running = Server(database_url, env=SYNTHETIC_PLAYERS)
    yield running
    running.stop()
