"""Signing in to the console with an API key, the session cookie, CSRF tokens, and the scope each page needs.

The cookie is Flask's signed session (``itsdangerous``), ``HttpOnly``, ``SameSite=Strict``, scoped to
``/console`` and expiring after ``CONSOLE_SESSION_MINUTES``. It holds a session id, open in ``console_sessions``
until sign-out or expiry, and the key's SHA-256 digest, never the key: each request finds the key again by its
digest, so a key removed from ``SPINLEDGER_API_KEYS`` signs its sessions out.
Every form carries a CSRF token (Flask-WTF's), checked on every POST, sign-in included.
"""

from __future__ import annotations

import functools
import time
from typing import Any, Callable, TypeVar

from flask import Blueprint, current_app, g, redirect, render_template, request, session, url_for
from flask_wtf.csrf import CSRFError, generate_csrf, validate_csrf
from markupsafe import Markup
from werkzeug.wrappers import Response

from app.auth import ApiKey
from app.services import services

F = TypeVar("F", bound=Callable[..., Any])

blp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates",
                static_folder="static", static_url_path="/static")
COOKIE_NAME = "spinledger_console"
# Pages may load only the console's own stylesheet; nothing from elsewhere, no script, no frame.
CONSOLE_CSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
OPEN_ENDPOINTS = ("console.login", "console.static")


@blp.app_template_global()
def csrf_field() -> Markup:
    return Markup('<input type="hidden" name="csrf_token" value="{}">').format(generate_csrf())


@blp.before_request
def _signed_in() -> Response | None:
    g.console_started = time.perf_counter()
    if request.method == "POST":
        try:
            validate_csrf(request.form.get("csrf_token"))
        except Exception as refused:  # wtforms' ValidationError: missing, expired or not this session's
            raise CSRFError(str(refused)) from None
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    key = _session_key()
    if key is None:
        session.clear()
        return redirect(url_for("console.login", next=request.full_path.rstrip("?")))
    g.console_key = key
    return None


@blp.after_request
def _page_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CONSOLE_CSP
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    if "console_started" in g:  # the page's time in the server, for a person's browser tools and the benchmark
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - g.console_started) * 1000:.1f}"
    return response


def _session_key() -> ApiKey | None:
    """The signed-in key: the cookie's session still open (not signed out, not expired), its key still configured."""
    digest, session_id = session.get("key"), session.get("sid")
    if not isinstance(digest, str) or not isinstance(session_id, str):
        return None
    try:
        raw = bytes.fromhex(digest)
    except ValueError:
        return None
    if not services().console_sessions.is_open(session_id, services().clock.now()):
        return None
    return services().keyring.by_digest(raw)


def holds(*scopes: str) -> bool:
    key = g.get("console_key")
    return key is not None and bool(key.scopes & set(scopes))


@blp.app_template_global()
def console_holds(*scopes: str) -> bool:
    return holds(*scopes)


def needs_scope_of(api_view: Callable[..., Any]) -> Callable[[F], F]:
    """The page needs one of the scopes its API route, ``api_view``, needs: the two cannot drift apart."""
    accepted: tuple[str, ...] = api_view.required_scopes  # type: ignore[attr-defined]
    return needs(*accepted)


def needs(*accepted: str) -> Callable[[F], F]:
    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not holds(*accepted):
                return render_template("console/forbidden.html", title="Not allowed", scopes=accepted), 403
            return view(*args, **kwargs)

        wrapper.required_scopes = accepted  # type: ignore[attr-defined]  # the home page lists them
        return wrapper  # type: ignore[return-value]

    return decorate


@blp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    target = _safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template("console/login.html", title="Sign in", next=target, refused=False)
    key = services().keyring.authenticate(request.form.get("api_key", ""))
    if key is None:
        return render_template("console/login.html", title="Sign in", next=target, refused=True), 401
    lifetime = current_app.permanent_session_lifetime
    _close_session()  # signing in again ends the previous session: a copy of its cookie opens nothing
    session.clear()  # a fresh session (and CSRF token) at each sign-in
    session.permanent = True
    session["sid"] = services().console_sessions.open(key.name, services().clock.now(), lifetime, services().random_bytes)
    session["key"] = key.digest.hex()
    current_app.logger.info("console: %s signed in", key.name)
    return redirect(target)


@blp.route("/logout", methods=["POST"])
def logout() -> Response:
    _close_session()
    session.clear()
    return redirect(url_for("console.login"))


def _close_session() -> None:
    if isinstance(session.get("sid"), str):
        services().console_sessions.close(session["sid"], services().clock.now())


def _safe_next(target: str | None) -> str:
    """Only a console page: never another site (an open redirect) nor a scheme-relative ``//host``."""
    if target and target.startswith("/console/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("console.home")


# The pages the home page lists: (endpoint, name, who it is for); their scopes are read off the pages themselves.
PAGES = (
    ("console.reconciliation", "Reconciliation", "finance"),
    ("console.liability", "Liability", "finance"),
    ("console.events", "Event history", "compliance"),
    ("console.audit", "Audit log", "compliance"),
    ("console.promotions", "Promotions", "marketing"),
    ("console.operations", "Operations", "on-call"),
)


@blp.context_processor
def _console_pages() -> dict[str, Any]:
    return {"console_pages": PAGES}


@blp.route("/")
def home() -> str:
    pages = [(endpoint, name, audience, getattr(current_app.view_functions[endpoint], "required_scopes", ()))
             for endpoint, name, audience in PAGES]
    return render_template("console/home.html", title="Console", pages=pages)
