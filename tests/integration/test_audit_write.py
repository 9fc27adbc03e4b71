"""The raw audit log's write on PostgreSQL: every row of a group kept, whatever one of them holds."""

from __future__ import annotations

from datetime import datetime, timezone

import psycopg
import pytest
from eventsourcing.persistence import OperationalError
from psycopg.rows import dict_row

from app import audit_log as audit
from app.audit_log import AuditLog, AuditRecord
from app.audit_capture import NO_BODY, CapturedBody, capture_body
from tests.support import unique

PAD = "x" * 1500
PADDED = ('{"pad": "' + PAD + '"}').encode()  # with STATEMENT_BYTES at 4096, two such rows go in a statement


@pytest.fixture
def log(ledger):
    audit_log = AuditLog(ledger.recorder.datastore)
    yield audit_log
    audit_log.close()


def record(
    request_id: str, request: CapturedBody = NO_BODY, response: CapturedBody = NO_BODY, path: str = "/api/v1/awards",
) -> AuditRecord:
    return AuditRecord(
        at=datetime(2026, 11, 29, 10, 0, tzinfo=timezone.utc), method="POST", route="/api/v1/awards", path=path,
        status=201, key_name="marketing", session_id=None, idempotency_key="k-1", request_id=request_id,
        player_ids=["p-1", 'p "2"'], latency_ms=1.2345, request=request, response=response,
    )


def rows(db, *request_ids: str) -> dict[str, dict]:
    found = db.cursor(row_factory=dict_row).execute(
        "SELECT * FROM audit_requests WHERE request_id = ANY(%s)", [list(request_ids)]
    ).fetchall()
    return {row["request_id"]: row for row in found}


def test_a_group_is_written_with_every_column_as_captured(log, db):
    first, second = unique("req"), unique("req")
    log._write([
        record(first, capture_body(b'{"player_id": "p-1", "n": [1, 2.5, null]}'), capture_body(b'"plain"')),
        record(second, capture_body(b"not json"), capture_body(b"null")),
    ])
    found = rows(db, first, second)
    assert found[first]["request_body"] == {"player_id": "p-1", "n": [1, 2.5, None]}
    assert found[first]["response_body"] == "plain"
    assert (found[first]["player_ids"], str(found[first]["latency_ms"])) == (["p-1", 'p "2"'], "1.235")
    assert found[first]["at"] == datetime(2026, 11, 29, 10, 0, tzinfo=timezone.utc)
    assert (found[second]["request_body"], found[second]["request_text"]) == (None, "not json")
    # A body of JSON null is the JSON value null, not the absence of a body.
    assert found[second]["response_body"] is None and found[second]["response_bytes"] == 4
    (is_json_null,) = db.execute("SELECT response_body = 'null'::jsonb FROM audit_requests WHERE request_id = %s", [second]).fetchone()
    assert is_json_null is True


def test_a_body_postgresql_refuses_as_json_is_kept_as_text_and_the_rest_of_its_group_is_written(log, db):
    plain, bom, huge, claimed = (unique("req") for _ in range(4))
    log._write([
        record(plain, capture_body(b'{"a": 1}')),
        record(bom, capture_body('\ufeff{"a": 1}'.encode())),
        record(huge, response=capture_body(b'{"a": 1e1000000}')),
        record(claimed, CapturedBody(None, None, 2**40, True)),
    ])
    found = rows(db, plain, bom, huge, claimed)
    assert found[plain]["request_body"] == {"a": 1}
    assert (found[bom]["request_body"], found[bom]["request_text"]) == (None, '\ufeff{"a": 1}')
    assert (found[huge]["response_body"], found[huge]["response_text"]) == (None, '{"a": 1e1000000}')
    assert (found[claimed]["request_bytes"], found[claimed]["request_truncated"]) == (2**31 - 1, True)


def test_a_row_postgresql_refuses_even_with_its_bodies_as_text_is_reported_and_the_rest_of_its_group_is_written(log, db):
    before, refused, after = (unique("req") for _ in range(3))
    # No text column holds a NUL: a row with one is refused however its bodies are kept.
    results = log._write([record(before), record(refused, capture_body(b'{"a": 1}'), path="/api/v1/awards\x00"), record(after)])
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], psycopg.DataError)
    assert set(rows(db, before, refused, after)) == {before, after}


def test_recording_a_row_postgresql_refuses_raises_what_it_was_refused_for(log, db):
    refused = unique("req")
    with pytest.raises(psycopg.DataError):
        log.record(record(refused, path="/api/v1/awards\x00"))
    assert rows(db, refused) == {}
    written = unique("req")
    log.record(record(written))
    assert set(rows(db, written)) == {written}


def test_a_large_group_goes_in_several_statements(log, db, monkeypatch):
    monkeypatch.setattr(audit, "STATEMENT_BYTES", 4096)
    ids = [unique("req") for _ in range(6)]
    assert len(list(audit._statements([audit._row(record(i, capture_body(PADDED))) for i in ids]))) == 3
    log._write([record(i, capture_body(PADDED)) for i in ids])
    assert {i: row["request_body"]["pad"] for i, row in rows(db, *ids).items()} == {i: PAD for i in ids}


def test_a_database_failure_midway_reports_only_the_rows_it_kept_from_being_written(log, db, monkeypatch):
    monkeypatch.setattr(audit, "STATEMENT_BYTES", 4096)
    ids = [unique("req") for _ in range(6)]
    real_append, calls = audit._append, []

    def connection_lost_on_the_second_statement(conn, rows):
        calls.append(len(rows))
        if len(calls) == 2:
            raise psycopg.OperationalError("the connection was lost")
        real_append(conn, rows)

    monkeypatch.setattr(audit, "_append", connection_lost_on_the_second_statement)
    results = log._write([record(i, capture_body(PADDED)) for i in ids])
    assert calls == [2, 2]
    assert results[:2] == [None, None]
    assert all(isinstance(result, OperationalError) for result in results[2:])  # as the event store raises it
    assert set(rows(db, *ids)) == set(ids[:2])
