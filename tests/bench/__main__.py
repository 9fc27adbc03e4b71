"""``make bench``: every performance figure of the issues, each beside its limit measured in the same run.

Starts gunicorn exactly as ``spinledger serve`` does (plus the bare reference endpoint), on a fresh
database of the local PostgreSQL (or the embedded one), and prints one table, also written to
``tests/bench/results.json``.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import psycopg
import requests

from app.database import LOCAL_SERVER_URL, create_database, drop_database, server_reachable, start_embedded_server, with_database
from domain.slot.certification.exact import exact_report
from domain.slot.certification.montecarlo import MonteCarloResult, simulate
from domain.slot.crystal_forge import CRYSTAL_FORGE
from tests.bench import campaigns, compliance, console, cpu, read_models, webhooks, wrk

HERE = Path(__file__).resolve().parent
KEY = "bench-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
CONNECTIONS = 16
PLAYERS = 2000
SECONDS = float(os.environ.get("BENCH_SECONDS", "20"))
ROUNDS = 5
CREATE_TABLE = "CREATE TABLE IF NOT EXISTS bench_inserts (id bigserial PRIMARY KEY, body jsonb NOT NULL)"
BATCH_TOTAL, BATCH_SIZE, BATCH_CALLERS = 100_000, 1000, 2
SPIN_PLAYERS = 16


SERVER_LOG = Path(tempfile.gettempdir()) / "spinledger-bench-server.log"


def iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def start_server(database_url: str, port: int) -> subprocess.Popen:
    with psycopg.connect(database_url, autocommit=True) as conn:  # before the workers start, not by each
        conn.execute(CREATE_TABLE)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "PORT": str(port),
        "SPINLEDGER_API_KEYS": json.dumps({KEY: ["players:write", "promotions:write", "awards:write", "awards:read", "compliance", "finance"]}),
    }
    # The same gunicorn command line as `spinledger serve`, serving the app with the reference endpoint.
    command = "from app.cli import serve; from app.config import Settings; serve(Settings.from_env(), 'tests.bench.bench_app:application')"
    # The server's JSON log lines (one per request) go to a file, not into the table's way.
    with open(SERVER_LOG, "ab") as log:
        process = subprocess.Popen([sys.executable, "-c", command], env=env, stderr=log)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                return process
        except (requests.ConnectionError, requests.Timeout):  # not listening yet, or still creating the schema
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("server did not start")


def stop_server(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=40)
    except subprocess.TimeoutExpired:
        process.kill()


def percentile(values: list[float], p: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))] if ordered else 0.0


def checkpoint(server_url: str) -> None:
    """Flushes what the previous phase wrote, so that its checkpoint does not land in the next phase."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def register_players(base: str, count: int) -> list[str]:
    players = [f"bench-{secrets.token_hex(5)}" for _ in range(count)]

    def put(player_id: str) -> None:
        response = requests.put(f"{base}/api/v1/players/{player_id}", json={"region": "CA-ON", "birth_date": "1990-04-01", "currency": "CAD"}, headers=AUTH, timeout=30)
        response.raise_for_status()

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(put, players))
    return players


def define_promotion(base: str, budget: int) -> str:
    now = datetime.now(timezone.utc)
    promo_id = f"bench-{secrets.token_hex(5)}"
    terms = {
        "name": "bench", "award_type": "FREE_SPINS", "game_codes": ["crystal-forge-v1"], "max_spins_per_award": 50,
        "bet_per_spin": "0.20", "currency": "CAD", "starts_at": iso(now - timedelta(days=1)),
        "ends_at": iso(now + timedelta(days=1)), "budget_spins": budget, "allowed_regions": ["CA"],
        "award_ttl_seconds": 86400,
    }
    requests.put(f"{base}/api/v1/promotions/{promo_id}", json=terms, headers=AUTH, timeout=30).raise_for_status()
    return promo_id


def award_body(player_id: str, promo_id: str, key: str) -> dict:
    return {"player_id": player_id, "promo_id": promo_id, "award_type": "FREE_SPINS", "award_value": 5,
            "game_code": "crystal-forge-v1", "idempotency_key": key}


