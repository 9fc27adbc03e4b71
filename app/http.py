"""Request plumbing: request ids, body limits, strict JSON, and the argument parser behind the schemas."""

from __future__ import annotations

import json
import re
from typing import Any, Iterable, Iterator, NoReturn

from flask import Flask, Response, current_app, g, request
from flask_smorest import Blueprint as SmorestBlueprint
from marshmallow import RAISE, Schema, ValidationError
from webargs.flaskparser import FlaskParser

from app import api_version
from app.database_gate import REQUEST_DEADLINE
from app.errors import ApiError, validation_error
from domain.ids import uuid7

DEFAULT_BODY_LIMIT = 64 * 1024
_REQUEST_ID = re.compile(r"^[\x21-\x7e]{1,128}$")
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


def parse_json_body(raw: bytes) -> Any:
    """Standard JSON only: no NaN or Infinity, no unpaired surrogate (text that is not Unicode, which no
    column could store); nesting deep enough to exhaust the parser is refused."""
    try:
        parsed = json.loads(raw, parse_constant=_reject_constant, object_pairs_hook=_object_naming_each_key_once)
        unicode = not _SURROGATE_ESCAPE.search(raw) or _unicode_throughout(parsed)  # paired ones (emoji) are fine
    except (ValueError, RecursionError):
        raise ApiError("VALIDATION_ERROR", "the request body is not valid JSON") from None
    if not unicode:
        raise ApiError("VALIDATION_ERROR", "the request body is not valid JSON: it holds an unpaired \\u surrogate")
    return parsed


def _object_naming_each_key_once(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object; one that names a key twice is refused (parsers disagree on which value wins)."""
    found = dict(pairs)
    if len(found) != len(pairs):
        seen: set[str] = set()
        twice = next(key for key, _ in pairs if key in seen or seen.add(key))  # type: ignore[func-returns-value]
        raise ApiError("VALIDATION_ERROR", f"the request body names {twice!r} twice", field=twice[:64])
    return found


def _unicode_throughout(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, dict):
        return all(_unicode_throughout(k) and _unicode_throughout(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_unicode_throughout(item) for item in value)
    return True


class StrictJsonParser(FlaskParser):
    """Parses the body only when a view asks for it (after authentication), strictly; schema errors
    become the error envelope. Unknown query parameters are refused, like unknown body fields."""

    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "query": RAISE}

    def load_json(self, req: Any, schema: Schema) -> Any:  # webargs' public hook for how a body is read
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


def body_limit(limit: int, *, streamed: bool = False) -> Any:
    """Lets one view accept a larger body than ``DEFAULT_BODY_LIMIT``; a ``streamed`` one reads it from
    ``request.stream`` as it comes in (the limit still holds), instead of having it read whole first."""

    def mark(view: Any) -> Any:
        view.body_limit = limit
        view.streams_body = streamed
        return view

    return mark


def streamed_body(stream: Iterable[bytes]) -> Iterator[bytes]:
    """A streamed body's lines. Once the last is read, the request's wait for the database starts afresh: the time
    the client took to send it was not the database's."""
    yield from stream
    REQUEST_DEADLINE.set(current_app.extensions["spinledger"].database_gate.deadline())


def install_request_hooks(app: Flask) -> None:
    @app.before_request
    def _prepare() -> None:
        header = request.headers.get("X-Request-Id", "")
        g.request_id = header if _REQUEST_ID.fullmatch(header) else str(
            uuid7(app.extensions["spinledger"].clock.now(), app.extensions["spinledger"].random_bytes)
        )
        api_version.check_requested(request.headers.get(api_version.HEADER))
        view = app.view_functions.get(request.endpoint or "")
        request.max_content_length = getattr(view, "body_limit", DEFAULT_BODY_LIMIT)
        if request.method in ("POST", "PUT", "PATCH") and not getattr(view, "streams_body", False):
            request.get_data(cache=True)  # refuses a body past the limit (413) before anything else
        # From here, the request waits for the database until its deadline at most (a slow client's upload
        # time is not the database's).
        REQUEST_DEADLINE.set(app.extensions["spinledger"].database_gate.deadline())

    @app.teardown_request
    def _no_deadline(_: BaseException | None) -> None:
        REQUEST_DEADLINE.set(None)  # a keep-alive connection's greenlet serves its next request afresh

    @app.after_request
    def _tag(response: Response) -> Response:
        response.headers["X-Request-Id"] = g.get("request_id", "")
        response.headers[api_version.HEADER] = api_version.SERVED
        response.headers.setdefault("Cache-Control", "no-store")
        # A browser must never sniff a body into HTML, nor run or frame anything it holds (the console's pages load
        # their own stylesheet, and nothing else).
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers.setdefault("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")  # the console sets its own
        return response
