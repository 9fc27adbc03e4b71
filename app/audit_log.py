"""The raw audit log: the request and response of every money-moving or award call (``AUDITED_ENDPOINTS``),
refused ones included, in the table ``audit_requests``.

A row is written after the response is made and before it is sent (with the rows of the calls that end
at the same time, in one statement, a few for very large bodies), so it exists when the client has its
answer. If its write fails, the failure is logged (ERROR, with the request id) and the response still goes
out: the events are the record of what happened; this log is the record of what was asked. ``purge``
empties the bodies of rows older than ``AUDIT_RAW_RETENTION_DAYS`` (marking when) and deletes rows older
than 12 months. The events themselves are never touched.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

import orjson
import psycopg
from eventsourcing.postgres import PostgresDatastore

from app.audit_capture import TEXT_LIMIT, CapturedBody
from app.errors import ApiError
from app.group_commit import GroupCommit
from domain.paging import Page

logger = logging.getLogger(__name__)

DOCUMENT_COLUMNS = ("request_body", "response_body")
# A group's rows, as one JSON array, in one statement and its own transaction, which does not wait for the disk:
# the function and why it is written as it is are in the schema migrations (app/schema/migrations).
APPEND = "SELECT audit_requests_append(%s::json)"
REFUSED = (psycopg.DataError, orjson.JSONEncodeError)  # what a row holds, not the database's state, is at fault
STATEMENT_BYTES = 16 * 1024 * 1024  # a group's rows go in statements of about this much, at most
MAX_BYTES = 2**31 - 1  # what an integer column holds: a body's size claimed by a refused request may be more
SELECT = """
SELECT id, at, method, route, path, status, key_name, session_id, idempotency_key, request_id,
    CASE WHEN cardinality(player_ids) = 1 THEN player_ids[1] END AS player_id, player_ids, latency_ms,
    {bodies}, request_bytes, request_truncated, response_bytes, response_truncated, bodies_purged_at
FROM audit_requests WHERE {where} ORDER BY at DESC, id DESC LIMIT %(limit)s
"""
BODIES = "request_body, request_text, response_body, response_text"
# A list without its bodies (their sizes stay): a batch award's are hundreds of kilobytes each.
NO_BODIES = "NULL::jsonb AS request_body, NULL::text AS request_text, NULL::jsonb AS response_body, NULL::text AS response_text"
# In batches of PURGE_BATCH rows, each its own short statement, so a large purge never holds a long lock.
DELETE_OLD_ROWS = """
DELETE FROM audit_requests WHERE id IN (SELECT id FROM audit_requests WHERE at < %(before)s LIMIT %(batch)s)
"""
EMPTY_OLD_BODIES = """
UPDATE audit_requests SET request_body = NULL, request_text = NULL, response_body = NULL, response_text = NULL,
    bodies_purged_at = %(now)s
WHERE bodies_purged_at IS NULL AND id IN (
    SELECT id FROM audit_requests WHERE bodies_purged_at IS NULL AND at < %(before)s LIMIT %(batch)s)
