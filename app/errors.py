"""The one error envelope, for every failure of every route (seed 001 §6)."""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError
from flask import Flask, Response, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException

from app.database_gate import DatabaseUnavailable
from app.timefmt import format_instant
from domain.errors import DomainError

logger = logging.getLogger(__name__)

STATUS_BY_CODE = {
    "VALIDATION_ERROR": 400,
    "MISSING_FIELD": 400,
    "UNSUPPORTED_API_VERSION": 400,
    "UNAUTHORIZED": 401,
    "FORBIDDEN": 403,
    "INELIGIBLE": 403,
    "REGION_BLOCKED": 403,
    "PLAYER_SELF_EXCLUDED": 403,
    "DEPOSIT_LIMIT_EXCEEDED": 403,
    "PROMOTIONS_PAUSED": 403,
    "REVIEW_NOT_FOUND": 404,
    "REVIEW_ALREADY_DECIDED": 409,
    "LOSS_LIMIT_REACHED": 403,
    "NOT_FOUND": 404,
    "PLAYER_NOT_FOUND": 404,
    "PROMO_NOT_FOUND": 404,
    "AWARD_NOT_FOUND": 404,
    "RUN_NOT_FOUND": 404,
    "AUDIT_REQUEST_NOT_FOUND": 404,
    "SPIN_NOT_FOUND": 404,
    "WEBHOOK_NOT_FOUND": 404,
    "CAMPAIGN_NOT_FOUND": 404,
    "GAME_NOT_FOUND": 404,
    "TRANSACTION_NOT_FOUND": 404,
    "CAMPAIGN_NOT_EDITABLE": 409,
    "GAME_VERSION_UNAVAILABLE": 409,
    "METHOD_NOT_ALLOWED": 405,
    "BUDGET_EXHAUSTED": 409,
    "AWARD_NOT_CANCELLABLE": 409,
    "PAYLOAD_TOO_LARGE": 413,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "EXPIRED_PROMO": 422,
    "IDEMPOTENCY_KEY_REUSED": 422,
    "RATE_LIMIT": 429,
    "INTERNAL_ERROR": 500,
    "CONCURRENT_UPDATE": 503,
    "RECONCILIATION_RUNNING": 409,
    "SERVICE_UNAVAILABLE": 503,
    # the game API (seed 001 §6.2)
    "INVALID_BET_FORMAT": 400,
    "BET_BELOW_MINIMUM": 400,
    "BET_ABOVE_MAXIMUM": 400,
    "INVALID_COIN_VALUE": 400,
    "CURRENCY_MISMATCH": 400,
    "MISSING_TOKEN": 401,
    "SESSION_EXPIRED": 401,
    "INVALID_TOKEN": 401,
    "INSUFFICIENT_FUNDS": 402,
    "PLAYER_COOLING_OFF": 403,
    "JURISDICTION_BLOCKED": 403,
    "SPIN_IN_PROGRESS": 409,
    "BONUS_ROUND_ACTIVE": 409,
    "NO_BONUS_ROUND_ACTIVE": 409,
    "BLOCK_ID_MISMATCH": 409,
    "AWARD_EXPIRED": 409,
    "AWARD_NOT_ACTIVE": 409,
    "WALLET_UNAVAILABLE": 503,
    "GAME_UNDER_MAINTENANCE": 503,
}

# Codes a client should retry (with the same idempotency key), and the least wait before it does.
RETRY_AFTER_MS = {
    "INTERNAL_ERROR": 3000, "CONCURRENT_UPDATE": 100, "SERVICE_UNAVAILABLE": 1000, "RATE_LIMIT": None,
    "SPIN_IN_PROGRESS": 2000, "WALLET_UNAVAILABLE": 5000, "RECONCILIATION_RUNNING": 60_000,
}

HTTP_CODES = {400: "VALIDATION_ERROR", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND",
              405: "METHOD_NOT_ALLOWED", 413: "PAYLOAD_TOO_LARGE", 415: "UNSUPPORTED_MEDIA_TYPE"}


