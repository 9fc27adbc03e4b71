"""The console's sessions in PostgreSQL (``console_sessions``): the cookie holds a random id, the table its
digest, so signing out ends a session everywhere at once, and a copied cookie opens nothing afterwards."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timedelta

from eventsourcing.postgres import PostgresDatastore

from domain.clock import RandomBytes

KEEP_ENDED = timedelta(days=30)  # ended sessions are kept this long (who signed in when), then deleted


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class ConsoleSessions:
    def __init__(self, datastore: PostgresDatastore):
        self._datastore = datastore

    def open(self, key_name: str, now: datetime, lifetime: timedelta, random_bytes: RandomBytes) -> str:
        session_id = base64.urlsafe_b64encode(random_bytes(32)).rstrip(b"=").decode()
        with self._datastore.get_connection() as conn:
            conn.execute("DELETE FROM console_sessions WHERE expires_at < %s", [now - KEEP_ENDED])
            conn.execute("INSERT INTO console_sessions (session_id, key_name, signed_in_at, expires_at) VALUES (%s, %s, %s, %s)",
                         [_digest(session_id), key_name, now, now + lifetime])
        return session_id

    def is_open(self, session_id: str, now: datetime) -> bool:
        with self._datastore.get_connection() as conn:
            row = conn.execute("SELECT 1 FROM console_sessions WHERE session_id = %s AND signed_out_at IS NULL AND expires_at > %s",
                               [_digest(session_id), now], prepare=True).fetchone()
        return row is not None

    def close(self, session_id: str, now: datetime) -> None:
        with self._datastore.get_connection() as conn:
            conn.execute("UPDATE console_sessions SET signed_out_at = %s WHERE session_id = %s AND signed_out_at IS NULL",
                         [now, _digest(session_id)])