"""
PURGE_BATCH = 10_000
CURSOR = re.compile(r"^(\d{1,19})-(\d{1,19})$")
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class AuditRecord:
    at: datetime
    method: str
    route: str
    path: str
    status: int
    key_name: str | None
    session_id: str | None
    idempotency_key: str | None
    request_id: str
    player_ids: list[str]
    latency_ms: float
    request: CapturedBody
    response: CapturedBody


@dataclass(frozen=True)
class Purged:
    as_of: datetime
    bodies_purged: int
    rows_deleted: int
    bodies_before: datetime
    rows_before: datetime


def _row(entry: AuditRecord) -> dict[str, Any]:
    request, response = entry.request, entry.response
    row = {
        "at": entry.at, "method": entry.method, "route": entry.route, "path": entry.path, "status": entry.status,
        "key_name": entry.key_name, "session_id": entry.session_id, "idempotency_key": entry.idempotency_key,
        "request_id": entry.request_id, "player_ids": entry.player_ids, "latency_ms": entry.latency_ms,
        "request_text": request.text, "request_bytes": min(request.size, MAX_BYTES), "request_truncated": request.truncated,
        "response_text": response.text, "response_bytes": min(response.size, MAX_BYTES), "response_truncated": response.truncated,
    }
    if request.json is not None:
        row["request_body"] = request.json
    if response.json is not None:
        row["response_body"] = response.json
    return row


def _append(conn: psycopg.Connection[Any], rows: list[dict[str, Any]]) -> None:
    # A captured document goes into the rows' JSON as it is: it was parsed when it was captured.
    documents = [{**row, **{column: orjson.Fragment(row[column]) for column in DOCUMENT_COLUMNS if column in row}} for row in rows]
    conn.execute(APPEND, [orjson.dumps(documents).decode()], prepare=True)


def _append_alone(conn: psycopg.Connection[Any], row: dict[str, Any]) -> Exception | None:
    """One row on its own; one refused goes again with its bodies as text. Returns what it was refused for even
    so, if it was."""
    try:
        _append(conn, [row])
    except REFUSED:
        try:
            _append(conn, [_documents_as_text(row)])
        except REFUSED as error:
            return error
    return None


def _documents_as_text(row: dict[str, Any]) -> dict[str, Any]:
    """A row whose JSON bodies PostgreSQL refused (a byte order mark, a number past its numeric type), with
    each body kept as text instead, cut at ``TEXT_LIMIT``."""
    row = dict(row)
    for side in ("request", "response"):
        text = row.pop(f"{side}_body", None)
        if text is not None:
            row[f"{side}_text"] = text[:TEXT_LIMIT]
            row[f"{side}_truncated"] = row[f"{side}_truncated"] or len(text) > TEXT_LIMIT
    return row


def _statements(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """The rows in runs of about ``STATEMENT_BYTES`` of bodies each (a run has one row at least)."""
    run: list[dict[str, Any]] = []
    size = 0
    for row in rows:
        row_size = 512 + sum(len(row.get(column) or "") for column in ("request_text", "response_text", *DOCUMENT_COLUMNS))
        if run and size + row_size > STATEMENT_BYTES:
            yield run
            run, size = [], 0
        run.append(row)
        size += row_size
    if run:
        yield run


class AuditLog:
    def __init__(self, datastore: PostgresDatastore):
        self._datastore = datastore
        # Calls that end together are written together, in one statement (a few for very large bodies), each
        # caller still waiting for its own row to be committed: under load the log costs a few statements a
        # second, not one per call.
        self._writes: GroupCommit[AuditRecord, Exception | None] = GroupCommit(self._write, max_items=500, committers=1)

    def record(self, entry: AuditRecord) -> None:
        """Returns once the row is committed; raises why it was not, if it was not."""
        (failure,) = self._writes.submit([entry])
        if failure is not None:
            raise failure

    def close(self) -> None:
        """Writes what is queued, then stops."""
        self._writes.close()

    def _write(self, entries: list[AuditRecord]) -> list[Exception | None]:
        """Each entry's row, in order: None once written, else why it was not (what PostgreSQL refused it for, or
        the failure of the database that stopped the rows from it on)."""
        rows = [_row(entry) for entry in entries]
        failed: list[Exception | None] = [None] * len(rows)
        done = 0  # rows whose outcome is known: each statement commits on its own
        try:
            with self._datastore.get_connection() as conn:
                for run in _statements(rows):
                    try:
                        _append(conn, run)
                        done += len(run)
                    except REFUSED:  # one row PostgreSQL refuses must not lose the others: each goes alone
                        for row in run:
                            failed[done] = _append_alone(conn, row)
                            done += 1
        except Exception as error:  # a lost connection, a pool exhausted: nothing from this row on was written
            failed[done:] = [error] * (len(rows) - done)
        return failed

    def query(self, *, since: datetime | None = None, until: datetime | None = None, route: str | None = None,
              player_id: str | None = None, key_name: str | None = None, after: str | None = None,
              limit: int = 50, bodies: bool = True) -> Page[dict[str, Any]]:
        """Newest first; ``since`` inclusive, ``until`` exclusive; ``after`` is a page's ``next_cursor``;
        without ``bodies``, each row's bodies are null (``get`` has them)."""
        params: dict[str, Any] = {"since": since, "until": until, "route": route, "player_ids": [player_id],
                                  "key_name": key_name, "limit": limit + 1}
        where = [condition for condition, value in (
            ("at >= %(since)s", since), ("at < %(until)s", until), ("route = %(route)s", route),
            ("player_ids @> %(player_ids)s::text[]", player_id), ("key_name = %(key_name)s", key_name),
        ) if value is not None]
        if after is not None:
            params["after_at"], params["after_id"] = _parse_cursor(after)
            where.append("(at, id) < (%(after_at)s, %(after_id)s)")
        with self._datastore.get_connection() as conn:
            rows = conn.execute(SELECT.format(bodies=BODIES if bodies else NO_BODIES, where=" AND ".join(where) or "true"), params).fetchall()
        has_more = len(rows) > limit
        data = rows[:limit]
        return Page(data=data, next_cursor=_cursor(data[-1]) if has_more else None, has_more=has_more)

    def get(self, request_id: int) -> dict[str, Any]:
        """One call with its bodies."""
        with self._datastore.get_connection() as conn:
            row = conn.execute(SELECT.format(bodies=BODIES, where="id = %(id)s"), {"id": request_id, "limit": 1}).fetchone()
        if row is None:
            raise ApiError("AUDIT_REQUEST_NOT_FOUND", f"no audit log row {request_id}", field="id")
        return row

    def purge(self, now: datetime, raw_retention_days: int) -> Purged:
        """Deletes rows older than 12 months, then empties the bodies older than the retention."""
        rows_before, bodies_before = a_year_before(now), now - timedelta(days=raw_retention_days)
        rows = self._in_batches(DELETE_OLD_ROWS, {"before": rows_before})
        bodies = self._in_batches(EMPTY_OLD_BODIES, {"before": bodies_before, "now": now})
        return Purged(as_of=now, bodies_purged=bodies, rows_deleted=rows,
                      bodies_before=bodies_before, rows_before=rows_before)

    def _in_batches(self, statement: str, params: dict[str, Any]) -> int:
        total = 0
        with self._datastore.get_connection() as conn:
            while True:
                done = conn.execute(statement, {**params, "batch": PURGE_BATCH}).rowcount
                total += done
                if done < PURGE_BATCH:
                    return total


def a_year_before(at: datetime) -> datetime:
    try:
        return at.replace(year=at.year - 1)
    except ValueError:  # 29 February
        return at.replace(year=at.year - 1, day=28)


def _cursor(row: dict[str, Any]) -> str:
    return f"{(row['at'] - EPOCH) // timedelta(microseconds=1)}-{row['id']}"


def _parse_cursor(cursor: str) -> tuple[datetime, int]:
    match = CURSOR.fullmatch(cursor)
    try:
        if match is not None:
            return EPOCH + timedelta(microseconds=int(match[1])), int(match[2])
    except OverflowError:
        pass
    raise ApiError("VALIDATION_ERROR", "after: is not a cursor of this list", field="after")
