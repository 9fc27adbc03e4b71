"""The Python client (``clients/python``, ``spinledger_client``) against a real ``spinledger serve`` and worker:
what an integration engineer does on their first day, through it alone."""

from __future__ import annotations

import io
import json
import re
import time
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import requests

import spinledger_client.client as client_module
from spinledger_client import Client, SpinledgerError
from tests.e2e.conftest import SYNTHETIC_PLAYERS, Server
from tests.e2e.readme_examples import key_map, parse_readme
from tests.support import API_KEYS, GAME, unique

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "clients" / "python" / "README.md"
# The client's README runs its examples with the keys of the main README's key map.
README_KEYS = key_map(parse_readme((ROOT / "README.md").read_text()))


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[Server]:
    """The e2e server, with the tests' keys and the README's key map."""
    running = Server(database_url, env={**SYNTHETIC_PLAYERS, "SPINLEDGER_API_KEYS": json.dumps({**API_KEYS, **README_KEYS})})
    yield running
    running.stop()


@pytest.fixture(scope="module")
def admin(server) -> Iterator[Client]:
    with Client(server.base, "test-admin-key") as client:
        yield client


@pytest.fixture(scope="module")
def compliance(server) -> Iterator[Client]:
    with Client(server.base, "test-compliance-key") as client:
        yield client


@pytest.fixture(scope="module")
def finance(server) -> Iterator[Client]:
    with Client(server.base, "test-finance-key") as client:
        yield client


def player_and_promotion(admin: Client, **terms: Any) -> tuple[str, str]:
    now = datetime.now(timezone.utc)
    player_id, promo_id = unique("py-player"), unique("py-promo")
    admin.register_player(player_id, region="CA-ON", birth_date=date(1990, 4, 1), currency="CAD")
    admin.define_promotion(
        promo_id, name="Five free spins", game_codes=[GAME], starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=30),
        allowed_regions=["CA"], bet_per_spin=Decimal("0.20"), currency="CAD", max_spins_per_award=50,
        budget_spins=terms.pop("budget_spins", 1000), award_ttl_seconds=7 * 86400, **terms)
    return player_id, promo_id


def eventually(probe: Callable[[], Any], seconds: float = 15) -> Any:
    """The probe's first truthy answer (the worker's views catch up within a second or two)."""
    deadline = time.monotonic() + seconds
    while True:
        found = probe()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def unkeyed(call: Callable[[], Any], attempts: int = 5) -> Any:
    """An unkeyed POST the client does not send twice, sent again by the caller, who knows this one is harmless to
    repeat (a reconciliation run only reads), while the API says it may be retried."""
    for attempt in range(attempts):
        try:
            return call()
        except SpinledgerError as error:
            if not error.retryable or attempt == attempts - 1:
                raise
            time.sleep(min(error.retry_after or 1.0, 5.0))


def test_a_player_a_promotion_and_an_award_made_with_the_client_are_read_back(admin):
    now = datetime.now(timezone.utc)
    player_id = unique("py-player")
    registered = admin.register_player(player_id, region="CA-ON", birth_date=date(1990, 4, 1), currency="CAD")
    assert registered.status_code == 201 and registered["player_id"] == player_id
    promo_id = unique("py-promo")
    promo = admin.define_promotion(
        promo_id, name="Five free spins", game_codes=[GAME], starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=30),
        allowed_regions=["CA"], bet_per_spin=Decimal("0.20"), currency="CAD", max_spins_per_award=50, budget_spins=1000,
        award_ttl_seconds=7 * 86400, per_player_daily_limit=20)
    assert promo.status_code == 201 and promo["bet_per_spin"] == Decimal("0.20") and promo["budget_left"] == 1000

    award = admin.award_free_spins(player_id, promo_id, 5, game_code=GAME, expires_at=now + timedelta(days=3))
    assert award.status_code == 201 and not award.replayed and award["awarded_count"] == 5
    assert re.fullmatch(r"[0-9a-f-]{36}", award.idempotency_key)  # made for the caller

    status = admin.get_award(award["award_id"])
    assert (status["status"], status["spins_remaining"], status["bet_per_spin"]) == ("active", 5, Decimal("0.20"))
    assert admin.get_award_by_key(award.idempotency_key) == status
    assert [a["award_id"] for a in admin.iter_player_awards(player_id)] == [award["award_id"]]
    player = admin.get_player(player_id)
    assert isinstance(player["balance"], Decimal) and player["balance"] == Decimal("0.00")

    with pytest.raises(SpinledgerError) as none:
        admin.get_award_by_key(unique("never-sent"))
    assert (none.value.status, none.value.code) == (404, "AWARD_NOT_FOUND")