# Limits every player of the "with limits" rounds has: all six, high enough that no award, deposit or spin of the
# benchmark is refused by them, so that those rounds pay for checking them and nothing else.
EVERY_LIMIT = {"deposit_daily": "100000000.00", "deposit_weekly": "200000000.00", "deposit_monthly": "300000000.00",
               "loss_daily": "100000000.00", "loss_weekly": "200000000.00", "loss_monthly": "300000000.00"}


def set_limits(base: str, players: list[str]) -> None:
    def put(player_id: str) -> None:
        requests.put(f"{base}/api/v1/players/{player_id}/limits", json=EVERY_LIMIT, headers=AUTH, timeout=30).raise_for_status()

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(put, players))


def open_spin_sessions(base: str, players: list[str]) -> list[str]:
    """A session per spinning player, each with money enough for the whole run."""
    tokens = []
    for player_id in players:
        deposit = {"transaction_id": f"bench-{secrets.token_hex(6)}", "amount": "1000000.00", "currency": "CAD"}
        requests.post(f"{base}/api/v1/players/{player_id}/deposits", json=deposit, headers=AUTH, timeout=30).raise_for_status()
        response = requests.post(f"{base}/api/v1/sessions", json={"player_id": player_id}, headers=AUTH, timeout=30)
        response.raise_for_status()
        tokens.append(response.json()["token"])
    return tokens


def bench_single_requests(port: int, players: list[str], limited: list[str], meter: cpu.CpuMeter | None) -> dict:
    """The bare reference, single awards and spins, with wrk, in interleaved rounds, and the awards and spins again
    for ``limited`` players, who have every limit set; with ``meter``, the CPU each round cost too."""
    base = f"http://127.0.0.1:{port}"
    promo_id = define_promotion(base, 1_000_000_000)
    tokens_file = Path(tempfile.mkstemp(prefix="spinledger-tokens-")[1])
    tokens_file.write_text("\n".join(open_spin_sessions(base, players[-SPIN_PLAYERS:])))
    players_file = Path(tempfile.mkstemp(prefix="spinledger-players-")[1])
    players_file.write_text("\n".join(players))
    limited_tokens = Path(tempfile.mkstemp(prefix="spinledger-tokens-")[1])
    limited_tokens.write_text("\n".join(open_spin_sessions(base, limited[-SPIN_PLAYERS:])))
    limited_file = Path(tempfile.mkstemp(prefix="spinledger-players-")[1])
    limited_file.write_text("\n".join(limited))
    run = secrets.token_hex(4)
    common = dict(players_file=players_file, promo_id=promo_id, key=KEY, connections=CONNECTIONS)
    wrk.run_round(port, "/bench/insert", 2, run=f"{run}-w1", **common)  # warm-up
    wrk.run_round(port, "/api/v1/awards", 2, run=f"{run}-w2", **common)
    wrk.run_spin_round(port, 2, tokens_file=tokens_file, run=f"{run}-w3", players=SPIN_PLAYERS)
    # Interleaved rounds, so that a machine that speeds up or slows down during the run weighs on the
    # reference, the awards and the spins alike.
    reference, awards, spins = wrk.Load([]), wrk.Load([]), wrk.Load([])
    limited_awards, limited_spins = wrk.Load([]), wrk.Load([])
    used: dict[str, list[cpu.CpuUse]] = {"reference": [], "awards": [], "spins": [], "limited_awards": [], "limited_spins": []}

    def measured(name: str, load: Callable[[], wrk.Round]) -> wrk.Round:
        if meter is None:
            return load()
        result, use = meter.around(load)
        used[name].append(use)
        return result

    seconds = SECONDS / ROUNDS
    for number in range(ROUNDS):
        reference.rounds.append(
            measured("reference", lambda: wrk.run_round(port, "/bench/insert", seconds, run=f"{run}-r{number}", **common))
        )
        awards.rounds.append(
            measured("awards", lambda: wrk.run_round(port, "/api/v1/awards", seconds, run=f"{run}-a{number}", **common))
        )
        limited_awards.rounds.append(measured("limited_awards", lambda: wrk.run_round(
            port, "/api/v1/awards", seconds, run=f"{run}-la{number}", **{**common, "players_file": limited_file})))
        spins.rounds.append(measured("spins", lambda: wrk.run_spin_round(
            port, seconds, tokens_file=tokens_file, run=f"{run}-s{number}", players=SPIN_PLAYERS
        )))
        limited_spins.rounds.append(measured("limited_spins", lambda: wrk.run_spin_round(
            port, seconds, tokens_file=limited_tokens, run=f"{run}-ls{number}", players=SPIN_PLAYERS
        )))
    for file in (players_file, tokens_file, limited_file, limited_tokens):
        file.unlink()
    return {"reference": reference, "awards": awards, "spins": spins, "limited_awards": limited_awards, "limited_spins": limited_spins,
            "cpu": used}


