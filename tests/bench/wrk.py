"""Load from wrk (C, a second process on loopback): 16 keep-alive connections sending back to back."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

POST_SCRIPT = Path(__file__).with_name("post_load.lua")
SPIN_SCRIPT = Path(__file__).with_name("spin_load.lua")


@dataclass
class Round:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int


@dataclass
class Load:
    """Several rounds against one endpoint, taken together."""

    rounds: list[Round]

    @property
    def requests(self) -> int:
        return sum(r.requests for r in self.rounds)

    @property
    def errors(self) -> int:
        return sum(r.errors for r in self.rounds)

    @property
    def throughput(self) -> float:
        return self.requests / sum(r.seconds for r in self.rounds)

    def percentile(self, p: int) -> float:
        """The rounds' percentiles weighted by their request counts (wrk keeps no raw latencies)."""
        key = {50: "p50_ms", 99: "p99_ms"}[p]
        return sum(getattr(r, key) * r.requests for r in self.rounds) / max(1, self.requests)


def available() -> bool:
    return shutil.which("wrk") is not None


def run_round(port: int, path: str, seconds: float, *, players_file: Path, promo_id: str, run: str, key: str,
              connections: int) -> Round:
    """``path`` POSTed award-shaped bodies, each with a fresh idempotency key, by two wrk threads."""
    return _run(port, seconds, POST_SCRIPT, [str(players_file), promo_id, run, path, key], threads=2, connections=connections)


def run_spin_round(port: int, seconds: float, *, tokens_file: Path, run: str, players: int) -> Round:
    """Players spinning back to back, one wrk thread and connection each, each with its own session."""
    return _run(port, seconds, SPIN_SCRIPT, [str(tokens_file), run], threads=players, connections=players)


def _run(port: int, seconds: float, script: Path, args: list[str], *, threads: int, connections: int) -> Round:
    command = [
        "wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds:.0f}s", "--latency", "-s", str(script),
        f"http://127.0.0.1:{port}", "--", *args,
    ]
    finished = subprocess.run(command, capture_output=True, text=True)
    if finished.returncode != 0:
        raise RuntimeError(f"wrk failed ({finished.returncode}): {finished.stderr.strip() or finished.stdout.strip()}")
    output = finished.stdout
    line = next(line for line in output.splitlines() if line.startswith("RESULT "))
    result = json.loads(line.removeprefix("RESULT "))
    return Round(
        requests=result["requests"],
        seconds=result["duration_us"] / 1e6,
        p50_ms=result["p50_us"] / 1000,
        p99_ms=result["p99_us"] / 1000,
        errors=result["non_2xx"] + result["socket_errors"],
    )
