"""Issue 4's figures: projection rebuild rate beside the raw read-and-decode rate, lag under spin load,
and a reconciliation of a million events (time and peak memory)."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.bootstrap import build_ledger
from app.bootstrap import SystemClock
from app.bootstrap import projections_datastore
from domain.requests import AwardRequest
from projections.catalogue import PROJECTIONS
from projections.lag import projection_lags
from projections.rebuild import rebuild
from projections.source import EventSource
from tests.bench import wrk
from tests.bench.webhooks import SYNTHETIC_PLAYERS

RECONCILE_EVENTS = 1_000_000


@dataclass
class ReadModelFigures:
    raw_events_per_second: float
    rebuild_events_per_second: dict[str, float]  # the store's events gone through per second
    rebuild_applied_per_second: dict[str, float]  # the projection's own events applied per second
    reconcile_seconds: float
    reconcile_peak_mib: float
    reconcile_events: int
    reconcile_status: str


def lag_under_spin_load(database_url: str, port: int, tokens_file: Path, seconds: float, players: int) -> list[float]:
    """Runs the worker while players spin; samples the largest projection lag (seconds) ten times a second."""
    env = {**os.environ, "DATABASE_URL": database_url, "PROJECTION_POLL_SECONDS": "1", **SYNTHETIC_PLAYERS}
    worker = subprocess.Popen([sys.executable, "-m", "app.cli", "worker"], env=env, stderr=subprocess.DEVNULL)
    datastore = projections_datastore(database_url, pool_size=1)
    samples: list[float] = []
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.1):
            samples.append(max(lag.seconds for lag in projection_lags(datastore, SystemClock().now())))

    try:
        deadline = time.monotonic() + 300  # let it catch up with what the earlier phases wrote
        while max(lag.events for lag in projection_lags(datastore, SystemClock().now())) > 0 and time.monotonic() < deadline:
            time.sleep(0.5)
        sampler = threading.Thread(target=sample)
        sampler.start()
        wrk.run_spin_round(port, seconds, tokens_file=tokens_file, run=f"lag-{time.time_ns()}", players=players)
        done.set()
        sampler.join()
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        datastore.close()
    return samples


def fill(database_url: str, players: list[str], promo_id: str, events: int) -> None:
    """Awards in batches of 1,000, in-process, by four callers, until the store holds ``events`` events.

    The callers watch the newest notification id, which is cheap to read; the ids have gaps (an append that
    failed, as one that lost a race does, used some up), so the events are then counted, and the store
    topped up by what is missing."""
    ledger = build_ledger(database_url, SystemClock(), os.urandom)
    source = EventSource(ledger.recorder.datastore)
    numbers = itertools.count()

    def caller(head: int) -> None:
        while source.head() < head:
            batch = next(numbers)
            ledger.award_batch([
                AwardRequest(players[(batch * 1000 + i) % len(players)], promo_id, "FREE_SPINS", 5, "crystal-forge-v1",
                             f"fill-{batch}-{i}") for i in range(1000)
            ])

    try:
        head = events
        while True:
            with ThreadPoolExecutor(max_workers=4) as pool:
                for done in [pool.submit(caller, head) for _ in range(4)]:
                    done.result()
            missing = events - count_events(ledger.recorder.datastore, ())
            if missing <= 0:
                return
            head = source.head() + missing
    finally:
        ledger.close()


def raw_read_rate(database_url: str) -> float:
    """The library's own read: ``select_notifications`` pages of 1,000, each event decoded."""
    datastore = projections_datastore(database_url, pool_size=1)
    try:
        source = EventSource(datastore)
        position, read, started = 0, 0, time.perf_counter()
        while True:
            page = source.recorder.select_notifications(start=position, limit=1000, inclusive_of_start=False)
            if not page:
                break
            for notification in page:
                source.mapper.to_domain_event(notification)
            read += len(page)
            position = page[-1].id
        return read / (time.perf_counter() - started)
    finally:
        datastore.close()


def rebuild_rates(database_url: str) -> tuple[dict[str, float], dict[str, float]]:
    """Each projection rebuilt from zero: the store's events it went through per second (as the raw read
    reads them all), and its own events applied per second (a sparse projection skips most)."""
    datastore = projections_datastore(database_url)
    try:
        through, applied_rates = {}, {}
        for name, (projection_class, _) in PROJECTIONS.items():
            applied = count_events(datastore, projection_class.topics)
            started = time.perf_counter()
            head = rebuild(datastore, name)
            seconds = time.perf_counter() - started
            through[name], applied_rates[name] = count_events(datastore, (), head) / seconds, applied / seconds
        return through, applied_rates
    finally:
        datastore.close()


def count_events(datastore: Any, topics: tuple[str, ...], up_to: int | None = None) -> int:
    with datastore.get_connection() as conn:
        limit = "" if up_to is None else f" AND notification_id <= {int(up_to)}"
        if topics:
            return conn.execute("SELECT count(*) AS n FROM spinledger_events WHERE topic = ANY(%s)" + limit, [list(topics)]).fetchone()["n"]
        return conn.execute("SELECT count(*) AS n FROM spinledger_events WHERE true" + limit).fetchone()["n"]


def reconcile_once(database_url: str) -> tuple[float, float, int, str]:
    """``spinledger reconcile`` in a process of its own: its time, peak memory, events read and status."""
    script = (
        "import json, sys, time\n"
        "from app import create_app\n"
        "from app.config import Settings\n"
        "app = create_app(Settings.from_env())\n"
        "started = time.perf_counter()\n"
        "report = app.extensions['spinledger'].reconcile()\n"
        "seconds = time.perf_counter() - started\n"
        # VmHWM, not ru_maxrss: Linux carries the forking parent's peak over into ru_maxrss across exec.
        "peak_kib = int(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:')))\n"
        "print(json.dumps({'seconds': seconds, 'peak_kib': peak_kib,"
        " 'events': report['events_total'], 'status': report['status']}))\n"
    )
    env = {**os.environ, "DATABASE_URL": database_url}
    output = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True).stdout
    result = json.loads(output.strip().splitlines()[-1])
    return result["seconds"], result["peak_kib"] / 1024, result["events"], result["status"]


def bench_read_models(database_url: str, players: list[str], promo_id: str) -> ReadModelFigures:
    print(f"filling the event store to {RECONCILE_EVENTS:,} events ...", flush=True)
    fill(database_url, players, promo_id, RECONCILE_EVENTS)
    print("raw read-and-decode rate, then each projection rebuilt from zero ...", flush=True)
    raw = raw_read_rate(database_url)
    through, applied = rebuild_rates(database_url)
    print("reconciliation of the whole store ...", flush=True)
    seconds, peak, events, status = reconcile_once(database_url)
    return ReadModelFigures(raw, through, applied, seconds, peak, events, status)