def bench_rtp() -> tuple[float, MonteCarloResult]:
    """``spinledger rtp``'s two figures: the exact computation's time, and Monte Carlo's speed."""
    started = time.perf_counter()
    exact_report(CRYSTAL_FORGE)
    exact_seconds = time.perf_counter() - started
    return exact_seconds, simulate(CRYSTAL_FORGE, 5_000_000, seed=1, timer=time.perf_counter)


def bench_batch(base: str, players: list[str]) -> tuple[float, int]:
    """100,000 awards in calls of 1,000, sent by two concurrent callers, as a campaign job would."""
    promo_id = define_promotion(base, 1_000_000_000)
    run = secrets.token_hex(4)
    calls = BATCH_TOTAL // BATCH_SIZE
    bodies = [
        json.dumps({"awards": [award_body(players[(call * BATCH_SIZE + i) % len(players)], promo_id, f"batch-{run}-{call}-{i}") for i in range(BATCH_SIZE)]})
        for call in range(calls)
    ]

    def send(indexes: range) -> int:
        session, errors = requests.Session(), 0
        for call in indexes:
            response = session.post(f"{base}/api/v1/awards/batch", data=bodies[call], headers={**AUTH, "Content-Type": "application/json"}, timeout=120)
            results = response.json()["results"] if response.status_code == 200 else []
            errors += BATCH_SIZE - sum(1 for r in results if r["status"] == 201)
        return errors

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=BATCH_CALLERS) as pool:
        errors = sum(pool.map(send, [range(i, calls, BATCH_CALLERS) for i in range(BATCH_CALLERS)]))
    return time.perf_counter() - started, errors


def bench_webhooks_under_awards(base: str, port: int, database_url: str, players: list[str]) -> webhooks.WebhookFigures:
    """The award benchmark's load (wrk, 16 connections) with the worker delivering every award to a receiver."""
    promo_id = define_promotion(base, 1_000_000_000)
    players_file = Path(tempfile.mkstemp(prefix="spinledger-players-")[1])
    players_file.write_text("\n".join(players))
    run = secrets.token_hex(4)

    def award_round() -> wrk.Round:
        return wrk.run_round(port, "/api/v1/awards", SECONDS / 2, players_file=players_file, promo_id=promo_id, run=f"{run}-hooks",
                             key=KEY, connections=CONNECTIONS)

    def batch_body(call: int) -> dict:
        return {"awards": [award_body(players[(call * 1000 + i) % len(players)], promo_id, f"hooks-{run}-{call}-{i}") for i in range(1000)]}

    try:
        return webhooks.bench_webhooks(base, port, AUTH, database_url, award_round, batch_body)
    finally:
        players_file.unlink()


def limits_rows(single: dict) -> list[dict]:
    """Issue 22: the awards and the spins of players with every limit set, against the same rounds' without."""
    rows = []
    for name, plain, figure in (("limited_awards", "awards", "awards/s"), ("limited_spins", "spins", "spins/s")):
        ratio = single[name].throughput / single[plain].throughput
        note = f"without limits {single[plain].throughput:.1f}/s; ratio {ratio:.3f}; errors {single[name].errors}"
        if single["cpu"][name]:
            with_limits = sum(cpu.per_request_ms(single["cpu"][name], single[name].requests))
            without = sum(cpu.per_request_ms(single["cpu"][plain], single[plain].requests))
            note += f"; CPU {with_limits:.3f} ms against {without:.3f} ms"
        rows.append({"figure": f"{plain}, every player with limits ({figure})", "value": round(single[name].throughput, 1),
                     "limit": f">= 0.95 x without = {0.95 * single[plain].throughput:.1f}",
                     "passed": ratio >= 0.95 and single[name].errors == 0, "note": note})
    return rows


