"""The API's version (seed 001 §1.3): the URL carries the major (``/api/v1``), the ``X-Api-Version`` header the
minor. Minors only add (a new optional field, a new route), so a client that asks for an older minor of the
served major is served; one that asks for another major, or for a minor this server does not have yet, is told
so rather than given answers it would misread."""

from __future__ import annotations

import re

from app.errors import ApiError

# Each minor of v1 and what it added; the last is the served version.
MINORS = (
    ("1.0", "players, promotions, single and batch awards"),
    ("1.1", "the game API (Crystal Forge), wallets and sessions"),
    ("1.2", "compliance: event history, spin replay, raw audit log; reconciliation and liability"),
    ("1.3", "webhooks; campaigns; awards by idempotency key, transactions by id, cancels that can be retried"),
    ("1.4", "player protection: limits, cooling-off, risk reviews; ISO 3166 regions"),
    ("1.5", "games: the catalogue and maintenance (`GAME_UNDER_MAINTENANCE`)"),
    ("1.6", "gold coins (GOLD_COINS promotions and awards, coin balances, GC sessions) and test-marked smoke data"),
    ("1.7", "lists of promotions and of campaigns (`GET /promotions`, `GET /campaigns`), for the console"),
    ("1.8", "one audit log row with its bodies (`GET /audit/requests/{id}`), and the list without them (`bodies=false`)"),
)
SERVED = MINORS[-1][0]
HEADER = "X-Api-Version"

_VERSION = re.compile(r"(\d{1,3})(?:\.(\d{1,3}))?")


def check_requested(header: str | None) -> None:
    """Refuses a request whose ``X-Api-Version`` names a version this server does not serve; no header is the
    served version."""
    if header is None:
        return
    match = _VERSION.fullmatch(header.strip())
    if match is None:
        raise ApiError("UNSUPPORTED_API_VERSION", f"{HEADER} must be MAJOR or MAJOR.MINOR (this server serves {SERVED})", field=HEADER)
    served_major, served_minor = (int(part) for part in SERVED.split("."))
    major, minor = int(match[1]), int(match[2] or 0)
    if major != served_major:
        raise ApiError("UNSUPPORTED_API_VERSION", f"{HEADER} {header.strip()} is not served here: this server serves "
                       f"{served_major}.0 to {SERVED} (under /api/v{served_major})", field=HEADER)
    if minor > served_minor:
        raise ApiError("UNSUPPORTED_API_VERSION", f"{HEADER} {header.strip()} is newer than this server's {SERVED}", field=HEADER)


def description() -> str:
    """The OpenAPI document's account of the versions, for its ``info.description``."""
    added = "\n".join(f"- {version}: {what}" for version, what in MINORS)
    return (f"Every response carries `{HEADER}: {SERVED}`. A request may send `{HEADER}: MAJOR.MINOR`: an older "
            f"minor of {SERVED.split('.')[0]} is served; another major, or a newer minor, is "
            f"`400 UNSUPPORTED_API_VERSION`.\n\nMinors of v1:\n{added}")
