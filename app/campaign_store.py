"""The campaign tables (migration 0003): each campaign's audience, the chunks a launch cuts it into, and each
player's outcome.

An upload is parsed as it streams in and spooled (``Audience``) before the database is asked anything: a bad line
keeps nothing of its upload, and a slow client holds no connection, lock or transaction. The spool is then copied
into a temporary table and its new players added to the audience, in one transaction. Uploads and
launches of one campaign take turns on an advisory lock (``locked``), held while the campaign's event is recorded
too: a launch sees an upload whole or not at all, and no upload adds to a launched campaign.

A chunk's outcomes are written once per player (the first issue of a player decides its row) and its figures
are recounted from them in the same transaction: a chunk issued twice, or a worker killed in the middle of one,
counts each player once.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Iterable, Iterator, Sequence

import orjson
import psycopg
from eventsourcing.postgres import PostgresDatastore

from app.errors import ApiError
from app.schemas.fields import EXTERNAL_ID_PATTERN
from domain.campaign import CampaignFigures
from domain.paging import Page

CSV, NDJSON = "text/csv", "application/x-ndjson"
PLAYER_ID = re.compile(EXTERNAL_ID_PATTERN)
MAX_PLAYERS_PER_UPLOAD = 1_000_000
ACTIVE_JOB_STATUSES = ("todo", "doing")
CURSOR = re.compile(r"^\d{1,19}$")


@dataclass(frozen=True)
class Upload:
    added: int
    lines: int  # players in the upload, repeats included
    players_total: int
    digest: str


@dataclass(frozen=True)
class Chunk:
    chunk: int
    first_position: int
    last_position: int


@dataclass(frozen=True)
class PlayerOutcome:
    position: int
    player_id: str
    outcome: str  # awarded, replayed or refused
    award_id: str | None = None
    error_code: str | None = None


@dataclass(frozen=True)
class Progress:
    chunks: int
    chunks_started: int
    chunks_open: int  # queued or running
    figures: CampaignFigures  # what the chunks done came to


LOCK_KEY = "hashtextextended('spinledger campaign ' || %s, 0)"
FINISH_LOCK_KEY = "hashtextextended('spinledger campaign chunks ' || %s, 0)"


# An upload up to this size is spooled in memory; a larger one (a million ids is about 20 MiB) in a temporary file.
SPOOLED_IN_MEMORY = 4 * 1024 * 1024
COPY_BLOCK = 1024 * 1024


class Audience:
    """An upload's players read whole and found good, each with its line number, ready for COPY."""

    def __init__(self, players: Iterable[tuple[int, str]]):
        self._spool = tempfile.SpooledTemporaryFile(max_size=SPOOLED_IN_MEMORY)
        digest = hashlib.sha256()
        count = 0
        try:
            for line, player_id in players:
                count += 1
                if count > MAX_PLAYERS_PER_UPLOAD:
                    raise _bad_line(line, f"is past {MAX_PLAYERS_PER_UPLOAD:,} players, the most one upload takes")
                encoded = player_id.encode()
                digest.update(encoded + b"\n")
                # COPY's text format: an id is letters, digits and . _ : - (PLAYER_ID), so nothing needs escaping.
                self._spool.write(b"%d\t%s\n" % (line, encoded))
            if count == 0:
                raise ApiError("VALIDATION_ERROR", "audience: the upload names no player", field="audience")
        except BaseException:
            self._spool.close()
            raise
        self.lines, self.digest = count, digest.hexdigest()

    def blocks(self) -> Iterator[bytes]:
        self._spool.seek(0)
        while block := self._spool.read(COPY_BLOCK):
            yield block

    def __enter__(self) -> Audience:
        return self

    def __exit__(self, *_: object) -> None:
        self._spool.close()


def parse_upload(lines: Iterable[bytes], content_type: str) -> Iterator[tuple[int, str]]:
    """Each player id of an upload with its line number; ``ApiError`` naming the first bad line."""
    numbered = enumerate(lines, start=1)
    if content_type == CSV:
        number, header = next(numbered, (1, b""))
        if _text(header, number).lstrip("\ufeff").strip() != "player_id":
            raise _bad_line(1, "the first line must be the header player_id")
    blank: int | None = None
    for number, raw in numbered:
        text = _text(raw, number).rstrip("\r\n")
        if not text.strip():
            blank = blank or number  # allowed at the end only
            continue
        if blank is not None:
            raise _bad_line(blank, "is empty")
        player_id = _csv_player(text, number) if content_type == CSV else _ndjson_player(text, number)
        if not PLAYER_ID.fullmatch(player_id):
            raise _bad_line(number, f"player_id {player_id[:80]!r} must be 1-64 letters, digits or . _ : -")
        yield number, player_id


