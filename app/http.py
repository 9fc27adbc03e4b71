"""Request plumbing: request ids, body limits, strict JSON, and the argument parser behind the schemas."""

from __future__ import annotations

import json
import re
from typing import Any, NoReturn

from flask import Flask, Response, g, request
from flask_smorest import Blueprint as SmorestBlueprint
from marshmallow import RAISE, Schema, ValidationError
from webargs.flaskparser import FlaskParser

from app.errors import ApiError, validation_error
from domain.ids import uuid7

DEFAULT_BODY_LIMIT = 64 * 1024
_REQUEST_ID = re.compile(r"^[\x21-\x7e]{1,128}$")


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


def parse_json_body(raw: bytes) -> Any:
    """Standard JSON only: no NaN or Infinity; nesting deep enough to exhaust the parser is refused."""
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise ApiError("VALIDATION_ERROR", "the request body is not valid JSON") from None


class StrictJsonParser(FlaskParser):
    """Parses the body only when a view asks for it (after authentication), strictly; schema errors
    become the error envelope. Unknown query parameters are refused, like unknown body fields."""

    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "query": RAISE}

    def _raw_load_json(self, req: Any) -> Any:
        if "json_body" not in g:
            raw = req.get_data(cache=True)
            if not raw:
                g.json_body = {}
            elif req.mimetype != "application/json":
                raise ApiError("UNSUPPORTED_MEDIA_TYPE", "send the body as Content-Type: application/json")
            else:
                g.json_body = parse_json_body(raw)
        return g.json_body

    def handle_error(self, error: ValidationError, req: Any, schema: Schema, **_: Any) -> NoReturn:
        raise validation_error(error.messages)


class Blueprint(SmorestBlueprint):
    ARGUMENTS_PARSER = StrictJsonParser()


def body_limit(limit: int) -> Any:
    """Lets one view accept a larger body than ``DEFAULT_BODY_LIMIT``."""

    def mark(view: Any) -> Any:
        view.body_limit = limit
        return view

    return mark


def install_request_hooks(app: Flask) -> None:
    @app.before_request
    def _prepare() -> None:
        header = request.headers.get("X-Request-Id", "")
        g.request_id = header if _REQUEST_ID.match(header) else str(
            uuid7(app.extensions["spinledger"].clock.now(), app.extensions["spinledger"].random_bytes)
        )
        view = app.view_functions.get(request.endpoint or "")
        request.max_content_length = getattr(view, "body_limit", DEFAULT_BODY_LIMIT)
        if request.method in ("POST", "PUT", "PATCH"):
            request.get_data(cache=True)  # refuses a body past the limit (413) before anything else

    @app.after_request
    def _tag(response: Response) -> Response:
        response.headers["X-Request-Id"] = g.get("request_id", "")
        response.headers.setdefault("Cache-Control", "no-store")
        return response
