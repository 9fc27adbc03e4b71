"""The generated TypeScript client (``clients/typescript``): committed types that match the served document, a
strict type check, its example playing awarded spins against a real server, and its retry layer against a
scripted one.

Node and npm must be installed; ``npm ci`` runs once a session when ``clients/typescript/node_modules`` is
missing (a fresh clone), from the committed lock file."""

from __future__ import annotations

import difflib
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from tests.support import ADMIN, COMPLIANCE

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "clients" / "typescript"
GENERATED = ("openapi.json", "src/schema.d.ts")
BUILD = CLIENT / "build"
STEP_LINE = re.compile(r"^ok +(\S+(?: \S+)*)")


def run(command: list[str], *, cwd: Path = CLIENT, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def node_modules() -> Path:
    """The client's packages, as its lock file pins them: installed by ``npm ci`` when missing, once a session."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.fail("the TypeScript client's tests need node and npm (Node.js 20)")
    installed = CLIENT / "node_modules"
    if not (installed / ".package-lock.json").is_file():
        done = run(["npm", "ci", "--no-audit", "--no-fund"], timeout=600)
        assert done.returncode == 0, f"npm ci failed:\n{done.stdout}\n{done.stderr}"
    return installed


@pytest.fixture(scope="session")
def compiled(node_modules: Path) -> Path:
    """The client, its example and its test scripts compiled to ``clients/typescript/build`` (ignored by git),
    beside ``node_modules``, where node finds openapi-fetch."""
    shutil.rmtree(BUILD, ignore_errors=True)
    done = run(["npx", "--no", "--", "tsc", "-p", "tsconfig.build.json"])
    assert done.returncode == 0, f"tsc -p tsconfig.build.json failed:\n{done.stdout}\n{done.stderr}"
    return BUILD


def stale_files(committed: Path, generated: Path) -> list[str]:
    """A unified diff (cut short) of each generated file that differs from the committed one."""
    problems = []
    for name in GENERATED:
        ours = (committed / name).read_text(encoding="utf-8").splitlines(keepends=True) if (committed / name).is_file() else []
        fresh = (generated / name).read_text(encoding="utf-8").splitlines(keepends=True)
        if ours != fresh:
            diff = list(difflib.unified_diff(ours, fresh, f"committed {name}", f"generated {name}"))
            problems.append("".join(diff[:40]) + (f"... ({len(diff) - 40} more diff lines)\n" if len(diff) > 40 else ""))
    return problems


def test_the_committed_client_is_what_the_served_document_generates(node_modules, database_url, tmp_path):
    done = run(["bash", str(CLIENT / "generate.sh"), str(tmp_path)], env={"DATABASE_URL": database_url, "PYTHON": sys.executable})
    assert done.returncode == 0, f"generate.sh failed:\n{done.stdout}\n{done.stderr}"
    problems = stale_files(CLIENT, tmp_path)
    assert not problems, "clients/typescript is stale: run `make client` and commit the result\n" + "\n".join(problems)


def test_the_document_a_running_server_serves_is_the_committed_one(server):
    served = requests.get(f"{server.base}/openapi.json", timeout=10)
    assert served.status_code == 200
    committed = json.loads((CLIENT / "openapi.json").read_text(encoding="utf-8"))
    assert served.json() == committed, "clients/typescript/openapi.json is not what the server serves: run `make client`"


def test_the_client_its_example_and_its_tests_pass_tsc_strict(node_modules):
    done = run(["npx", "--no", "--", "tsc", "--strict", "--noEmit", "-p", "."])
    assert done.returncode == 0, f"tsc --strict reports errors:\n{done.stdout}\n{done.stderr}"


def test_the_example_awards_spins_opens_a_session_and_plays_them_against_a_real_server(compiled, server):
    done = run(["node", str(compiled / "examples" / "play.js")], timeout=60,
               env={"SPINLEDGER_URL": server.base, "SPINLEDGER_API_KEY": "test-admin-key"})
    assert done.returncode == 0, f"play.js exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    lines = done.stdout.strip().splitlines()
    steps = [found.group(1) for line in lines if (found := STEP_LINE.match(line))]
    assert steps[:5] == ["define player", "define promotion", "award free spins", "open session", "game config"]
    assert steps[-1] == "award completed"
    outcome = json.loads(lines[-1])

    award = requests.get(f"{server.base}/api/v1/awards/{outcome['award_id']}", headers=ADMIN, timeout=10).json()
    assert (award["status"], award["spins_used"], award["spins_remaining"], award["player_id"]) == ("completed", 3, 0, outcome["player_id"])
    # The spins are events: three AwardSpinPlayed on the award, and three settled spins of the player's.
    deadline = time.monotonic() + 15
    while True:
        page = requests.get(f"{server.base}/api/v1/events", params={"award_id": outcome["award_id"], "limit": 100},
                            headers=COMPLIANCE, timeout=10).json()
        played = [event for event in page["data"] if event["type"] == "AwardSpinPlayed"]
        if len(played) >= 3 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert len(played) == 3, [event["type"] for event in page["data"]]


# ---- the retry layer, against a scripted server ------------------------------------------------------------


def envelope(code: str, status: int, retryable: bool, retry_after_ms: int | None) -> tuple[int, dict[str, str], bytes]:
    body = {"error": {"code": code, "message": code.lower(), "requestId": "scripted", "timestamp": "2026-11-18T10:00:00.000Z",
                      "retryable": retryable, "retryAfterMs": retry_after_ms}}
    return status, {"Content-Type": "application/json"}, json.dumps(body).encode()


OK = (200, {"Content-Type": "application/json"}, b'{"ok": true}')
DROP = None  # close the connection without an answer
# Each path's answers, attempt by attempt (the last one repeats).
SCRIPT: dict[str, list[Any]] = {
    "/api/v1/players/p-503": [envelope("SERVICE_UNAVAILABLE", 503, True, 10), OK],
    "/api/v1/game/spin": [envelope("SPIN_IN_PROGRESS", 409, True, 30), OK],
    "/api/v1/players/p-400": [envelope("VALIDATION_ERROR", 400, False, None), OK],
    "/api/v1/game/config": [envelope("GAME_UNDER_MAINTENANCE", 503, False, None), OK],
    "/api/v1/players/p-reset": [DROP, OK],
    "/api/v1/players/p-502": [(502, {"Content-Type": "text/html"}, b"<html>bad gateway</html>"), OK],
    "/api/v1/players/p-429": [(429, {"Content-Type": "text/plain", "Retry-After": "1"}, b"slow down"), OK],
    "/api/v1/players/p-429-long": [envelope("RATE_LIMIT", 429, True, 3_600_000), OK],
    "/api/v1/awards/9a91545d-d1f5-5a34-a30c-97b40b6c7dbb/cancel": [envelope("CONCURRENT_UPDATE", 503, True, None), OK],
    "/api/v1/players/p-down": [envelope("SERVICE_UNAVAILABLE", 503, True, 10)],
    "/api/v1/awards": [envelope("MISSING_FIELD", 400, False, None)],
}


class ScriptedServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), ScriptedHandler)
        self.lock = threading.Lock()
        self.attempts: dict[str, list[dict[str, Any]]] = {}


class ScriptedHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ScriptedServer

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def answer(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.server.lock:
            seen = self.server.attempts.setdefault(self.path, [])
            seen.append({"method": self.command, "at": time.monotonic(), "body": body.decode(),
                         "request_id": self.headers.get("X-Request-Id"), "idempotency_key": self.headers.get("Idempotency-Key"),
                         "authorization": self.headers.get("Authorization")})
            script = SCRIPT.get(self.path, [(404, {"Content-Type": "application/json"}, b"{}")])
            reply = script[min(len(seen), len(script)) - 1]
        if reply is DROP:
            self.close_connection = True
            self.connection.shutdown(2)
            return
        status, headers, payload = reply
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = answer


@pytest.fixture
def scripted() -> Iterator[ScriptedServer]:
    httpd = ScriptedServer()
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def test_the_retry_layer_resends_the_same_request_id_and_leaves_a_refusal_alone(compiled, scripted):
    base = f"http://127.0.0.1:{scripted.server_address[1]}"
    done = run(["node", str(compiled / "tests" / "retry.js"), base], timeout=60)
    assert done.returncode == 0, f"retry.js exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    outcomes = {line["scenario"]: line for line in map(json.loads, done.stdout.splitlines())}
    attempts = scripted.attempts

    def sent(path: str) -> list[dict[str, Any]]:
        return attempts.get(path, [])

    def one_request_id(path: str) -> str:
        ids = {attempt["request_id"] for attempt in sent(path)}
        assert len(ids) == 1 and None not in ids, f"{path}: request ids {ids}"
        return ids.pop()

    # A retryable 503: sent again once, with the same generated X-Request-Id, and the 200 returned.
    assert outcomes["503 then 200"]["status"] == 200
    assert len(sent("/api/v1/players/p-503")) == 2
    generated = one_request_id("/api/v1/players/p-503")
    assert len(generated) == 36 and generated.count("-") == 4  # crypto.randomUUID()
    assert outcomes["503 then 200"]["retries"][0]["requestId"] == generated
    assert {attempt["authorization"] for attempt in sent("/api/v1/players/p-503")} == {"Bearer test-key"}

    # SPIN_IN_PROGRESS (a retryable 409): the caller's own X-Request-Id and the same body, after retryAfterMs.
    spin = sent("/api/v1/game/spin")
    assert outcomes["spin in progress then 200"]["status"] == 200 and len(spin) == 2
    assert one_request_id("/api/v1/game/spin") == "spin-request-0001"
    assert spin[0]["body"] == spin[1]["body"]
    assert spin[1]["at"] - spin[0]["at"] >= 0.03

    # Refusals the envelope marks not retryable come back at once: a 400, and the maintenance 503.
    assert (outcomes["400 not retried"]["status"], outcomes["400 not retried"]["code"]) == (400, "VALIDATION_ERROR")
    assert len(sent("/api/v1/players/p-400")) == 1 and outcomes["400 not retried"]["retries"] == []
    assert (outcomes["maintenance not retried"]["status"], outcomes["maintenance not retried"]["code"]) == (503, "GAME_UNDER_MAINTENANCE")
    assert len(sent("/api/v1/game/config")) == 1

    # No answer at all (the connection dropped), or a proxy's page: retried, same request id.
    assert outcomes["connection dropped then 200"]["status"] == 200
    assert len(sent("/api/v1/players/p-reset")) >= 2
    one_request_id("/api/v1/players/p-reset")
    assert outcomes["plain 502 then 200"]["status"] == 200 and len(sent("/api/v1/players/p-502")) == 2

    # A 429's Retry-After is waited for; a wait longer than the client's longest is not: the 429 is returned.
    p429 = sent("/api/v1/players/p-429")
    assert outcomes["429 honours Retry-After"]["status"] == 200 and len(p429) == 2
    assert p429[1]["at"] - p429[0]["at"] >= 0.95
    assert (outcomes["429 with a long wait returned"]["status"], outcomes["429 with a long wait returned"]["code"]) == (429, "RATE_LIMIT")
    assert len(sent("/api/v1/players/p-429-long")) == 1 and outcomes["429 with a long wait returned"]["elapsedMs"] < 1000

    # A cancel with no key of its own is given one Idempotency-Key, the same on its retry.
    cancel = sent("/api/v1/awards/9a91545d-d1f5-5a34-a30c-97b40b6c7dbb/cancel")
    assert outcomes["cancel 503 then 200"]["status"] == 200 and len(cancel) == 2
    keys = {attempt["idempotency_key"] for attempt in cancel}
    assert len(keys) == 1 and None not in keys
    one_request_id("/api/v1/awards/9a91545d-d1f5-5a34-a30c-97b40b6c7dbb/cancel")
    # An award's key is the caller's to choose: one sent without any is not given one (the API refuses it).
    award = sent("/api/v1/awards")
    assert outcomes["award without a key not given one"]["code"] == "MISSING_FIELD" and len(award) == 1
    assert award[0]["idempotency_key"] is None

    # Attempts are capped: four in all, the last answer returned.
    assert outcomes["always 503 gives up"]["status"] == 503
    assert len(sent("/api/v1/players/p-down")) == 4
    assert [retry["attempt"] for retry in outcomes["always 503 gives up"]["retries"]] == [1, 2, 3]
    one_request_id("/api/v1/players/p-down")
