"""What the raw audit log keeps of a body: JSON redacted at any depth, text redacted and cut, and never
a value PostgreSQL would refuse."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.audit_log import a_year_before
from app.audit_capture import (
    JSON_LIMIT, REDACTED, SECRET_NAME, TEXT_LIMIT, _names_a_secret, capture_body, redact, redact_text, short_text,
)


def test_secret_named_keys_are_redacted_at_any_depth_whatever_their_case():
    body = {"player_id": "p-1", "Token": "t", "session": {"api_key": "k", "items": [{"PassWord": "p", "x": 1}]},
            "client_secret": {"nested": "s"}, "Authorization": "Bearer z", "apiKey": "k2", "amount": "1.00"}
    assert redact(body) == {"player_id": "p-1", "Token": REDACTED, "session": {"api_key": REDACTED, "items": [{"PassWord": REDACTED, "x": 1}]},
                            "client_secret": REDACTED, "Authorization": REDACTED, "apiKey": REDACTED, "amount": "1.00"}


def test_the_presented_credential_is_cut_out_of_every_string_but_a_short_one_is_not_searched_for():
    assert redact({"note": "key=abcdefgh123 ok", "list": ["abcdefgh123"]}, ["abcdefgh123"]) == {"note": f"key={REDACTED} ok", "list": [REDACTED]}
    assert redact({"note": "a short one"}, ["a"]) == {"note": "a short one"}


def test_a_json_body_is_kept_whole_and_redacted():
    raw = b'{"token": "abc", "amount": "5.00", "n": [1, 2.5, null, true]}'
    captured = capture_body(raw)
    assert json.loads(captured.json) == {"token": REDACTED, "amount": "5.00", "n": [1, 2.5, None, True]}
    assert (captured.text, captured.size, captured.truncated) == (None, len(raw), False)


def test_text_bodies_have_name_value_pairs_of_secrets_redacted():
    text = 'token=abc&amount=5 password: "p w" Authorization: Bearer xyz.abc api-key=k1'
    assert redact_text(text) == f'token={REDACTED}&amount=5 password: "{REDACTED}" Authorization: {REDACTED} api-key={REDACTED}'
    captured = capture_body(b"<xml><secret>s</secret> session_token=tok123</xml>", ["tok123"])
    assert captured.json is None and "tok123" not in captured.text and captured.text.startswith("<xml>")


def test_a_huge_body_is_cut_and_says_so():
    captured = capture_body(b"x" * (TEXT_LIMIT + 10))
    assert (len(captured.text), captured.size, captured.truncated) == (TEXT_LIMIT, TEXT_LIMIT + 10, True)
    huge = json.dumps({"token": "t", "blob": "y" * JSON_LIMIT}).encode()
    captured = capture_body(huge)
    assert captured.json is None and captured.truncated and captured.text.startswith('{"token": "[REDACTED]"')


def test_values_postgresql_refuses_are_kept_as_escaped_text():
    nul = capture_body(b'{"player_id": "a\\u0000b", "token": "t"}')
    assert nul.json is None and nul.text == '{"player_id": "a\\u0000b", "token": "[REDACTED]"}'
    surrogate = capture_body(b'{"x": "\\ud800"}')
    assert surrogate.json is None and surrogate.text == '{"x": "\\ud800"}'
    overflow = capture_body(b'{"amount": 1e400, "password": "p"}')
    assert overflow.json is None and overflow.text == f'{{"amount": 1e400, "password": "{REDACTED}"}}'
    raw = capture_body(b"\x00\xff plain")
    assert raw.text == "\ufffd\ufffd plain" and not raw.truncated


def test_caller_text_for_metadata_is_bounded_and_storable():
    assert short_text("a\x00b\ud800" + "z" * 300) == "a\ufffdb?" + "z" * 251


def test_the_year_before_the_twenty_ninth_of_february_is_the_twenty_eighth():
    assert a_year_before(datetime(2028, 2, 29, 3, 30, tzinfo=timezone.utc)) == datetime(2027, 2, 28, 3, 30, tzinfo=timezone.utc)
    at = datetime(2026, 11, 18, 10, tzinfo=timezone.utc)
    assert a_year_before(at) == at - timedelta(days=365)


def test_a_secret_behind_a_json_escape_is_still_redacted():
    body = capture_body(b'{"note": "key s3cr\\/et-value-123 here"}', ["s3cr/et-value-123"])
    assert "s3cr" not in body.json and "[REDACTED]" in body.json


def test_a_body_with_nothing_to_redact_is_kept_as_sent():
    raw = b'{"player_id":"p-1","amount":"5.00"}'
    assert capture_body(raw, ["a-long-credential"]).json == raw.decode()


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(["token", "ToKeN", "SECRET", "pass", "word", "api", "Api-Key", "api_key", "apikey", "auth",
                                 "orization", "x", " ", '"', ":", "é", "ſecret", "\u212aey", "İ"]), max_size=12).map("".join))
def test_the_fast_search_for_secret_names_finds_exactly_what_the_regular_expression_finds(text):
    assert _names_a_secret(text) == (SECRET_NAME.search(text) is not None)


def test_a_response_is_parsed_as_strictly_as_a_request():
    for refused in (b'{"a": NaN}', b'{"a": "\\ud800"}', b"[1e400]", b'{"a": Infinity}'):
        with pytest.raises(orjson.JSONDecodeError):
            orjson.loads(refused)
        assert capture_body(refused, parse=orjson.loads).json is None
    assert capture_body(b'{"a": [1, "b"]}', parse=orjson.loads).value == {"a": [1, "b"]}