def _text(raw: bytes, number: int) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _bad_line(number, "is not UTF-8") from None


def _csv_player(text: str, number: int) -> str:
    try:
        (row,) = csv.reader(io.StringIO(text), strict=True)
    except (csv.Error, ValueError):
        raise _bad_line(number, "is not one CSV record") from None
    if len(row) != 1:
        raise _bad_line(number, f"has {len(row)} fields: one player_id a line")
    return row[0].strip()


def _ndjson_player(text: str, number: int) -> str:
    try:
        item = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise _bad_line(number, "is not JSON") from None
    if not isinstance(item, dict) or set(item) != {"player_id"} or not isinstance(item["player_id"], str):
        raise _bad_line(number, 'must be {"player_id": "..."} and nothing else')
    return str(item["player_id"])


def _bad_line(number: int, why: str) -> ApiError:
    return ApiError("VALIDATION_ERROR", f"audience: line {number} {why}; nothing of this upload was kept", field="audience")


class CampaignStore:
    def __init__(self, datastore: PostgresDatastore):
        self._datastore = datastore

    @contextmanager
    def locked(self, campaign_id: str) -> Iterator[psycopg.Connection[Any]]:
        """A connection holding the campaign's lock (a session's advisory lock), for an upload or a launch and the
        event it records."""
        with self._datastore.get_connection() as conn:
            conn.execute(f"SELECT pg_advisory_lock({LOCK_KEY})", [campaign_id])
            try:
                yield conn
            finally:
                conn.execute(f"SELECT pg_advisory_unlock({LOCK_KEY})", [campaign_id])

    # -- the audience ------------------------------------------------------------------------------

    def add_audience(self, conn: psycopg.Connection[Any], campaign_id: str, audience: Audience,
                     record: Callable[[Upload], None]) -> Upload:
        """Adds the upload's new players, in upload order, in one transaction on ``conn`` (``locked``), committed once
        ``record`` (the upload's event, which refuses a launched campaign) returns."""
        with conn.transaction():
            conn.execute("CREATE TEMPORARY TABLE campaign_upload (line bigint NOT NULL, player_id text NOT NULL) ON COMMIT DROP")
            with conn.cursor().copy("COPY campaign_upload (line, player_id) FROM STDIN") as copy:
                for block in audience.blocks():
                    copy.write(block)
            base = self.players_total(conn, campaign_id)
            added = conn.execute(
                """
                INSERT INTO campaign_audience (campaign_id, position, player_id)
                SELECT %(campaign)s, %(base)s + row_number() OVER (ORDER BY u.first_line), u.player_id
                  FROM (SELECT player_id, min(line) AS first_line FROM campaign_upload GROUP BY player_id) u
                 WHERE NOT EXISTS (SELECT 1 FROM campaign_audience a WHERE a.campaign_id = %(campaign)s AND a.player_id = u.player_id)
                """,
                {"campaign": campaign_id, "base": base},
            ).rowcount
            upload = Upload(added=added, lines=audience.lines, players_total=base + added, digest=audience.digest)
            record(upload)
        return upload

    @staticmethod
    def players_total(conn: psycopg.Connection[Any], campaign_id: str) -> int:
        """The audience's size (its positions run 1, 2, 3, …)."""
        row = conn.execute("SELECT coalesce(max(position), 0) AS total FROM campaign_audience WHERE campaign_id = %s", [campaign_id]).fetchone()
        return int(row["total"])  # type: ignore[index,call-overload]

    # -- chunks --------------------------------------------------------------------------------------

    def plan(self, conn: psycopg.Connection[Any], campaign_id: str, launch: int, chunk_size: int,
             defer: Callable[[psycopg.Connection[Any], list[Chunk]], list[int]]) -> tuple[int, int]:
        """Cuts the audience into chunks (at the first launch: later ones keep them, whatever the chunk size now) and
        gives each unfinished chunk that no job of the queue waits for or runs a job, deferred in the same transaction
        on ``conn`` (``locked``); chunks a failed launch left unfinished are queued again for this launch.
        Returns the chunks and players in all."""
        with conn.transaction():
            total = self.players_total(conn, campaign_id)
            if total == 0:
                return 0, 0
            conn.execute(
                """
                INSERT INTO campaign_chunks (campaign_id, chunk, first_position, last_position, launch)
                SELECT %(campaign)s, g, g * %(size)s + 1, least((g + 1) * %(size)s, %(total)s), %(launch)s
                  FROM generate_series(0, (%(total)s - 1) / %(size)s) AS g
                 WHERE NOT EXISTS (SELECT 1 FROM campaign_chunks WHERE campaign_id = %(campaign)s)  -- cut once, at the first launch
                """,
                {"campaign": campaign_id, "size": chunk_size, "total": total, "launch": launch},
            )
            conn.execute(
                "UPDATE campaign_chunks SET status = 'queued', launch = %s WHERE campaign_id = %s AND status <> 'done' AND launch < %s",
                [launch, campaign_id, launch],
            )
            waiting = conn.execute(
                """
                SELECT c.chunk, c.first_position, c.last_position FROM campaign_chunks c
                 WHERE c.campaign_id = %s AND c.status IN ('queued', 'running')  -- running, with no job left: its job died
                   AND NOT EXISTS (SELECT 1 FROM procrastinate_jobs j WHERE j.id = c.job_id AND j.status::text = ANY(%s))
                 ORDER BY c.chunk
                """,
                [campaign_id, list(ACTIVE_JOB_STATUSES)],
            ).fetchall()
            chunks = [Chunk(row["chunk"], row["first_position"], row["last_position"]) for row in waiting]  # type: ignore[call-overload]
            if chunks:
                job_ids = defer(conn, chunks)
                conn.execute(
                    "UPDATE campaign_chunks c SET job_id = j.job_id FROM unnest(%s::int[], %s::bigint[]) AS j(chunk, job_id) "
                    "WHERE c.campaign_id = %s AND c.chunk = j.chunk",
                    [[c.chunk for c in chunks], job_ids, campaign_id],
                )
            count = conn.execute("SELECT count(*) AS n FROM campaign_chunks WHERE campaign_id = %s", [campaign_id]).fetchone()
        return int(count["n"]), total  # type: ignore[index,call-overload]

    def start_chunk(self, campaign_id: str, chunk: int, now: datetime) -> tuple[Chunk, list[tuple[int, str]]] | None:
        """Marks the chunk running and returns it with its players that have no outcome yet; None if it is done or
        skipped (or unknown)."""
        with self._datastore.get_connection() as conn, conn.transaction():
            row = conn.execute(
                "UPDATE campaign_chunks SET status = 'running', attempts = attempts + 1, started_at = coalesce(started_at, %s) "
                "WHERE campaign_id = %s AND chunk = %s AND status IN ('queued', 'running') RETURNING first_position, last_position",
                [now, campaign_id, chunk],
            ).fetchone()
            if row is None:
                return None
            first, last = row["first_position"], row["last_position"]  # type: ignore[call-overload]
            pending = conn.execute(
                """
                SELECT a.position, a.player_id FROM campaign_audience a
                 WHERE a.campaign_id = %(campaign)s AND a.position BETWEEN %(first)s AND %(last)s
                   AND NOT EXISTS (SELECT 1 FROM campaign_results r WHERE r.campaign_id = a.campaign_id AND r.position = a.position)
                 ORDER BY a.position
                """,
                {"campaign": campaign_id, "first": first, "last": last},
            ).fetchall()
        return Chunk(chunk, first, last), [(r["position"], r["player_id"]) for r in pending]  # type: ignore[call-overload]

    def finish_chunk(self, campaign_id: str, chunk: Chunk, outcomes: Sequence[PlayerOutcome], now: datetime) -> Progress:
        """Writes the players' outcomes (a player's first one stays), recounts the chunk from its rows and marks it done,
        in one transaction. Returns the campaign's progress after it.

        The chunks of one campaign finish one at a time (a lock of their own): the last two to finish together
        would otherwise each count the other still open, and neither would see the campaign done."""
        with self._datastore.get_connection() as conn, conn.transaction():
            conn.execute(f"SELECT pg_advisory_xact_lock({FINISH_LOCK_KEY})", [campaign_id])
            conn.execute(
                """
                INSERT INTO campaign_results (campaign_id, position, player_id, outcome, award_id, error_code, recorded_at)
                SELECT %s, r.position, r.player_id, r.outcome, r.award_id, r.error_code, %s
                  FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::uuid[], %s::text[]) AS r(position, player_id, outcome, award_id, error_code)
                ON CONFLICT (campaign_id, position) DO NOTHING
                """,
                [campaign_id, now, [o.position for o in outcomes], [o.player_id for o in outcomes], [o.outcome for o in outcomes],
                 [o.award_id for o in outcomes], [o.error_code for o in outcomes]],
            )
            conn.execute(
                """
                UPDATE campaign_chunks c
                   SET status = CASE WHEN c.status = 'skipped' THEN 'skipped' ELSE 'done' END, finished_at = %(now)s,
                       awarded = t.awarded, replayed = t.replayed, refused = t.refused, refused_by_code = t.by_code
                  FROM (SELECT count(*) FILTER (WHERE outcome = 'awarded') AS awarded,
                               count(*) FILTER (WHERE outcome = 'replayed') AS replayed,
                               count(*) FILTER (WHERE outcome = 'refused') AS refused,
                               coalesce((SELECT jsonb_object_agg(code, n) FROM (
                                   SELECT error_code AS code, count(*) AS n FROM campaign_results
                                    WHERE campaign_id = %(campaign)s AND position BETWEEN %(first)s AND %(last)s AND outcome = 'refused'
                                    GROUP BY error_code) AS codes), '{}'::jsonb) AS by_code
                          FROM campaign_results
                         WHERE campaign_id = %(campaign)s AND position BETWEEN %(first)s AND %(last)s) AS t
                 WHERE c.campaign_id = %(campaign)s AND c.chunk = %(chunk)s
                """,
                {"now": now, "campaign": campaign_id, "first": chunk.first_position, "last": chunk.last_position, "chunk": chunk.chunk},
            )
            return self._progress(conn, campaign_id)

    def skip_unissued(self, campaign_id: str) -> int:
        """A cancelled campaign's chunks that have not started are skipped: their jobs find nothing to do."""
        with self._datastore.get_connection() as conn:
            return conn.execute("UPDATE campaign_chunks SET status = 'skipped' WHERE campaign_id = %s AND status = 'queued'", [campaign_id]).rowcount

    def progress(self, campaign_id: str) -> Progress:
        with self._datastore.get_connection() as conn:
            return self._progress(conn, campaign_id)

    @staticmethod
    def _progress(conn: psycopg.Connection[Any], campaign_id: str) -> Progress:
        row = conn.execute(
            """
            SELECT count(*) AS chunks, count(*) FILTER (WHERE status <> 'queued') AS started,
                   count(*) FILTER (WHERE status IN ('queued', 'running')) AS open,
                   coalesce(sum(awarded), 0) AS awarded, coalesce(sum(replayed), 0) AS replayed, coalesce(sum(refused), 0) AS refused
              FROM campaign_chunks WHERE campaign_id = %s
            """,
            [campaign_id],
        ).fetchone()
        codes = conn.execute(
            "SELECT code, sum(n::bigint) AS n FROM campaign_chunks, jsonb_each_text(refused_by_code) AS e(code, n) "
            "WHERE campaign_id = %s GROUP BY code ORDER BY code",
            [campaign_id],
        ).fetchall()
        assert row is not None
        awarded, replayed, refused = int(row["awarded"]), int(row["replayed"]), int(row["refused"])  # type: ignore[call-overload]
        figures = CampaignFigures(awarded + replayed + refused, awarded, replayed, refused,
                                  {c["code"]: int(c["n"]) for c in codes})  # type: ignore[call-overload]
        return Progress(chunks=row["chunks"], chunks_started=row["started"], chunks_open=row["open"], figures=figures)  # type: ignore[call-overload]

    # -- results -------------------------------------------------------------------------------------

    def results(self, campaign_id: str, outcome: str | None, after: str | None, limit: int) -> Page[dict[str, Any]]:
        """In audience order; ``after`` is a page's ``next_cursor``."""
        if after is not None and not CURSOR.fullmatch(after):
            raise ApiError("VALIDATION_ERROR", "after: is not a cursor of this list", field="after")
        where = ["campaign_id = %(campaign)s", "position > %(after)s"]
        if outcome is not None:
            where.append("outcome = %(outcome)s")
        with self._datastore.get_connection() as conn:
            rows = conn.execute(
                f"SELECT position, player_id, outcome, award_id, error_code FROM campaign_results WHERE {' AND '.join(where)} "
                "ORDER BY position LIMIT %(limit)s",
                {"campaign": campaign_id, "after": int(after or 0), "outcome": outcome, "limit": limit + 1},
            ).fetchall()
        has_more = len(rows) > limit
        data = [dict(row) for row in rows[:limit]]
        next_cursor = str(data[-1]["position"]) if has_more else None
        return Page(data=[{k: v for k, v in row.items() if k != "position"} for row in data], next_cursor=next_cursor, has_more=has_more)