def test_an_award_sent_again_with_its_key_returns_the_first_body_and_credits_once(admin):
    player_id, promo_id = player_and_promotion(admin)
    key = f"{promo_id}-{player_id}-welcome"
    first = admin.award_free_spins(player_id, promo_id, 5, game_code=GAME, idempotency_key=key)
    again = admin.award_free_spins(player_id, promo_id, 5, game_code=GAME, idempotency_key=key)
    assert (first.status_code, again.status_code, first.replayed, again.replayed) == (201, 200, False, True)
    assert dict(again) == dict(first) and again.idempotency_key == first.idempotency_key == key
    assert admin.get_promotion(promo_id)["spins_reserved"] == 5
    assert len(list(admin.iter_player_awards(player_id))) == 1

    with pytest.raises(SpinledgerError) as reused:  # the same key on other terms records nothing
        admin.award_free_spins(player_id, promo_id, 6, game_code=GAME, idempotency_key=key)
    assert (reused.value.status, reused.value.code) == (422, "IDEMPOTENCY_KEY_REUSED")

    cancelled = admin.cancel_award(first["award_id"], "campaign withdrawn", idempotency_key=f"cancel-{key}")
    replayed = admin.cancel_award(first["award_id"], "campaign withdrawn", idempotency_key=f"cancel-{key}")
    assert (cancelled["status"], cancelled["spins_forfeited"], replayed.replayed) == ("cancelled", 5, True)


def test_a_refused_request_raises_a_spinledger_error_naming_the_field(admin):
    with pytest.raises(SpinledgerError) as refused:
        admin.register_player(unique("py-player"), region="ZZ-99", birth_date=date(1990, 4, 1), currency="CAD")
    error = refused.value
    assert (error.status, error.code, error.field, error.retryable) == (400, "VALIDATION_ERROR", "region", False)
    assert error.request_id and "region" in str(error)

    player_id, promo_id = player_and_promotion(admin, budget_spins=5)
    admin.award_free_spins(player_id, promo_id, 5, game_code=GAME)
    with pytest.raises(SpinledgerError) as spent:
        admin.award_free_spins(player_id, promo_id, 1, game_code=GAME)
    assert (spent.value.status, spent.value.code) == (409, "BUDGET_EXHAUSTED")


def test_the_event_generator_pages_through_a_players_history_without_a_gap_or_a_repeat(admin, compliance):
    player_id, promo_id = player_and_promotion(admin)
    batch = admin.award_batch([{"player_id": player_id, "promo_id": promo_id, "award_type": "FREE_SPINS", "award_value": 1,
                                "game_code": GAME} for _ in range(4)])
    assert [item["status"] for item in batch["results"]] == [201] * 4 and len(set(batch.keys_sent)) == 4
    admin.deposit(player_id, Decimal("50.00"), "CAD")
    # PlayerRegistered, 4 × (FreeSpinsAwarded, AwardReceived), FundsDeposited: what the index has once it caught up
    expected = eventually(lambda: len(compliance.list_events(player_id=player_id, limit=1000)["data"]) >= 10 and
                          compliance.list_events(player_id=player_id, limit=1000)["data"])
    assert expected, "the event index did not catch up"

    paged = list(compliance.iter_events(player_id=player_id, page_size=3))
    assert [e["position"] for e in paged] == [e["position"] for e in expected]
    assert len({e["event_id"] for e in paged}) == len(paged) >= 10
    assert {e["type"] for e in paged} >= {"PlayerRegistered", "FreeSpinsAwarded", "FundsDeposited"}

    awarded = list(compliance.iter_events(player_id=player_id, types=["FreeSpinsAwarded"], page_size=2))
    assert len(awarded) == 4
    later = list(compliance.iter_events(player_id=player_id, after=paged[-2]["position"]))
    assert [e["position"] for e in later] == [paged[-1]["position"]]

    exported = list(compliance.iter_event_export(player_id=player_id))
    assert [e["position"] for e in exported] == [e["position"] for e in expected]
    out = io.BytesIO()
    assert compliance.export_events(out, player_id=player_id, format="csv") == len(out.getvalue()) > 0