def cpu_rows(single: dict) -> list[dict]:
    """CPU per request of the reference, the awards and the spins, from the same rounds as their throughput.
    No limit: they say what a request costs, and the bare reference's cost divided by an endpoint's is the
    throughput ratio a machine whose cores were all given to the service would show."""
    used = single["cpu"]
    if not used["reference"]:
        return [{"figure": "CPU per request", "value": "-", "limit": None, "passed": True,
                 "note": "not measured: no /proc here"}]
    server_ms, database_ms = cpu.per_request_ms(used["reference"], single["reference"].requests)
    bare = server_ms + database_ms
    rows = [{"figure": "CPU per bare request (ms)", "value": round(bare, 3), "limit": None, "passed": True,
             "note": f"server {server_ms:.3f} + database {database_ms:.3f}"}]
    for name, figure in (("awards", "CPU per award (ms)"), ("spins", "CPU per spin (ms)")):
        server_ms, database_ms = cpu.per_request_ms(used[name], single[name].requests)
        total = server_ms + database_ms
        rows.append({"figure": figure, "value": round(total, 3), "limit": None, "passed": True,
                     "note": f"server {server_ms:.3f} + database {database_ms:.3f}; bare / this = {bare / total:.2f}"})
    return rows


def main() -> int:
    if not wrk.available():
        print("make bench needs wrk (Debian package wrk); `make bench` installs it", file=sys.stderr)
        return 2
    server_url = LOCAL_SERVER_URL if server_reachable(LOCAL_SERVER_URL) else start_embedded_server(
        Path(tempfile.mkdtemp(prefix="spinledger-bench-")) / "data", cleanup="delete"
    )
    SERVER_LOG.write_bytes(b"")
    print(f"the server's log: {SERVER_LOG}", flush=True)
    dbname = f"spinledger_bench_{secrets.token_hex(4)}"
    create_database(server_url, dbname)
    port = 18000 + secrets.randbelow(1000)
    process = start_server(with_database(server_url, dbname), port)
    base = f"http://127.0.0.1:{port}"
    try:
        print("registering players ...", flush=True)
        players = register_players(base, PLAYERS)
        print("registering players with every limit set ...", flush=True)
        limited = register_players(base, PLAYERS)
        set_limits(base, limited)
        print(f"single awards: {CONNECTIONS} connections, {SECONDS:.0f} s each for the reference and the awards ...", flush=True)
        checkpoint(server_url)
        meter = cpu.CpuMeter(process.pid, with_database(server_url, dbname)) if cpu.available() else None
        try:
            single = bench_single_requests(port, players, limited, meter)
        finally:
            if meter is not None:
                meter.close()
        print(f"batch: {BATCH_TOTAL} awards in calls of {BATCH_SIZE}, {BATCH_CALLERS} callers ...", flush=True)
        checkpoint(server_url)
        batch_seconds, batch_errors = bench_batch(base, players)
        print(f"projection lag: the worker running while {SPIN_PLAYERS} players spin ...", flush=True)
        tokens_file = Path(tempfile.mkstemp(prefix="spinledger-tokens-")[1])
        tokens_file.write_text("\n".join(open_spin_sessions(base, players[:SPIN_PLAYERS])))
        lags = read_models.lag_under_spin_load(with_database(server_url, dbname), port, tokens_file, SECONDS / ROUNDS * 2, SPIN_PLAYERS)
        tokens_file.unlink()
        hooks = bench_webhooks_under_awards(base, port, with_database(server_url, dbname), players)
        checkpoint(server_url)
        campaign_figures = campaigns.bench_campaigns(base, AUTH, with_database(server_url, dbname), define_promotion(base, 1_000_000_000))
        fill_promo = define_promotion(base, 1_000_000_000)
    except BaseException:
        stop_server(process)
        drop_database(server_url, dbname)
        raise
    stop_server(process)
    try:
        figures = read_models.bench_read_models(with_database(server_url, dbname), players, fill_promo)
        process = start_server(with_database(server_url, dbname), port)
        try:
            audit = compliance.bench_compliance(base, AUTH, with_database(server_url, dbname), players)
            pages = console.bench_console(base, KEY, AUTH, players[0])
        finally:
            stop_server(process)
    finally:
        drop_database(server_url, dbname)

    print("spinledger rtp: exact maths and Monte Carlo ...", flush=True)
    exact_seconds, sampled = bench_rtp()
    reference, awards, spins = single["reference"], single["awards"], single["spins"]
    rows = [
        {"figure": "bare endpoint, one INSERT (req/s)", "value": round(reference.throughput, 1), "limit": None, "passed": reference.errors == 0,
         "note": f"p50 {reference.percentile(50):.1f} ms, p99 {reference.percentile(99):.1f} ms, errors {reference.errors}"},
        {"figure": "POST /api/v1/awards (awards/s)", "value": round(awards.throughput, 1),
         "limit": f">= 0.6 x bare = {0.6 * reference.throughput:.1f}", "passed": awards.throughput >= 0.6 * reference.throughput,
         "note": f"ratio {awards.throughput / reference.throughput:.2f}"},
        {"figure": "POST /api/v1/awards p50 (ms)", "value": round(awards.percentile(50), 2), "limit": None, "passed": True, "note": ""},
        {"figure": "POST /api/v1/awards p99 (ms)", "value": round(awards.percentile(99), 2), "limit": "<= 25", "passed": awards.percentile(99) <= 25, "note": ""},
        {"figure": "POST /api/v1/awards errors", "value": awards.errors, "limit": "= 0", "passed": awards.errors == 0, "note": f"of {awards.requests} requests"},
        {"figure": f"batch {BATCH_TOTAL} awards ({BATCH_SIZE}/call) seconds", "value": round(batch_seconds, 2), "limit": "<= 30",
         "passed": batch_seconds <= 30 and batch_errors == 0, "note": f"{BATCH_TOTAL / batch_seconds:.0f} awards/s, errors {batch_errors}"},
        {"figure": f"spins, {SPIN_PLAYERS} players (spins/s)", "value": round(spins.throughput, 1),
         "limit": f">= 0.5 x bare = {0.5 * reference.throughput:.1f}", "passed": spins.throughput >= 0.5 * reference.throughput,
         "note": f"ratio {spins.throughput / reference.throughput:.2f}"},
        {"figure": "spins p50 (ms)", "value": round(spins.percentile(50), 2), "limit": None, "passed": True, "note": ""},
        {"figure": "spins p99 (ms)", "value": round(spins.percentile(99), 2), "limit": "<= 30", "passed": spins.percentile(99) <= 30, "note": ""},
        {"figure": "spins errors", "value": spins.errors, "limit": "= 0", "passed": spins.errors == 0, "note": f"of {spins.requests} requests"},
        *limits_rows(single),
        *cpu_rows(single),
        {"figure": "projection lag p99 under spin load (ms)", "value": round(percentile(lags, 99) * 1000, 1), "limit": "<= 250",
         "passed": bool(lags) and percentile(lags, 99) <= 0.25, "note": f"{len(lags)} samples, max {max(lags, default=0) * 1000:.0f} ms"},
        {"figure": "webhook, award commit to receiver p99 (ms)", "value": round(percentile(hooks.latencies_ms, 99), 1), "limit": "<= 1000",
         "passed": bool(hooks.latencies_ms) and percentile(hooks.latencies_ms, 99) <= 1000 and hooks.refused == 0,
         "note": f"p50 {percentile(hooks.latencies_ms, 50):.0f} ms, {len(hooks.latencies_ms):,} deliveries of {hooks.awards_under_load:,} awards under wrk load, refused {hooks.refused}"},
        {"figure": "webhook delivery, backlog (webhooks/s)", "value": round(hooks.backlog / max(hooks.backlog_seconds, 1e-9)),
         "limit": ">= 1,000", "passed": hooks.backlog / max(hooks.backlog_seconds, 1e-9) >= 1000,
         "note": f"{hooks.backlog:,} deliveries to a local receiver in {hooks.backlog_seconds:.1f} s, signatures checked"},
        *campaigns.rows(campaign_figures),
        {"figure": "raw select_notifications read+decode (events/s)", "value": round(figures.raw_events_per_second), "limit": None,
         "passed": True, "note": "the library's own read, pages of 1,000"},
        {"figure": "projection rebuild, slowest (events/s)", "value": round(min(figures.rebuild_events_per_second.values())),
         "limit": f">= 0.5 x raw = {0.5 * figures.raw_events_per_second:.0f}",
         "passed": min(figures.rebuild_events_per_second.values()) >= 0.5 * figures.raw_events_per_second,
         "note": "store events gone through/s: " + ", ".join(f"{name} {rate:,.0f}" for name, rate in figures.rebuild_events_per_second.items())
                 + "; own events applied/s: " + ", ".join(f"{name} {rate:,.0f}" for name, rate in figures.rebuild_applied_per_second.items())},
        {"figure": f"reconciliation of {figures.reconcile_events:,} events (s)", "value": round(figures.reconcile_seconds, 2),
         "limit": "<= 30", "passed": figures.reconcile_seconds <= 30 and figures.reconcile_events >= read_models.RECONCILE_EVENTS,
         "note": f"status {figures.reconcile_status}"},
        {"figure": "reconciliation peak memory (MiB)", "value": round(figures.reconcile_peak_mib, 1), "limit": "<= 300",
         "passed": figures.reconcile_peak_mib <= 300, "note": "the whole process, interpreter included"},
        {"figure": "history, one player's first page p99 (ms)", "value": round(percentile(audit.first_page_ms, 99), 1), "limit": "<= 50",
         "passed": percentile(audit.first_page_ms, 99) <= 50,
         "note": f"p50 {percentile(audit.first_page_ms, 50):.1f} ms, max {max(audit.first_page_ms):.1f} ms, {len(audit.first_page_ms)} requests "
                 f"(first {len(audit.first_page_cold_ms)}, cold: max {max(audit.first_page_cold_ms):.1f} ms), GET /api/v1/events?player_id=..., "
                 f"{figures.reconcile_events:,} events stored; autovacuum on: {', '.join(audit.autovacuum) or 'nothing'}"},
        {"figure": "export over HTTP (events/s)", "value": round(audit.export_events / audit.export_seconds), "limit": ">= 50,000",
         "passed": audit.export_events / audit.export_seconds >= 50_000, "note": f"{audit.export_events:,} events as JSON Lines in {audit.export_seconds:.1f} s"},
        {"figure": "export peak memory, CLI (MiB)", "value": round(audit.cli_peak_mib, 1), "limit": "flat: <= a tenth's + 32",
         "passed": audit.cli_peak_mib <= audit.tenth_peak_mib + 32,
         "note": f"{audit.cli_events:,} events ({audit.cli_events / audit.cli_seconds:,.0f}/s); the last {audit.tenth_events:,}: {audit.tenth_peak_mib:.1f} MiB"},
        console_row(pages, figures.reconcile_events),
        {"figure": "exact RTP, every stop combination (s)", "value": round(exact_seconds, 2), "limit": "<= 5", "passed": exact_seconds <= 5, "note": ""},
        {"figure": "Monte Carlo engine (spins/s)", "value": round(sampled.evaluations_per_second), "limit": ">= 1,000,000",
         "passed": sampled.evaluations_per_second >= 1_000_000, "note": f"{sampled.evaluations:,} spins evaluated"},
    ]
    print()
    print(f"{'figure':45} {'value':>10}  {'limit':28} {'ok':4} note")
    for row in rows:
        print(f"{row['figure']:45} {row['value']!s:>10}  {row['limit'] or '':28} {'yes' if row['passed'] else 'NO':4} {row['note']}")
    (HERE / "results.json").write_text(json.dumps({"measured_at": iso(datetime.now(timezone.utc)), "rows": rows}, indent=2))
    return 0


def console_row(pages: list[console.PageFigures], events: int) -> dict[str, object]:
    """The slowest console page by its p99 server time, beside the API call it is built on."""
    slowest = max(pages, key=lambda figures: percentile(figures.page_server_ms, 99))
    page_p99 = percentile(slowest.page_server_ms, 99)
    return {"figure": "console, slowest page p99 server time (ms)", "value": round(page_p99, 1), "limit": "<= 200",
            "passed": all(percentile(figures.page_server_ms, 99) <= 200 for figures in pages),
            "note": f"{slowest.page} beside {slowest.api} (client p99 {percentile(slowest.api_client_ms, 99):.1f} ms; the page's client p99 "
                    f"{percentile(slowest.page_client_ms, 99):.1f} ms), {events:,} events stored; every page p99: "
                    + ", ".join(f"{figures.page.split('?')[0]} {percentile(figures.page_server_ms, 99):.1f}" for figures in pages)}


if __name__ == "__main__":
    sys.exit(main())