class ApiError(Exception):
    """A failure at the edge (authentication, parsing) with its code and, where it applies, the field."""

    def __init__(self, code: str, message: str, *, field: str | None = None, retry_after_ms: int | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.retry_after_ms = retry_after_ms


def error_body(code: str, message: str, *, field: str | None = None, retry_after_ms: int | None = None) -> dict[str, Any]:
    retryable = code in RETRY_AFTER_MS
    if retry_after_ms is None:
        retry_after_ms = RETRY_AFTER_MS.get(code)
    body: dict[str, Any] = {
        "code": code,
        "message": message,
        "requestId": getattr(g, "request_id", None) or "unknown",
        "timestamp": format_instant(current_app.extensions["spinledger"].clock.now()),
        "retryable": retryable,
        "retryAfterMs": retry_after_ms,
    }
    if field is not None:
        body["field"] = field
    return body


def error_response(error: ApiError | DomainError) -> Response:
    body = error_body(error.code, error.message, field=error.field, retry_after_ms=error.retry_after_ms)
    response = jsonify({"error": body})
    response.status_code = STATUS_BY_CODE.get(error.code, 400)
    if body["retryAfterMs"] is not None:
        response.headers["Retry-After"] = str(max(1, -(-body["retryAfterMs"] // 1000)))
    return response


def _from_http_exception(exc: HTTPException) -> ApiError:
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages") if isinstance(data, dict) else None
    if messages:
        return validation_error(messages)
    status = exc.code or 500
    code = HTTP_CODES.get(status, "INTERNAL_ERROR" if status >= 500 else "VALIDATION_ERROR")
    messages_by_code = {
        "NOT_FOUND": "no such resource",
        "METHOD_NOT_ALLOWED": "method not allowed on this resource",
        "PAYLOAD_TOO_LARGE": "request body is larger than this endpoint accepts",
    }
    return ApiError(code, messages_by_code.get(code) or exc.description or code.lower())


def validation_error(messages: Any) -> ApiError:
    """The first offending field of a marshmallow/webargs error dictionary, named."""
    path, text = _first_message(messages)
    field = ".".join(str(part) for part in path) or None
    missing = text == "Missing data for required field."
    code = "MISSING_FIELD" if missing else "VALIDATION_ERROR"
    if missing:
        text = "is required"
    elif text == "Unknown field.":
        text = "is not a field of this request"
    return ApiError(code, f"{field}: {text}" if field else text, field=field)


def _first_message(messages: Any, path: tuple[Any, ...] = ()) -> tuple[tuple[Any, ...], str]:
    if isinstance(messages, dict):
        key = sorted(messages, key=str)[0]
        # webargs nests messages under the location ("json", "query", ...): that is not a field name.
        inner_path = path if not path and key in ("json", "query", "headers", "view_args") else (*path, key)
        if key == "_schema":
            inner_path = path
        return _first_message(messages[key], inner_path)
    if isinstance(messages, list) and messages:
        return _first_message(messages[0], path)
    return path, str(messages)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(error: ApiError) -> Response:
        return error_response(error)

    @app.errorhandler(DomainError)
    def _domain_error(error: DomainError) -> Response:
        return error_response(error)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        return error_response(_from_http_exception(error))

    @app.errorhandler(DatabaseUnavailable)
    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    @app.errorhandler(psycopg.OperationalError)
    def _database_unavailable(error: Exception) -> Response:
        logger.warning("database unavailable: %s", error)
        if request.path.startswith("/api/v1/game/"):  # the game client's code for it (seed 001)
            return error_response(ApiError("WALLET_UNAVAILABLE", "the wallet is unavailable; retry with the same X-Request-Id"))
        return error_response(ApiError("SERVICE_UNAVAILABLE", "the database is unavailable; retry with the same key"))

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        logger.exception("unhandled error")
        return error_response(ApiError("INTERNAL_ERROR", "unexpected error; retry with the same key"))
