"""The CPU a round of requests cost: the server's processes and the database's, read from ``/proc``.

Throughput on a 2-core machine swings with whatever else runs on it, and the load generator shares the
cores; the CPU time each request costs swings far less. Beside the throughput ratios, it tells whether a
change made an endpoint cheaper, and what an endpoint costs against the bare reference.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, TypeVar

import psycopg

T = TypeVar("T")
PROC = Path("/proc")
TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class CpuUse:
    server_seconds: float  # gunicorn's master and workers
    database_seconds: float  # the PostgreSQL backends connected to the benchmark's database


def available() -> bool:
    return (PROC / "self" / "stat").exists()


def per_request_ms(uses: list[CpuUse], requests: int) -> tuple[float, float]:
    """Server and database milliseconds of CPU per request over ``uses``."""
    return (
        1000 * sum(u.server_seconds for u in uses) / max(1, requests),
        1000 * sum(u.database_seconds for u in uses) / max(1, requests),
    )


class CpuMeter:
    """Measures a call's CPU in the process tree of ``server_pid`` and in the database's backends.

    The backends are those connected to the database while the call runs (looked up before and after it);
    one that connected during the call counts from its start, one that left during it is not counted.
    """

    def __init__(self, server_pid: int, database_url: str):
        self._server_pid = server_pid
        self._conn = psycopg.connect(database_url, autocommit=True)

    def around(self, call: Callable[[], T]) -> tuple[T, CpuUse]:
        server_before, database_before = self._times(self._server_pids()), self._times(self._backend_pids())
        result = call()
        server_after, database_after = self._times(self._server_pids()), self._times(self._backend_pids())
        return result, CpuUse(_spent(server_before, server_after), _spent(database_before, database_after))

    def close(self) -> None:
        self._conn.close()

    def _server_pids(self) -> set[int]:
        parents = {pid: ppid for pid, ppid in _parents()}
        tree, grew = {self._server_pid}, True
        while grew:
            children = {pid for pid, ppid in parents.items() if ppid in tree} - tree
            tree |= children
            grew = bool(children)
        return tree

    def _backend_pids(self) -> set[int]:
        rows = self._conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
        return {pid for (pid,) in rows}

    @staticmethod
    def _times(pids: set[int]) -> dict[int, int]:
        times = {}
        for pid in pids:
            fields = _stat_fields(pid)
            if fields is not None:
                times[pid] = int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks
        return times


def _spent(before: dict[int, int], after: dict[int, int]) -> float:
    return sum(ticks - before.get(pid, 0) for pid, ticks in after.items()) / TICKS_PER_SECOND


def _parents() -> Iterable[tuple[int, int]]:
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None:
                yield int(entry.name), int(fields[1])


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (the state first, then the parent's pid)."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:  # gone meanwhile
        return None
    return stat[stat.rindex(")") + 2 :].split()
