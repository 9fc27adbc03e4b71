"""Load from wrk (C, a second process on loopback): 16 keep-alive connections sending back to back."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(__file__).with_name("post_load.lua")


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
    command = [
        "wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds:.0f}s", "--latency", "-s", str(SCRIPT),
        f"http://127.0.0.1:{port}", "--", str(players_file), promo_id, run, path, key,
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(line for line in output.splitlines() if line.startswith("RESULT "))
    result = json.loads(line.removeprefix("RESULT "))
    return Round(
        requests=result["requests"],
        seconds=result["duration_us"] / 1e6,
        p50_ms=result["p50_us"] / 1000,
        p99_ms=result["p99_us"] / 1000,
        errors=result["non_2xx"] + result["socket_errors"],
    )
