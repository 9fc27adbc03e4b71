"""Gunicorn server hooks (``spinledger serve`` loads this file with ``-c``)."""

from __future__ import annotations

from typing import Any


def worker_exit(server: Any, worker: Any) -> None:
    """Closes the worker's connection pools while its event loop still runs, after in-flight requests."""
    application = getattr(worker, "wsgi", None)
    services = getattr(application, "extensions", {}).get("spinledger")
    if services is not None:
        services.close()
