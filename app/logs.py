"""Log lines as JSON objects, one per line on standard error, each line of a request carrying its request id.

The worker and the CLI log through ``configure_logging``; under ``spinledger serve``, gunicorn's master and
workers through ``gunicorn_hooks.logconfig_dict``, which sets up the same handler for the app's loggers and
gunicorn's own.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone
from typing import Any

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# The attributes every LogRecord has; any other was passed as ``extra=`` and is written as a field.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update((key, value) for key, value in vars(record).items() if key not in _STANDARD and key not in line)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


class RequestIdFilter(logging.Filter):
    """Adds the request id of the Flask request being handled, if any, to each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        # Flask looked up, not imported: gunicorn's master loads this module and must stay free of it (app/__init__.py).
        flask = sys.modules.get("flask")
        if "request_id" not in vars(record) and flask is not None and flask.has_request_context():
            record.request_id = flask.g.get("request_id")
        return True


def json_handler() -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines())
    handler.addFilter(RequestIdFilter())
    return handler


def configure_logging(level: str = "INFO") -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(json_handler())
    root.setLevel(level)
    # The job queue says at every start that it registered its built-in tasks: not news to anyone.
    logging.getLogger("procrastinate.blueprints").setLevel(max(logging.WARNING, root.level))
