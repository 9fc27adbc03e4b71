"""The console: finance, compliance and marketing pages at ``/console/``, server-rendered (Jinja) over the same use
cases, and dumped by the same schemas, as the API routes they stand beside, so that a page's figures are the API's.

A person signs in with an API key; the console keeps a signed, expiring session cookie holding a session id and the
key's digest, never the key, and a page needs the scope its API route needs. ``signin`` holds the blueprint, the
session, the scopes and the CSRF checks; ``finance``, ``compliance``, ``marketing`` and ``operations`` the pages;
``failures`` what a page shows when its use case fails; ``charts`` and ``grid`` the geometry of what is drawn;
``forms`` the reading of a page's query string through the API's schemas.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from app.console import compliance, failures, finance, marketing, operations
from app.console.signin import COOKIE_NAME, blp

# The modules whose routes and error pages are on ``blp``.
PAGES = (finance, compliance, marketing, operations, failures)


def install_console(app: Flask, signing_key: bytes) -> None:
    """Serves the console from ``app``, its cookies signed with ``signing_key``."""
    settings = app.extensions["spinledger"].settings
    app.secret_key = signing_key
    app.config.update(
        SESSION_COOKIE_NAME=COOKIE_NAME, SESSION_COOKIE_PATH="/console", SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict", SESSION_COOKIE_SECURE=settings.console_cookie_secure,
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=settings.console_session_minutes),
        SESSION_REFRESH_EACH_REQUEST=False,  # a session lasts its lifetime from sign-in, however busy
        WTF_CSRF_TIME_LIMIT=None,  # a token lives as long as the session it is bound to
        WTF_CSRF_FIELD_NAME="csrf_token",
    )
    app.register_blueprint(blp)


__all__ = ["PAGES", "install_console"]
