"""Game sessions: opaque bearer tokens for the game API, stored only as SHA-256 digests, with a TTL.

A token is 32 random bytes (URL-safe base64). The table keys sessions by the token's digest, so a
lookup compares digests inside PostgreSQL's index; the token itself is never stored or logged. Expired
rows are kept for a day (so an expired token gets ``SESSION_EXPIRED`` rather than ``INVALID_TOKEN``),
then deleted by the next session opened.

A session never changes once opened, so each process keeps the sessions it has resolved (by digest, up
to ``CACHE_SIZE``) and checks their expiry itself: a spin costs no session query.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

from eventsourcing.postgres import PostgresDatastore

from app.errors import ApiError
from domain.clock import RandomBytes
from domain.money import COIN_CURRENCY

KEEP_EXPIRED = timedelta(days=1)
CACHE_SIZE = 100_000


@dataclass(frozen=True)
class GameSession:
    session_id: str  # not secret: names the session in responses and logs
    player_id: str
    expires_at: datetime
    coins: bool = False  # the session plays in gold coins


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class SessionStore:
    def __init__(self, datastore: PostgresDatastore):
        self._datastore = datastore
        self._resolved: OrderedDict[bytes, GameSession] = OrderedDict()
        self._lock = threading.Lock()

    def open(self, player_id: str, now: datetime, ttl: timedelta, random_bytes: RandomBytes, coins: bool = False) -> tuple[str, datetime]:
        token = base64.urlsafe_b64encode(random_bytes(32)).rstrip(b"=").decode()
        expires_at = now + ttl
        with self._datastore.get_connection() as conn:
            conn.execute("DELETE FROM spinledger_sessions WHERE expires_at < %s", [now - KEEP_EXPIRED])
            conn.execute(
                "INSERT INTO spinledger_sessions (token_digest, player_id, created_at, expires_at, currency) VALUES (%s, %s, %s, %s, %s)",
                [digest(token), player_id, now, expires_at, COIN_CURRENCY if coins else None],
            )
        return token, expires_at

    def resolve(self, token: str | None, now: datetime) -> GameSession:
        if not token:
            raise ApiError("MISSING_TOKEN", "send Authorization: Bearer <session token>")
        if len(token) > 128:
            raise ApiError("INVALID_TOKEN", "the session token is not recognised")
        key = digest(token)
        with self._lock:
            session = self._resolved.get(key)
        if session is None:
            session = self._read(key)
            with self._lock:
                self._resolved[key] = session
                if len(self._resolved) > CACHE_SIZE:
                    self._resolved.popitem(last=False)
        if session.expires_at <= now:
            raise ApiError("SESSION_EXPIRED", "the session has expired; open a new one")
        return session

    def _read(self, key: bytes) -> GameSession:
        with self._datastore.get_connection() as conn:
            row = conn.execute(
                "SELECT player_id, expires_at, currency FROM spinledger_sessions WHERE token_digest = %s", [key], prepare=True
            ).fetchone()
        if row is None:
            raise ApiError("INVALID_TOKEN", "the session token is not recognised")
        return GameSession(f"sess-{key.hex()[:16]}", row["player_id"], row["expires_at"], row["currency"] == COIN_CURRENCY)
