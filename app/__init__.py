"""spinledger's HTTP service and its infrastructure. ``app.bootstrap`` builds every process's parts; ``create_app`` (in
``app.factory``) is the web app over them.

This file imports nothing: gunicorn's master loads ``app.gunicorn_hooks`` and ``app.logs`` before it forks
the gevent workers, and a database driver imported there, before gevent patches the standard library,
would wait on the database without yielding (psycopg picks its wait function when first imported).
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from app.factory import create_app

        return create_app
    raise AttributeError(f"module 'app' has no attribute {name!r}")
