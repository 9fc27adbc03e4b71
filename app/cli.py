"""The ``spinledger`` command: ``serve`` (gunicorn), ``worker`` (projections and scheduler), ``run``
(development: both, on an embedded PostgreSQL), ``db upgrade``, ``db version``, ``projections rebuild``,
``reconcile``, ``events export``, ``audit purge``, ``campaigns status``, ``rtp``, ``smoke``."""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterator, TypeVar

import psycopg

from app import gunicorn_hooks
from app.audit_cli import add_audit_commands, audit_command
from app.campaign_cli import add_campaign_commands, campaign_command
from app.cli_database import DatabaseUnreachable, with_reachable_database
from app.config import ConfigError, Settings
from app.database import create_database, start_embedded_server, with_database
from app.db_cli import add_db_commands, db_command
from app.logs import configure_logging
from app.openapi_cli import add_openapi_command, openapi_command
from app.schema import first_line
from app.smoke import add_smoke_command, smoke_command

WSGI_TARGET = "app.wsgi:application"
T = TypeVar("T")


def serve(settings: Settings, target: str = WSGI_TARGET) -> None:
    """Replaces this process with gunicorn serving ``target``."""
    prepare_metrics_dir()
    args = [
        sys.executable, "-m", "gunicorn",
        "--config", f"python:{gunicorn_hooks.__name__}",
        # gevent: requests wait on the database cooperatively (psycopg 3 supports it), so a process
        # serves many at once without threads contending for the interpreter lock.
        "--worker-class", "gevent",
        "--worker-connections", str(settings.web_connections),
        "--workers", str(settings.web_concurrency),
        "--bind", f"{settings.host}:{settings.port}",
        "--graceful-timeout", "30",
        "--timeout", "60",
        "--log-level", settings.log_level.lower(),
        target,
    ]
    os.execv(sys.executable, args)


def prepare_metrics_dir() -> None:
    """The directory the gunicorn workers share their request metrics through: the operator's
    ``PROMETHEUS_MULTIPROC_DIR``, emptied of a previous run's files, else a fresh one that the master removes
    when it exits."""
    from app.metrics import MULTIPROCESS_DIR

    chosen = os.environ.get(MULTIPROCESS_DIR)
    if chosen:
        Path(chosen).mkdir(parents=True, exist_ok=True)
        for stale in Path(chosen).glob("*.db"):
            stale.unlink()
        return
    for stale in Path(tempfile.gettempdir()).glob("spinledger-metrics-*-*"):  # left by a server that was killed
        owner = stale.name.split("-")[2]
        if owner.isdigit() and not _alive(int(owner)):
            shutil.rmtree(stale, ignore_errors=True)
    # Named after this process, which becomes gunicorn's master (exec keeps the pid).
    os.environ[MULTIPROCESS_DIR] = tempfile.mkdtemp(prefix=f"spinledger-metrics-{os.getpid()}-")
    os.environ[gunicorn_hooks.OWNED_METRICS_DIR] = os.environ[MULTIPROCESS_DIR]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run(settings: Settings) -> int:
    """Development: an embedded PostgreSQL when DATABASE_URL is unset, and the server, until Ctrl-C."""
    env = dict(os.environ)
    if not settings.database_url:
        server_url = start_embedded_server(Path(settings.data_dir).resolve() / "pgdata")
        create_database(server_url, "spinledger")
        env["DATABASE_URL"] = with_database(server_url, "spinledger")
        print(f"embedded PostgreSQL under {settings.data_dir}/pgdata", flush=True)
    print(f"spinledger on http://{settings.host}:{settings.port}", flush=True)
    children = [subprocess.Popen([sys.executable, "-m", "app.cli", command], env=env) for command in ("serve", "worker")]

    def forward(signum: int, _frame: object) -> None:
        for child in children:
            child.send_signal(signum)

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    while all(child.poll() is None for child in children):  # one stopped: stop the other too
        time.sleep(0.5)
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    return max(child.wait() for child in children)


def rebuild_projections(settings: Settings, names: list[str]) -> int:
    """Rebuilds each named projection (all by default) from position zero, with a progress bar."""
    from tqdm import tqdm

    from app.bootstrap import projections_datastore
    from projections.catalogue import PROJECTIONS
    from projections.rebuild import rebuild
    from projections.source import EventSource

    assert settings.database_url, "one_shot commands run with_reachable_database first"
    unknown = sorted(set(names) - set(PROJECTIONS))
    if unknown:
        print(f"spinledger: no projection {', '.join(unknown)} (there are {', '.join(PROJECTIONS)})", file=sys.stderr)
        return 2
    datastore = projections_datastore(settings.database_url)
    try:
        head = EventSource(datastore).head()
        for name in names or list(PROJECTIONS):
            with tqdm(total=head, unit="event", unit_scale=True, desc=f"rebuild {name}", file=sys.stderr) as bar:
                position = rebuild(datastore, name, bar.update)
            print(f"{name}: rebuilt to position {position} and swapped in", flush=True)
    finally:
        datastore.close()
    return 0


