"""Compliance's event history, read from the event index: filtered, in position order, paged or streamed.

Positions only grow, and the index applies events in position order, a whole batch per transaction: what
it holds is always every event up to its tracking position. So a cursor (the last position a client has
seen) never skips or repeats an event, however many are appended while a client pages.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.postgres import PostgresDatastore
from psycopg.rows import tuple_row

from domain.ids import event_id_for
from projections.source import APPLICATION

COLUMNS = "position, type, stream_id, version, occurred_at, player_id, promo_id, award_id, payload"
# The same, for an export: as text, already in the API's form (the instant as the API writes it).
EXPORT_COLUMNS = (
    "position, type, stream_id::text, version, to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
    " player_id, promo_id, award_id, payload::text"
)


@dataclass(frozen=True)
class EventFilter:
    player_id: str | None = None
    promo_id: str | None = None
    award_id: str | None = None
    types: tuple[str, ...] = ()
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive

    def where(self, after: int) -> tuple[str, dict[str, Any]]:
        clauses = ["position > %(after)s"]
        params: dict[str, Any] = {"after": after}
        for column in ("player_id", "promo_id", "award_id"):
            if getattr(self, column) is not None:
                clauses.append(f"{column} = %({column})s")
                params[column] = getattr(self, column)
        if self.types:
            clauses.append("type = ANY(%(types)s)")
            params["types"] = list(self.types)
        if self.since is not None:
            clauses.append("occurred_at >= %(since)s")
            params["since"] = self.since
        if self.until is not None:
            clauses.append("occurred_at < %(until)s")
            params["until"] = self.until
        return " AND ".join(clauses), params


def _item(row: dict[str, Any]) -> dict[str, Any]:
    return {"event_id": event_id_for(row["stream_id"], row["version"]), **row}


class EventHistory:
    def __init__(self, datastore: PostgresDatastore, table: str = "event_index"):
        self.datastore = datastore
        self.table = table

    def page(self, selection: EventFilter, after: int, limit: int) -> tuple[list[dict[str, Any]], bool]:
        """Up to ``limit`` events past position ``after``, and whether the index holds more."""
        where, params = selection.where(after)
        with self.datastore.get_connection() as conn:
            rows = conn.execute(
                f"SELECT {COLUMNS} FROM {self.table} WHERE {where} ORDER BY position LIMIT %(limit)s", {**params, "limit": limit + 1}
            ).fetchall()
        return [_item(row) for row in rows[:limit]], len(rows) > limit

    def stream(self, selection: EventFilter, after: int = 0, chunk: int = 2000) -> Iterator[tuple[Any, ...]]:
        """Every selected event, in position order, as a tuple of ``EXPORT_COLUMNS`` (all text but position
        and version), through a server-side cursor: memory holds one chunk. One consistent snapshot."""
        where, params = selection.where(after)
        with self.datastore.get_connection() as conn, conn.transaction():
            with conn.cursor(name="event_history_export", row_factory=tuple_row) as cursor:
                cursor.itersize = chunk
                cursor.execute(f"SELECT {EXPORT_COLUMNS} FROM {self.table} WHERE {where} ORDER BY position", params)
                yield from cursor

    def created(self, event_type: str, key: str, before: int | None, limit: int) -> tuple[list[str], int | None]:
        """The ids (payload field ``key``) of the aggregates whose creating event is ``event_type``, newest first, from
        before position ``before``; and the cursor of the next page (``None``: the last)."""
        with self.datastore.get_connection() as conn:
            rows = conn.execute(
                f"SELECT position, payload ->> %(key)s AS id FROM {self.table} WHERE type = %(type)s AND version = 1"
                " AND position < %(before)s ORDER BY position DESC LIMIT %(limit)s",
                {"key": key, "type": event_type, "before": before if before is not None else 2**62, "limit": limit + 1},
            ).fetchall()
        more = len(rows) > limit
        return [row["id"] for row in rows[:limit]], rows[limit - 1]["position"] if more else None

    def count(self, selection: EventFilter, after: int = 0) -> int:
        where, params = selection.where(after)
        with self.datastore.get_connection() as conn:
            count: int = conn.execute(f"SELECT count(*) AS n FROM {self.table} WHERE {where}", params).fetchone()["n"]
        return count

    def indexed_up_to(self) -> int:
        """The position the index has reached: every event up to it is in the history."""
        with self.datastore.get_connection() as conn:
            row = conn.execute(
                f"SELECT coalesce(max(notification_id), 0) AS p FROM {self.table}_tracking WHERE application_name = %s", [APPLICATION]
            ).fetchone()
        position: int = row["p"]
        return position

    def spin_event(self, spin_id: str) -> tuple[UUID, int] | None:
        """The stream and version of the ``SpinSettled`` event of ``spin_id``, if the index holds it."""
        with self.datastore.get_connection() as conn:
            row = conn.execute(
                f"SELECT stream_id, version FROM {self.table} WHERE type = 'SpinSettled' AND payload -> 'spin' ->> 'spin_id' = %s",
                [spin_id],
            ).fetchone()
        return None if row is None else (row["stream_id"], row["version"])
