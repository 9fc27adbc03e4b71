"""What a console page shows when its use case fails: the API's code and message, in a page, with the status the
API would answer; the database away or an unexpected error, a page that says so (never a JSON envelope)."""

from __future__ import annotations

import logging

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError
from flask import g, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from app.console.signin import blp
from app.database_gate import DatabaseUnavailable
from app.errors import STATUS_BY_CODE, ApiError
from domain.errors import DomainError

logger = logging.getLogger(__name__)


def _page(title: str, message: str, status: int) -> tuple[str, int]:
    return render_template("console/error.html", title=title, status=status, message=message,
                           request_id=g.get("request_id")), status


@blp.errorhandler(CSRFError)
def _csrf_refused(_: CSRFError) -> tuple[str, int]:
    return _page("Form refused", "This form was not sent from this console session (its CSRF token is missing or stale): "
                                 "go back, reload the page and send it again.", 400)


@blp.errorhandler(ApiError)
@blp.errorhandler(DomainError)
def _refused(error: ApiError | DomainError) -> tuple[str, int]:
    status = STATUS_BY_CODE.get(error.code, 400)
    return _page("Not found" if status == 404 else "Refused", f"{error.code}: {error.message}", status)


@blp.errorhandler(HTTPException)
def _http(error: HTTPException) -> tuple[str, int]:
    return _page(error.name, error.description or error.name, error.code or 500)


@blp.errorhandler(DatabaseUnavailable)
@blp.errorhandler(OperationalError)
@blp.errorhandler(InterfaceError)
@blp.errorhandler(psycopg.OperationalError)
def _database_unavailable(error: Exception) -> tuple[str, int]:
    logger.warning("console: database unavailable: %s", error)
    return _page("Database unavailable", "The database did not answer in time: reload the page in a moment.", 503)


@blp.errorhandler(Exception)
def _unexpected(_: Exception) -> tuple[str, int]:
    logger.exception("console: unhandled error")
    return _page("Something went wrong", "The page could not be made; the error is in the service's log under this request id.", 500)