def rtp(spins: int, seed: int | None) -> int:
    """Prints the game's certification report; exits 1 if the RTP misses its target or Monte Carlo disagrees."""
    import time

    from tqdm import tqdm

    from domain.slot.certification import report
    from domain.slot.certification.exact import exact_report
    from domain.slot.certification.montecarlo import simulate
    from domain.slot.crystal_forge import CRYSTAL_FORGE

    started = time.perf_counter()
    exact = exact_report(CRYSTAL_FORGE)
    exact_seconds = time.perf_counter() - started
    sampled = None
    if spins:
        with tqdm(total=spins, unit="spin", unit_scale=True, desc="Monte Carlo", file=sys.stderr) as bar:
            drawn = seed if seed is not None else int.from_bytes(os.urandom(8), "big")
            sampled = simulate(CRYSTAL_FORGE, spins, seed=drawn, timer=time.perf_counter, progress=bar.update)
    print(report.render(CRYSTAL_FORGE, exact, exact_seconds, sampled))
    confirmed = sampled is None or report.confirms(exact, sampled)
    return 0 if report.within_target(exact) and confirmed else 1


def reconcile_now(settings: Settings, as_of: str | None) -> int:
    """Runs a reconciliation, prints its checks and discrepancies; exits 0 when clean, 1 on an alert."""
    from datetime import datetime, timezone

    from app.bootstrap import bootstrap
    from app.errors import ApiError

    when = None
    if as_of:
        try:
            when = datetime.fromisoformat(as_of.replace("Z", "+00:00"))
        except ValueError:
            print(f"spinledger: --as-of must be an ISO-8601 instant such as 2026-11-21T02:00:00Z, got {as_of!r}", file=sys.stderr)
            return 2
        if when.tzinfo is None:
            print("spinledger: --as-of must carry a UTC offset, such as 2026-11-21T02:00:00Z", file=sys.stderr)
            return 2
        when = when.astimezone(timezone.utc)
    services = bootstrap(settings)
    try:
        report = services.reconcile(when)
    except ApiError as busy:
        print(f"spinledger: {busy.message}", file=sys.stderr)
        return 2
    finally:
        services.close()
    print(f"reconciliation {report['run_id']}: {report['status']} ({report['events_read']} of {report.get('events_total', report['events_read'])} events read, {report['seconds']} s)")
    for check in report["checks"]:
        flag = "ALERT" if check["alert"] else "ok"
        print(f"  {check['name']:28} expected {check['expected']!s:>16} actual {check['actual']!s:>16} drift {check['drift_pct']!s:>8} %  {flag}")
    for item in report["discrepancies"]:
        print(f"  discrepancy: {item['entity']} {item['id']} {item['field']}: expected {item['expected']}, actual {item['actual']}")
    return 1 if report["status"] == "drift" else 0


def export_events(settings: Settings, args: argparse.Namespace) -> int:
    """Writes the selected events, in position order, as JSON Lines or CSV to a file or stdout, with a
    progress bar; the same selection and format as GET /api/v1/events/export."""
    from marshmallow import ValidationError
    from tqdm import tqdm

    from app.event_export import FORMATS
    from app.schemas.compliance import ExportArgsSchema
    from app.bootstrap import projections_datastore
    from projections.event_history import EventHistory

    assert settings.database_url, "one_shot commands run with_reachable_database first"
    query = {"player_id": args.player_id, "promo_id": args.promo_id, "award_id": args.award_id, "type": args.type,
             "from": args.since, "to": args.until, "after": args.after, "format": args.format}
    try:
        parsed = ExportArgsSchema().load({k: v for k, v in query.items() if v is not None})
    except ValidationError as error:
        for name, problems in error.normalized_messages().items():
            print(f"spinledger: --{name.replace('_', '-')}: {' '.join(map(str, problems))}", file=sys.stderr)
        return 2
    datastore = projections_datastore(settings.database_url)
    history = EventHistory(datastore)
    lines, _ = FORMATS[parsed["format"]]
    out = sys.stdout if args.output == "-" else open(args.output, "w", newline="", encoding="utf-8")
    written = 0

    def advance(count: int) -> None:
        nonlocal written
        written += count
        bar.update(count)

    try:
        total = history.count(parsed["selection"], parsed["after"])  # for the bar: the export may find more
        with tqdm(total=total, unit="event", unit_scale=True, desc="export", file=sys.stderr) as bar:
            for line in lines(_counted(history.stream(parsed["selection"], parsed["after"]), advance)):
                out.write(line)
    finally:
        if out is not sys.stdout:
            out.close()
        datastore.close()
    print(f"{written} events written to {'standard output' if args.output == '-' else args.output}", file=sys.stderr)
    return 0


