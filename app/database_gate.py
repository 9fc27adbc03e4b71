"""How long a request waits for PostgreSQL, and what a process remembers of PostgreSQL being away.

Left to itself, a request that meets a stopped database waits the pool's checkout timeout on each of the
library's ten attempts (about 50 s), and every request behind it does the same. Here a request has a deadline
(``DATABASE_WAIT_SECONDS`` from its start); a checkout waits at most until then, and one that waited long and
got nothing closes the gate: the process's later requests are answered ``503`` at once, except one every
``PROBE_SECONDS``, which tries the database and opens the gate again when it answers. Work outside a request
(the worker, the issuers, the CLI) has no deadline and keeps the library's waits and retries.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from typing import Any, Callable

from eventsourcing.postgres import ConnectionPool, PostgresDatastore
from psycopg_pool import PoolTimeout

# When the current request must have its answer, as a time.monotonic() reading; None outside a request.
REQUEST_DEADLINE: ContextVar[float | None] = ContextVar("spinledger_request_deadline", default=None)

PROBE_SECONDS = 0.25
# The shortest checkout wait: a request past its deadline (a long one, on a healthy database) still gets a
# connection the pool has, or one about to be returned.
LEAST_WAIT_SECONDS = 0.05
# What a request keeps of its time for its answer after its last wait for the database.
ANSWER_MARGIN_SECONDS = 0.25
# How long the pool keeps trying, in the background, to replace a connection it lost. The library's five minutes
# of growing back-offs (1, 2, 4, ... s) would leave the first requests after a restart waiting for the next
# attempt; given up this soon, the next request's checkout starts an attempt at once.
RECONNECT_GIVE_UP_SECONDS = 1.0


class DatabaseUnavailable(Exception):
    """PostgreSQL did not give a connection in the request's time. Not a psycopg or eventsourcing error, so that
    no retry loop takes it for a passing failure: the client retries, told so by its 503."""


class DatabaseGate:
    """Whether this process has lately found PostgreSQL away. Its state is two numbers, read and written by the
    requests of one process: a race between two of them costs at most an extra probe."""

    def __init__(self, wait_seconds: float, *, clock: Callable[[], float] = time.monotonic):
        self.wait_seconds = wait_seconds
        self._clock = clock
        self._down = False
        self._next_probe = 0.0

    @property
    def down(self) -> bool:
        return self._down

    def deadline(self) -> float:
        """The deadline of a request starting now."""
        return self._clock() + max(self.wait_seconds - ANSWER_MARGIN_SECONDS, LEAST_WAIT_SECONDS)

    def admit(self, deadline: float) -> tuple[float, bool]:
        """How long a checkout may wait, and whether that wait is long enough for its timing out to say that the
        database is away. Raises ``DatabaseUnavailable`` while the gate is closed, but for the probes."""
        now = self._clock()
        if self._down:
            if now < self._next_probe:
                raise DatabaseUnavailable("the database has not answered lately")
            self._next_probe = now + PROBE_SECONDS
        remaining = deadline - now
        return max(remaining, LEAST_WAIT_SECONDS), remaining >= self.wait_seconds / 2

    def unreachable(self) -> None:
        if not self._down:
            self._down, self._next_probe = True, self._clock() + PROBE_SECONDS

    def reached(self) -> None:
        self._down = False


class GatedPool(ConnectionPool[Any]):
    """The library's pool, whose checkouts in a request wait no longer than the request's deadline and pass the
    gate first; a broken connection returned makes it check its idle ones at once."""

    def __init__(self, gate: DatabaseGate, **kwargs: Any):
        super().__init__(**kwargs)
        self.gate = gate

    def getconn(self, timeout: float | None = None) -> Any:
        deadline = REQUEST_DEADLINE.get()
        if deadline is None or timeout is not None:
            return super().getconn(timeout)
        wait, telling = self.gate.admit(deadline)
        try:
            return super().getconn(wait)
        except PoolTimeout as timed_out:
            if telling:
                self.gate.unreachable()
            raise DatabaseUnavailable(f"no database connection within {wait:.2f} s") from timed_out

    def putconn(self, conn: Any) -> None:
        broken = conn.broken
        super().putconn(conn)
        if broken:
            # The failure that broke it (a restart, a stop) broke the idle ones too: found now, and replaced,
            # rather than one request's statement at a time.
            self.check()
        else:
            self.gate.reached()


def gate_pool(datastore: PostgresDatastore, gate: DatabaseGate) -> None:
    """Gives a datastore a ``GatedPool`` of the same settings in place of its pool (closed: the Application opens
    it as it starts, before anything is asked of it)."""
    pool = datastore.pool
    pool.close()
    datastore.pool = GatedPool(
        gate, connection_class=pool.connection_class, kwargs=pool.kwargs, min_size=pool.min_size, max_size=pool.max_size,
        open=False, configure=datastore.after_connect_func(),
        check=ConnectionPool.check_connection if datastore.pre_ping else None,
        timeout=pool.timeout, max_waiting=pool.max_waiting, max_lifetime=pool.max_lifetime, max_idle=pool.max_idle,
        reconnect_timeout=RECONNECT_GIVE_UP_SECONDS, num_workers=pool.num_workers, name=pool.name,
        get_password_func=pool.get_password_func,
    )
