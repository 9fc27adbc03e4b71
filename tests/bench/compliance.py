"""Issue 5's figures, with the million events of the read-model figures stored and indexed: the first page
of one player's history, and the export's rate (over HTTP) and memory (the CLI, whole and a tenth)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass

import psycopg
import requests


SAMPLES = 1000
WARM_UP = 8  # a few per gunicorn worker


@dataclass
class ComplianceFigures:
    first_page_ms: list[float]  # one player's history, first page, one request each
    first_page_cold_ms: list[float]  # the first requests, which each worker process answers cold
    autovacuum: list[str]  # tables autovacuum was working on when the history was read
    export_events: int
    export_seconds: float
    cli_events: int
    cli_seconds: float
    cli_peak_mib: float
    tenth_events: int
    tenth_peak_mib: float


def first_pages(base: str, headers: dict[str, str], players: list[str], samples: int) -> list[float]:
    chooser = random.Random(5)
    latencies = []
    for player_id in (chooser.choice(players) for _ in range(samples)):
        started = time.perf_counter()
        response = requests.get(f"{base}/api/v1/events", params={"player_id": player_id, "limit": 100}, headers=headers, timeout=30)
        latencies.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        assert response.json()["data"], f"no events for {player_id}"
    return latencies


def export_over_http(base: str, headers: dict[str, str]) -> tuple[int, float]:
    started, lines = time.perf_counter(), 0
    with requests.get(f"{base}/api/v1/events/export", headers=headers, stream=True, timeout=600) as response:
        response.raise_for_status()
        for chunk in response.iter_content(chunk_size=1 << 20):
            lines += chunk.count(b"\n")
    return lines, time.perf_counter() - started


def export_by_cli(database_url: str, after: int = 0) -> tuple[int, float, float]:
    """``spinledger events export`` to /dev/null in a process of its own: events written, seconds, peak memory."""
    script = (
        "import json, sys, time\n"
        "from app.cli import main\n"
        "started = time.perf_counter()\n"
        f"code = main(['events', 'export', '--after', '{after}', '--output', '/dev/null'])\n"
        "seconds = time.perf_counter() - started\n"
        "peak_kib = int(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:')))\n"
        "print(json.dumps({'code': code, 'seconds': seconds, 'peak_kib': peak_kib}))\n"
    )
    env = {**os.environ, "DATABASE_URL": database_url}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["code"] == 0, done.stderr
    written = int(done.stderr.strip().splitlines()[-1].split()[0])  # "N events written to /dev/null"
    return written, result["seconds"], result["peak_kib"] / 1024


def bench_compliance(base: str, headers: dict[str, str], database_url: str, players: list[str]) -> ComplianceFigures:
    print("compliance: one player's history, first page; the export over HTTP and by the CLI ...", flush=True)
    with psycopg.connect(database_url) as conn:
        (head,) = conn.execute("SELECT max(position) FROM event_index").fetchone()
    # A server just started: each worker's first answer opens its pool and warms its caches. Those are
    # reported apart; the p99 is of the service once warm, from enough requests that it is not one outlier.
    cold = first_pages(base, headers, players, samples=WARM_UP)
    with psycopg.connect(database_url) as conn:
        vacuuming = [row[0] for row in conn.execute(
            "SELECT DISTINCT relid::regclass::text FROM pg_stat_progress_vacuum").fetchall()]
    pages = first_pages(base, headers, players, samples=SAMPLES)
    events, seconds = export_over_http(base, headers)
    cli_events, cli_seconds, cli_peak = export_by_cli(database_url)
    tenth_events, _, tenth_peak = export_by_cli(database_url, after=head - head // 10)
    return ComplianceFigures(pages, cold, vacuuming, events, seconds, cli_events, cli_seconds, cli_peak, tenth_events, tenth_peak)
