"""What the raw audit log keeps of a money-moving call: which calls, their bodies (redacted), and the facts
that find them again (key name, idempotency key, players).

Redaction: in a JSON body, the value of every key named like a secret (``token``, ``secret``, ``password``,
``api_key``, ``authorization``; any case, at any depth) becomes ``"[REDACTED]"``, and the credential the
caller presented (API key or session token) is cut out of every string wherever it appears. A body that is
not JSON is kept as text, with ``name=value`` / ``"name": value`` pairs of those names redacted and the
presented credential cut out. No header is ever kept.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import orjson
from flask import Request, Response, g
from werkzeug.exceptions import HTTPException

from app.errors import ApiError
from app.http import parse_json_body

AUDITED_ENDPOINTS = frozenset({
    "awards.create_award", "awards.create_awards", "awards.cancel_award",
    "campaigns.put_campaign", "campaigns.launch_campaign", "campaigns.cancel_campaign",
    "players.deposit", "players.withdraw", "players.start_self_exclusion",
    "sessions.open_session", "game.spin", "game.bonus_spin",
})
GAME_ENDPOINTS = frozenset({"game.spin", "game.bonus_spin"})
REDACTED = "[REDACTED]"
SECRET_WORDS = ("token", "secret", "password", "authorization")  # the names of secrets that are fixed words
_SECRET_NAMES = "|".join([*SECRET_WORDS, r"api[-_]?key"])
SECRET_NAME = re.compile(_SECRET_NAMES, re.IGNORECASE)
_SECRET_PAIR = re.compile(
    rf"""((?:{_SECRET_NAMES})[\w-]*"?\s*[:=]\s*)"""
    r"""((?:bearer|basic)\s+)?("(?:[^"\\]|\\.)*"|[^\s"&,;}]+)""",
    re.IGNORECASE,
)
JSON_LIMIT = 1024 * 1024  # bytes of JSON kept whole (as JSONB); a batch of 1,000 awards fits
TEXT_LIMIT = 64 * 1024  # characters kept of a body stored as text
MIN_SECRET = 8  # a presented credential shorter than this is not searched for in bodies (it would hit anything)
MAX_PLAYERS = 1000
SHORT_TEXT = 255


@dataclass(frozen=True)
class CapturedBody:
    json: str | None  # the redacted JSON document, serialised for a jsonb column
    text: str | None  # a body that is not JSON (or too large to keep whole): redacted, perhaps cut
    size: int  # bytes received or sent
    truncated: bool  # part or all of the body is not kept
    value: Any = field(default=None, compare=False)  # the redacted JSON value, to read ids from (not stored)


NO_BODY = CapturedBody(None, None, 0, False)


def redact(value: Any, secrets: Iterable[str] = ()) -> Any:
    """A copy of a JSON value with secret-named keys' values and the given secrets replaced."""
    return _redact(value, _searchable(secrets))


