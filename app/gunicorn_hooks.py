"""Gunicorn server hooks (``spinledger serve`` loads this file with ``-c``)."""

from __future__ import annotations

import gc
import os
import shutil
from typing import Any

from gunicorn.glogging import Logger


def worker_exit(server: Any, worker: Any) -> None:
    """Closes the worker's connection pools while its event loop still runs, after in-flight requests."""
    application = getattr(worker, "wsgi", None)
    services = getattr(application, "extensions", {}).get("spinledger")
    if services is not None:
        services.close()


def post_worker_init(worker: Any) -> None:
    """Takes what the worker holds once the app is loaded (modules, the app, its schemas) out of the garbage
    collector's full passes, after collecting what is already garbage: nearly all of it lives as long as the
    worker. Walking it made each full pass stop every request of the worker for 40-50 ms under the award
    benchmark's load; 3-5 ms now."""
    gc.collect()
    gc.freeze()


def pre_request(worker: Any, req: Any) -> None:
    """Lets the worker's other ready connections run before this request is handled.

    A gevent worker switches between connections only when one waits. A keep-alive client whose next
    request is already waiting in the socket never does, and can starve the others: measured here, a
    no-op endpoint's p99 went from 78 ms to 19 ms with this yield.
    """
    import gevent  # here, not at the top: this file is loaded by the master, before gevent patches the worker

    gevent.sleep(0)


class WithoutAccessLog(Logger):
    """gunicorn's logger, its access log off: the app writes the one line per request (``spinledger.access``,
    with the request id and the route). Turned off by configuration alone (no handler for ``gunicorn.access``),
    gunicorn still built every request's line and log record before dropping them: about 0.07 ms of a worker's
    CPU per request, a tenth of the benchmark's bare endpoint. (A logger class of our own also means that
    gunicorn's ``--access-logfile`` writes nothing, and a statsd host does not switch to gunicorn's statsd logger.)"""

    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        return None


logger_class = WithoutAccessLog

OWNED_METRICS_DIR = "SPINLEDGER_OWNED_METRICS_DIR"  # set by ``serve`` when it made the metrics directory

# gunicorn's own lines (start, workers booting and exiting) as JSON, through the same handler as the app's;
# its access log is off (``WithoutAccessLog``): the app writes one line per request, with the request id and the route.
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "app.logs.JsonLines"}},
    "filters": {"request_id": {"()": "app.logs.RequestIdFilter"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "formatter": "json", "filters": ["request_id"]}},
    "root": {"handlers": ["stderr"], "level": os.environ.get("LOG_LEVEL", "INFO").upper()},
    "loggers": {
        "gunicorn.error": {"handlers": [], "propagate": True},
        "gunicorn.access": {"handlers": [], "propagate": False},
    },
}


def child_exit(server: Any, worker: Any) -> None:
    """A worker's request metrics stay counted after it exits; its live gauges (none yet) would be dropped."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def on_exit(server: Any) -> None:
    owned = os.environ.get(OWNED_METRICS_DIR)
    if owned:
        shutil.rmtree(owned, ignore_errors=True)
