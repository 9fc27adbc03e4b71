"""Issue 21's figures: a campaign from the audience's upload to ``completed``, issued by a real ``spinledger worker``;
its awards per second without webhook subscriptions and with two, and the worker's peak memory after a small
campaign and after a large one (flat: the large one may not need more)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import requests

from app.bootstrap import SystemClock, build_ledger
from domain.player import Player
from tests.bench.webhooks import SYNTHETIC_PLAYERS, Receiving, free_port

SMALL, LARGE = 20_000, 200_000


@dataclass
class CampaignRun:
    players: int
    seconds: float  # from the upload's start to the campaign's completed status
    awarded: int
    peak_mib: float  # the worker's peak resident memory so far

    @property
    def awards_per_second(self) -> float:
        return self.awarded / self.seconds


@dataclass
class CampaignFigures:
    small: CampaignRun
    large: CampaignRun
    hooked: CampaignRun  # the large one again, with two webhook subscriptions
    hooked_delivered: int  # deliveries the receivers had when the hooked campaign completed


def register_in_bulk(database_url: str, count: int) -> list[str]:
    """Players registered a thousand a transaction straight through the Application (the API's PUT, one by one,
    would take longer than the campaign)."""
    ledger = build_ledger(database_url, SystemClock(), os.urandom)
    run = secrets.token_hex(3)
    ids = [f"cb-{run}-{i}" for i in range(count)]
    try:
        now = datetime.now(timezone.utc)
        for start in range(0, count, 1000):
            ledger.streams.save(*(Player.register(p, "CA-ON", date(1990, 4, 1), "CAD", now) for p in ids[start:start + 1000]))
    finally:
        ledger.close()
    return ids


def start_worker(database_url: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url, "PROJECTION_POLL_SECONDS": "1", "WEBHOOK_ALLOW_PRIVATE": "true", **SYNTHETIC_PLAYERS}
    return subprocess.Popen([sys.executable, "-m", "app.cli", "worker"], env=env, stderr=subprocess.DEVNULL)


def peak_mib(pid: int) -> float:
    """The largest peak resident memory of the worker and its campaign issuers."""
    peaks = [0.0]
    for entry in Path("/proc").iterdir():
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if entry.name == str(pid) or fields.get("PPid", "").strip() == str(pid):
            peaks.append(int(fields.get("VmHWM", "0 kB").split()[0]) / 1024)
    return max(peaks)


def run_campaign(base: str, headers: dict[str, str], promo_id: str, players: list[str], worker_pid: int) -> CampaignRun:
    campaign_id = f"bench-{secrets.token_hex(4)}"
    terms = {"name": "bench", "promo_id": promo_id, "award_value": 5, "game_code": "crystal-forge-v1"}
    requests.put(f"{base}/api/v1/campaigns/{campaign_id}", json=terms, headers=headers, timeout=30).raise_for_status()
    body = ("player_id\n" + "\n".join(players) + "\n").encode()
    started = time.perf_counter()
    uploaded = requests.post(f"{base}/api/v1/campaigns/{campaign_id}/audience", data=body,
                             headers={**headers, "Content-Type": "text/csv"}, timeout=600)
    uploaded.raise_for_status()
    requests.post(f"{base}/api/v1/campaigns/{campaign_id}/launch", headers=headers, timeout=60).raise_for_status()
    while (status := requests.get(f"{base}/api/v1/campaigns/{campaign_id}", headers=headers, timeout=30).json())["status"] not in (
            "completed", "failed", "cancelled"):
        time.sleep(0.1)
    seconds = time.perf_counter() - started
    if status["status"] != "completed" or status["awarded"] != len(players):
        raise RuntimeError(f"campaign bench: {status}")
    return CampaignRun(len(players), seconds, status["awarded"], peak_mib(worker_pid))


def bench_campaigns(base: str, headers: dict[str, str], database_url: str, promo_id: str) -> CampaignFigures:
    print(f"campaigns: registering {LARGE:,} players ...", flush=True)
    players = register_in_bulk(database_url, LARGE)
    worker = start_worker(database_url)
    try:
        time.sleep(3)  # the worker's start
        print(f"campaigns: {SMALL:,} then {LARGE:,} players, no webhook subscription ...", flush=True)
        small = run_campaign(base, headers, promo_id, players[:SMALL], worker.pid)
        large = run_campaign(base, headers, promo_id, players, worker.pid)
    finally:
        worker.terminate()
        worker.wait(timeout=120)

    receivers, subscriptions = [], []
    try:
        for _ in range(2):
            port = free_port()
            made = requests.post(f"{base}/api/v1/webhooks", json={"url": f"http://127.0.0.1:{port}/hook", "event_types": ["FreeSpinsAwarded"]},
                                 headers=headers, timeout=30)
            made.raise_for_status()
            subscriptions.append(made.json()["id"])
            receivers.append(Receiving(port, made.json()["secret"]))
        worker = start_worker(database_url)
        try:
            time.sleep(3)
            print(f"campaigns: {LARGE:,} players, two webhook subscriptions ...", flush=True)
            hooked = run_campaign(base, headers, promo_id, players, worker.pid)
        finally:
            worker.terminate()
            worker.wait(timeout=120)
    finally:
        delivered = sum(len(r.stop()["received"]) for r in receivers)
        for subscription in subscriptions:
            requests.delete(f"{base}/api/v1/webhooks/{subscription}", headers=headers, timeout=30)
    return CampaignFigures(small, large, hooked, delivered)


def rows(figures: CampaignFigures) -> list[dict[str, Any]]:
    large, hooked, small = figures.large, figures.hooked, figures.small
    return [
        {"figure": f"campaign of {large.players:,}, upload to completed (awards/s)", "value": round(large.awards_per_second),
         "limit": ">= 5,000", "passed": large.awards_per_second >= 5000,
         "note": f"{large.seconds:.1f} s; {small.players:,} players: {small.awards_per_second:,.0f}/s"},
        {"figure": "the same with two webhook subscriptions (awards/s)", "value": round(hooked.awards_per_second),
         "limit": ">= 5,000", "passed": hooked.awards_per_second >= 5000,
         "note": f"{hooked.seconds:.1f} s; {figures.hooked_delivered:,} of {2 * hooked.players:,} deliveries made by then"},
        {"figure": "campaign worker peak memory (MiB)", "value": round(large.peak_mib, 1), "limit": f"flat: <= {small.players:,}'s + 32",
         "passed": large.peak_mib <= small.peak_mib + 32,
         "note": f"after {small.players:,}: {small.peak_mib:.1f} MiB; with webhooks: {hooked.peak_mib:.1f} MiB"},
    ]