def _redact(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, dict):
        return {k: REDACTED if SECRET_NAME.search(k) else _redact(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(item, secrets) for item in value]
    if isinstance(value, str):
        return _scrub(value, secrets)
    return value


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    def pair(match: re.Match[str]) -> str:
        quoted = match.group(3).startswith('"')
        return match.group(1) + (f'"{REDACTED}"' if quoted else REDACTED)

    return _scrub(_SECRET_PAIR.sub(pair, text), _searchable(secrets))


def _searchable(secrets: Iterable[str]) -> list[str]:
    return [secret for secret in secrets if secret and len(secret) >= MIN_SECRET]


def _scrub(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return text


def capture_body(raw: bytes, secrets: Iterable[str] = (), parse: Callable[[bytes], Any] = parse_json_body) -> CapturedBody:
    """JSON is kept whole as JSONB up to ``JSON_LIMIT``; anything else as text, cut at ``TEXT_LIMIT``.

    ``parse`` raises ``ValueError`` (or ``ApiError``) for what JSONB could not hold: not JSON, NaN or
    Infinity, an unpaired surrogate."""
    if not raw:
        return NO_BODY
    secrets = _searchable(secrets)
    try:
        value = parse(raw)
        text = raw.decode()
        if _plainly_storable(text, secrets):  # most bodies: kept as sent, with no walk through them
            document = text
        else:
            value = _redact(value, secrets)
            document = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (ApiError, RecursionError, ValueError):  # not JSON, nested too deep, or a number past a double
        text = raw.decode("utf-8", "replace").replace("\x00", "\ufffd")
        return _as_text(redact_text(text, secrets), len(raw))
    if "\\u0000" not in document and _utf8_size(document) <= JSON_LIMIT:  # jsonb refuses \u0000 and lone surrogates
        return CapturedBody(document, None, len(raw), False, value)
    return _as_text(json.dumps(value), len(raw), value)


def _plainly_storable(text: str, secrets: list[str]) -> bool:
    """JSON that escapes nothing (so a secret cannot hide behind an escape, and JSONB refuses nothing), names
    no secret anywhere and holds none of ``secrets`` is stored as it came: redacting it would change nothing."""
    return "\\" not in text and not _names_a_secret(text) and not any(secret in text for secret in secrets)


def _names_a_secret(text: str) -> bool:
    """``SECRET_NAME.search``, sped up for ASCII text (most bodies): the regular expression, ignoring case,
    tries every position of the text; lower-cased ASCII is searched for each fixed word in C."""
    if not text.isascii():
        return SECRET_NAME.search(text) is not None
    lowered = text.lower()
    if any(word in lowered for word in SECRET_WORDS):
        return True
    return "api" in lowered and SECRET_NAME.search(text) is not None


def _utf8_size(text: str) -> float:
    try:
        return len(text.encode())
    except UnicodeEncodeError:
        return float("inf")


def _as_text(text: str, size: int, value: Any = None) -> CapturedBody:
    return CapturedBody(None, text[:TEXT_LIMIT], size, len(text) > TEXT_LIMIT, value)


def request_body(request: Request, secrets: Iterable[str]) -> CapturedBody:
    try:
        raw = request.get_data(cache=True)
    except HTTPException:  # larger than the route accepts (413): never read, so not kept
        return CapturedBody(None, None, request.content_length or 0, True)
    if "json_body" in g:  # the view's arguments were read from this body, with the same strict parser
        return capture_body(raw, secrets, parse=lambda _: g.json_body)
    return capture_body(raw, secrets)


def response_body(response: Response, secrets: Iterable[str]) -> CapturedBody:
    if response.is_streamed:
        return CapturedBody(None, None, 0, True)
    # The service's own JSON: parsed in C. orjson refuses, as the strict parser does, NaN, Infinity and
    # unpaired surrogates; a response never names a key twice.
    return capture_body(response.get_data(), secrets, parse=orjson.loads)


def idempotency_key(request: Request, body: Any) -> str | None:
    """The ``Idempotency-Key`` header, else the body's ``idempotency_key`` or ``transaction_id``; for a
    spin, its ``X-Request-Id`` (the spin protocol's idempotency key)."""
    header = "X-Request-Id" if request.endpoint in GAME_ENDPOINTS else "Idempotency-Key"
    candidates = [request.headers.get(header)]
    if isinstance(body, dict):
        candidates += [body.get("idempotency_key"), body.get("transaction_id")]
    return next((short_text(c) for c in candidates if isinstance(c, str) and c), None)


def player_ids(request: Request, body: Any, answer: Any) -> list[str]:
    """The game session's player, else the URL's, else the request's (every item's, for a batch), else
    the response's (a cancellation names the award's player only there)."""
    session = g.get("game_session")
    if session is not None:
        return [session.player_id]
    if (request.view_args or {}).get("player_id"):
        return [request.view_args["player_id"]]  # type: ignore[index]
    named = _players_named(body) or _players_named(answer)
    return list(dict.fromkeys(short_text(player) for player in named))[:MAX_PLAYERS]


def _players_named(document: Any) -> list[str]:
    if not isinstance(document, dict):
        return []
    if isinstance(document.get("player_id"), str):
        return [document["player_id"]]
    items = document.get("awards")
    if not isinstance(items, list):
        return []
    return [item["player_id"] for item in items if isinstance(item, dict) and isinstance(item.get("player_id"), str)]


def short_text(value: str) -> str:
    """Caller-supplied text fit for a text column: valid UTF-8, no NUL, bounded."""
    return value.encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd")[:SHORT_TEXT]

