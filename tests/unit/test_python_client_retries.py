"""The Python client's retries and wire rules, against a real local HTTP server (``http.server`` in a thread) that
answers what each test scripts: which calls are sent again, with what, after how long."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from spinledger_client import Client, SpinledgerConnectionError, SpinledgerError

RECEIPT = {"status": "OK", "event_id": "e-1", "award_id": "9d7a4f52-3b43-5b8e-9f6e-0c0de0c0de01", "awarded_count": 5,
           "server_time": "2026-11-18T10:00:00.123Z", "expires_at": "2026-11-25T10:00:00.000Z"}
DROP = "drop the connection without an answer"


def envelope(code: str, *, retryable: bool, retry_after_ms: int | None = None, field: str | None = None) -> dict[str, Any]:
    error = {"code": code, "message": f"{code.lower()} (scripted)", "requestId": "scripted", "timestamp": "2026-11-18T10:00:00.000Z",
             "retryable": retryable, "retryAfterMs": retry_after_ms}
    if field:
        error["field"] = field
    return {"error": error}


UNAVAILABLE = (503, envelope("SERVICE_UNAVAILABLE", retryable=True, retry_after_ms=1000), {})


class Scripted:
    """The answers to give, in order (the last one again once they run out), and the requests received."""

    def __init__(self) -> None:
        self.answers: list[Any] = []
        self.received: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def next_answer(self) -> Any:
        with self.lock:
            return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


@pytest.fixture
def api() -> Iterator[tuple[str, Scripted]]:
    script = Scripted()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            url = urlsplit(self.path)
            with script.lock:
                script.received.append({"method": self.command, "path": url.path, "query": parse_qs(url.query),
                                        "headers": dict(self.headers), "body": body})
            answer = script.next_answer()
            if answer == DROP:
                self.close_connection = True
                return
            status, payload, headers = answer
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("X-Request-Id", self.headers.get("X-Request-Id", ""))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = _answer

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", script
    finally:
        server.shutdown()
        server.server_close()


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client_for(base: str, sleeps: Sleeps, **options: Any) -> Client:
    return Client(base, "unit-key", sleep=sleeps, timeout=5, **options)


def award(client: Client, **extra: Any) -> Any:
    return client.award_free_spins("12345", "promo-free-5", 5, game_code="crystal-forge-v1", **extra)


def test_a_keyed_post_answered_503_is_sent_again_with_the_same_idempotency_key_request_id_and_body(api):
    base, script = api
    script.answers = [UNAVAILABLE, (201, RECEIPT, {})]
    sleeps = Sleeps()
    result = award(client_for(base, sleeps))
    first, second = script.received
    assert result.status_code == 201 and result["award_id"] == RECEIPT["award_id"]
    assert first["headers"]["Idempotency-Key"] == second["headers"]["Idempotency-Key"] == result.idempotency_key
    assert first["headers"]["X-Request-Id"] == second["headers"]["X-Request-Id"] == result.request_id
    assert first["body"] == second["body"]
    assert len(sleeps) == 1 and sleeps[0] >= 1.0  # the envelope's retryAfterMs, at least


def test_a_key_the_caller_gives_is_the_one_sent_on_every_attempt(api):
    base, script = api
    script.answers = [DROP, UNAVAILABLE, (201, RECEIPT, {})]
    result = award(client_for(base, Sleeps()), idempotency_key="promo-free-5-12345-20261118")
    assert [r["headers"]["Idempotency-Key"] for r in script.received] == ["promo-free-5-12345-20261118"] * 3
    assert len({r["headers"]["X-Request-Id"] for r in script.received}) == 1
    assert result.idempotency_key == "promo-free-5-12345-20261118"


def test_each_call_gets_a_fresh_key_and_request_id_of_its_own(api):
    base, script = api
    script.answers = [(201, RECEIPT, {})]
    client = client_for(base, Sleeps())
    one, two = award(client), award(client)
    assert one.idempotency_key != two.idempotency_key and one.request_id != two.request_id
    assert json.loads(script.received[0]["body"]) == {
        "player_id": "12345", "promo_id": "promo-free-5", "award_type": "FREE_SPINS", "award_value": 5,
        "game_code": "crystal-forge-v1"}


def test_an_unkeyed_post_is_not_retried(api):
    base, script = api
    script.answers = [UNAVAILABLE, (201, {"id": "w-1", "secret": "whsec_x"}, {})]
    sleeps = Sleeps()
    with pytest.raises(SpinledgerError) as refused:
        client_for(base, sleeps).create_webhook("https://crm.example.com/hooks", ["FreeSpinsAwarded"])
    assert (refused.value.status, refused.value.code, refused.value.retryable) == (503, "SERVICE_UNAVAILABLE", True)
    assert len(script.received) == 1 and sleeps == []


def test_an_unkeyed_post_that_got_no_answer_is_not_sent_again(api):
    base, script = api
    script.answers = [DROP, (201, {"token": "t"}, {})]
    with pytest.raises(SpinledgerConnectionError) as lost:
        client_for(base, Sleeps()).create_session("12345")
    assert lost.value.status is None and lost.value.code == "NO_RESPONSE"
    assert len(script.received) == 1


def test_a_keyed_post_that_got_no_answer_is_sent_again_and_a_failure_keeps_the_key(api):
    base, script = api
    script.answers = [DROP]
    sleeps = Sleeps()
    with pytest.raises(SpinledgerConnectionError) as lost:
        award(client_for(base, sleeps, max_retries=2))
    assert len(script.received) == 3 and len(sleeps) == 2
    assert lost.value.idempotency_key == script.received[0]["headers"]["Idempotency-Key"]  # to look it up afterwards


def test_a_400_is_not_retried_and_names_its_field(api):
    base, script = api
    script.answers = [(400, envelope("VALIDATION_ERROR", retryable=False, field="award_value"), {}), (201, RECEIPT, {})]
    sleeps = Sleeps()
    with pytest.raises(SpinledgerError) as refused:
        award(client_for(base, sleeps))
    error = refused.value
    assert (error.status, error.code, error.field, error.request_id, error.retry_after) == (
        400, "VALIDATION_ERROR", "award_value", "scripted", None)
    assert len(script.received) == 1 and sleeps == []


@pytest.mark.parametrize("status, code", [(409, "BUDGET_EXHAUSTED"), (422, "IDEMPOTENCY_KEY_REUSED"), (404, "AWARD_NOT_FOUND")])
def test_no_4xx_but_429_is_retried_even_on_a_get(api, status, code):
    base, script = api
    script.answers = [(status, envelope(code, retryable=False), {}), (200, RECEIPT, {})]
    with pytest.raises(SpinledgerError) as refused:
        client_for(base, Sleeps()).get_award(RECEIPT["award_id"])
    assert refused.value.code == code and len(script.received) == 1


def test_retry_after_ms_is_honoured_through_the_injected_sleep(api):
    base, script = api
    script.answers = [(429, envelope("RATE_LIMIT", retryable=True, retry_after_ms=2500), {"Retry-After": "3"}), (201, RECEIPT, {})]
    sleeps = Sleeps()
    award(client_for(base, sleeps))
    assert len(script.received) == 2
    assert sleeps == [pytest.approx(2.5)]  # retryAfterMs (ms precision) over the rounded-up Retry-After


def test_a_gateway_503_without_an_envelope_is_retried_after_its_retry_after_header(api):
    base, script = api
    script.answers = [(503, b"<html>upstream unavailable</html>", {"Retry-After": "3"}), (200, RECEIPT, {})]
    sleeps = Sleeps()
    assert client_for(base, sleeps).get_award(RECEIPT["award_id"])["award_id"] == RECEIPT["award_id"]
    assert sleeps == [3.0]


def test_a_retryable_500_is_retried_and_a_503_the_api_calls_final_is_not(api):
    base, script = api
    script.answers = [(500, envelope("INTERNAL_ERROR", retryable=True, retry_after_ms=3000), {}), (200, RECEIPT, {})]
    sleeps = Sleeps()
    client_for(base, sleeps).get_award(RECEIPT["award_id"])
    assert sleeps == [3.0]
    script.answers, script.received = [(503, envelope("GAME_UNDER_MAINTENANCE", retryable=False), {}), (200, {}, {})], []
    with pytest.raises(SpinledgerError) as final:
        client_for(base, Sleeps()).get_game("crystal-forge-v1")
    assert final.value.code == "GAME_UNDER_MAINTENANCE" and len(script.received) == 1


def test_a_wait_longer_than_the_client_allows_is_raised_at_once_with_its_retry_after(api):
    base, script = api
    script.answers = [(429, envelope("RATE_LIMIT", retryable=True, retry_after_ms=50_400_000, field="award_value"), {})]
    sleeps = Sleeps()
    with pytest.raises(SpinledgerError) as full:
        award(client_for(base, sleeps))
    assert (full.value.code, full.value.retry_after, full.value.field) == ("RATE_LIMIT", 50_400.0, "award_value")
    assert len(script.received) == 1 and sleeps == []


def test_backoff_doubles_with_jitter_up_to_its_cap_and_stops_after_max_retries(api):
    base, script = api
    script.answers = [(502, b"bad gateway", {})]
    sleeps = Sleeps()
    client = client_for(base, sleeps, max_retries=5, backoff=0.5, max_backoff=2.0, jitter=lambda: 1.0)
    with pytest.raises(SpinledgerError) as gave_up:
        client.get_promotion("promo-free-5")
    assert gave_up.value.code == "HTTP_502" and len(script.received) == 6
    assert sleeps == [0.5, 1.0, 2.0, 2.0, 2.0]
    low = Sleeps()
    with pytest.raises(SpinledgerError):
        client_for(base, low, max_retries=2, backoff=0.5, jitter=lambda: 0.0).get_promotion("promo-free-5")
    assert low == [0.25, 0.5]  # jitter takes each wait down to half its ceiling at most


def test_a_batch_gives_each_item_a_key_and_is_retried_as_it_is(api):
    base, script = api
    script.answers = [UNAVAILABLE, (200, {"results": []}, {})]
    items = [{"player_id": "p-1", "promo_id": "coins", "award_type": "GOLD_COINS", "award_value": Decimal("500.00"),
              "game_code": "crystal-forge-v1", "idempotency_key": "mine"},
             {"player_id": "p-2", "promo_id": "coins", "award_type": "GOLD_COINS", "award_value": Decimal("5"),
              "game_code": "crystal-forge-v1"}]
    result = client_for(base, Sleeps()).award_batch(items)
    sent = [json.loads(r["body"])["awards"] for r in script.received]
    assert sent[0] == sent[1]
    assert [item["award_value"] for item in sent[0]] == ["500.00", "5.00"]
    assert result.keys_sent == ["mine", sent[0][1]["idempotency_key"]]


def test_money_goes_out_as_two_decimal_strings_and_comes_back_as_decimal(api):
    base, script = api
    script.answers = [(201, {"transaction_id": "psp-1", "amount": "50.00", "balance": "1250.10", "currency": "CAD"}, {})]
    client = client_for(base, Sleeps())
    receipt = client.deposit("12345", Decimal("50"), "CAD", transaction_id="psp-1")
    assert json.loads(script.received[0]["body"]) == {"transaction_id": "psp-1", "amount": "50.00", "currency": "CAD"}
    assert (receipt["amount"], receipt["balance"]) == (Decimal("50.00"), Decimal("1250.10"))
    assert receipt.idempotency_key == "psp-1"
    with pytest.raises(TypeError):
        client.deposit("12345", 50.0, "CAD")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        client.deposit("12345", Decimal("0.205"), "CAD")
    assert len(script.received) == 1  # neither was sent


def test_a_deposit_without_a_transaction_id_gets_one_and_is_retried_with_it(api):
    base, script = api
    script.answers = [UNAVAILABLE, (201, {"amount": "5.00"}, {})]
    client_for(base, Sleeps()).withdraw("12345", Decimal("5.00"), "CAD")
    first, second = (json.loads(r["body"]) for r in script.received)
    assert first == second and len(first["transaction_id"]) == 36


def test_instants_go_out_in_utc_and_a_naive_datetime_is_refused(api):
    base, script = api
    script.answers = [(201, RECEIPT, {})]
    client = client_for(base, Sleeps())
    toronto = timezone(timedelta(hours=-5))
    award(client, expires_at=datetime(2026, 11, 25, 5, 0, tzinfo=toronto))
    assert json.loads(script.received[0]["body"])["expires_at"] == "2026-11-25T10:00:00Z"
    with pytest.raises(ValueError):
        award(client, expires_at=datetime(2026, 11, 25, 10, 0))
    assert len(script.received) == 1


def test_a_page_generator_follows_next_cursor_until_has_more_is_false(api):
    base, script = api
    script.answers = [(200, {"data": [{"position": 1}, {"position": 2}], "next_cursor": "2", "has_more": True}, {}),
                      (200, {"data": [{"position": 3}], "next_cursor": "3", "has_more": False}, {})]
    since = datetime(2026, 11, 1, tzinfo=timezone.utc)
    events = list(client_for(base, Sleeps()).iter_events(player_id="p-1", types=["SpinSettled", "FundsDeposited"],
                                                          from_=since, page_size=2))
    assert [e["position"] for e in events] == [1, 2, 3]
    first, second = (r["query"] for r in script.received)
    assert first == {"player_id": ["p-1"], "type": ["SpinSettled", "FundsDeposited"], "from": ["2026-11-01T00:00:00Z"], "limit": ["2"]}
    assert second == {**first, "after": ["2"]}


def test_the_key_is_never_in_the_clients_repr_or_an_error(api):
    base, script = api
    script.answers = [(401, envelope("UNAUTHORIZED", retryable=False), {})]
    client = client_for(base, Sleeps())
    with pytest.raises(SpinledgerError) as refused:
        client.get_player("12345")
    assert "unit-key" not in repr(client) + str(refused.value) + repr(refused.value)
    assert script.received[0]["headers"]["Authorization"] == "Bearer unit-key"