def _counted(rows: Iterator[T], update: Callable[[int], object], every: int = 1000) -> Iterator[T]:
    """The rows, telling ``update`` how many went by, a thousand at a time (a bar's update costs more than a row)."""
    count = 0
    for count, row in enumerate(rows, 1):
        if count % every == 0:
            update(every)
        yield row
    update(count % every)


def positive_or_zero(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="spinledger", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="serve the HTTP API under gunicorn (HOST, PORT, WEB_CONCURRENCY, WEB_CONNECTIONS)")
    commands.add_parser("run", help="development: serve and worker, on an embedded PostgreSQL when DATABASE_URL is unset")
    commands.add_parser("worker", help="run the projections, the webhook sender, the scheduler and the campaign queue, supervised")
    projections_parser = commands.add_parser("projections", help="manage the read models")
    projection_commands = projections_parser.add_subparsers(dest="projections_command", required=True)
    rebuild_parser = projection_commands.add_parser("rebuild", help="rebuild from position zero into fresh tables, then swap them in")
    from projections.catalogue import PROJECTIONS

    rebuild_parser.add_argument("names", nargs="*", metavar="NAME", help=", ".join(PROJECTIONS) + " (default: all)")
    reconcile_parser = commands.add_parser("reconcile", help="compare the read models with the events now; exit 1 on an alert")
    reconcile_parser.add_argument("--as-of", help="evaluate expiry and liability at this UTC instant (default: now)")
    events_parser = commands.add_parser("events", help="compliance: the event history")
    event_commands = events_parser.add_subparsers(dest="events_command", required=True)
    export_parser = event_commands.add_parser("export", help="write the selected events as JSON Lines or CSV, with a progress bar")
    export_parser.add_argument("--player-id")
    export_parser.add_argument("--promo-id")
    export_parser.add_argument("--award-id")
    export_parser.add_argument("--type", action="append", help="an event type; repeat for several")
    export_parser.add_argument("--from", dest="since", metavar="INSTANT", help="events at or after this UTC instant, e.g. 2026-11-01T00:00:00Z")
    export_parser.add_argument("--to", dest="until", metavar="INSTANT", help="events before this UTC instant")
    export_parser.add_argument("--after", help="only events past this position (to resume an export)")
    export_parser.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    export_parser.add_argument("--output", "-o", default="-", help="the file to write (default: standard output)")
    rtp_parser = commands.add_parser("rtp", help="the game's exact RTP and its statistics, confirmed by Monte Carlo")
    rtp_parser.add_argument("--spins", type=positive_or_zero, default=10_000_000, help="Monte Carlo base spins (0: none; default 10,000,000)")
    rtp_parser.add_argument("--seed", type=int, default=None, help="seed of the Monte Carlo generator, to repeat a run")
    add_audit_commands(commands)
    add_campaign_commands(commands)
    add_db_commands(commands)
    add_smoke_command(commands)
    add_openapi_command(commands)
    args = parser.parse_args(argv)
    if args.command == "rtp":
        return rtp(args.spins, args.seed)
    if args.command == "smoke":
        return smoke_command(args)
    try:
        settings = Settings.from_env()
    except ConfigError as error:
        print(f"spinledger: {error}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    if args.command in ONE_SHOT_COMMANDS:
        try:
            settings = with_reachable_database(settings)
            return one_shot(settings, args)
        except DatabaseUnreachable as unreachable:
            print(f"spinledger: {unreachable}", file=sys.stderr)
        except psycopg.OperationalError as lost:  # reached at the start, lost on the way
            print(f"spinledger: lost the database: {first_line(lost)}", file=sys.stderr)
        return 2
    if args.command == "serve":
        serve(settings)
    if args.command == "worker":
        from app.worker import run_worker

        return run_worker(settings)
    return run(settings)


# The commands that do one thing on the database and exit: they find it as with_reachable_database says.
ONE_SHOT_COMMANDS = ("projections", "reconcile", "events", "audit", "db", "campaigns", "openapi")


def one_shot(settings: Settings, args: argparse.Namespace) -> int:
    if args.command == "projections":
        return rebuild_projections(settings, args.names)
    if args.command == "reconcile":
        return reconcile_now(settings, args.as_of)
    if args.command == "events":
        return export_events(settings, args)
    if args.command == "audit":
        return audit_command(settings, args)
    if args.command == "db":
        return db_command(settings, args)
    if args.command == "openapi":
        return openapi_command(settings, args)
    return campaign_command(settings, args)


if __name__ == "__main__":
    sys.exit(main())