def test_the_liability_report_and_a_reconciliation_run_give_decimal_figures(admin, finance):
    player_id, promo_id = player_and_promotion(admin)
    admin.award_free_spins(player_id, promo_id, 7, game_code=GAME)
    line = eventually(lambda: next((line for line in finance.liability_report()["data"]
                                    if line["promo_id"] == promo_id and line["spins_awarded"] == 7), None))
    assert line, "the promotions view did not catch up"
    assert line["liability"] == Decimal("1.40") and isinstance(line["wins_paid"], Decimal)  # 7 unplayed × 0.20
    assert isinstance(finance.liability_report()["coins"]["balances"], Decimal)

    run = unkeyed(finance.run_reconciliation)
    assert run.status_code == 201 and run["status"] in ("ok", "drift")
    assert isinstance(run["threshold_pct"], Decimal)
    assert all(isinstance(check[figure], Decimal) for check in run["checks"] for figure in ("expected", "actual", "drift"))
    assert finance.get_reconciliation_run(run["run_id"]) == run
    assert run["run_id"] in [r["run_id"] for r in finance.iter_reconciliation_runs()]
    assert finance.export_reconciliation_run(run["run_id"]).splitlines()[0]


def test_the_client_has_a_method_for_every_back_office_operation_of_the_served_document(server):
    """Every operation of ``/openapi.json`` but the game's (a session token, not an API key), the probes and the
    metrics is one the client calls, and the client calls nothing else: a route added to the API without a client
    method fails here."""
    document = requests.get(f"{server.base}/openapi.json", timeout=10).json()
    left_out = {"/healthz", "/readyz", "/metrics", "/openapi.json"}
    served = {(method.upper(), re.sub(r"\{[^}]+\}", "{}", path)) for path, operations in document["paths"].items()
              for method in operations if method in ("get", "put", "post", "delete")
              if path not in left_out and not path.startswith("/api/v1/game/")}
    source = Path(client_module.__file__).read_text()
    called = {(method, re.sub(r"\{[^}]+\}", "{}", path)) for method, path in
              re.findall(r'_(?:request|send)\("(GET|PUT|POST|DELETE)", f"\{API\}([^"]*)"', source)}
    called |= {("GET", re.sub(r"\{[^}]+\}", "{}", path)) for path in re.findall(r'_pages\(f"\{API\}([^"]*)"', source)}
    called = {(method, f"/api/v1{path}") for method, path in called}
    assert (sorted(served - called), sorted(called - served)) == ([], [])  # none missing, none the API does not serve


def test_the_readme_examples_run_as_written(server, capsys):
    """The README's Python blocks, in order, in one namespace, against the server (its ids made unique, so that
    the shared database keeps no README player of another test's)."""
    project = (ROOT / "clients" / "python" / "pyproject.toml").read_text()
    assert 'name = "spinledger-client"' in project and 'dependencies = ["requests>=2.32"]' in project
    text = README.read_text()
    assert "pip install -e clients/python" in text
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 4
    player_id, promo_id = unique("readme-player"), unique("readme-promo")
    namespace: dict[str, Any] = {}
    for block in blocks:
        code = (block.replace('"http://127.0.0.1:8000"', repr(server.base))
                .replace('"12345"', repr(player_id)).replace('"promo-free-5"', repr(promo_id)))
        exec(compile(code, str(README), "exec"), namespace)  # noqa: S102 - the README's own examples
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("201 ") and printed[1] == "active 5 0.20"
    assert printed[2].startswith("403 INELIGIBLE award_value ")
    assert isinstance(namespace["cad"], Decimal) and namespace["cad"] >= 0
