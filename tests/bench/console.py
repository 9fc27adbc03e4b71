"""Issue 24's figure: each console page's server time (its ``Server-Timing``) with the million events of the
read-model figures stored, beside the API call the page is built on, timed the same way from the client."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Callable

import requests

SAMPLES = 20
WARM_UP = 4  # a few per gunicorn worker
TIMING = re.compile(r"app;dur=([0-9.]+)")


@dataclass
class PageFigures:
    page: str
    api: str
    page_server_ms: list[float]  # Server-Timing of each request
    page_client_ms: list[float]
    api_client_ms: list[float]


def signed_in(base: str, key: str) -> requests.Session:
    session = requests.Session()
    login = session.get(f"{base}/console/login", timeout=30)
    token = re.search(r'name="csrf_token" value="([^"]+)"', login.text).group(1)  # type: ignore[union-attr]
    answer = session.post(f"{base}/console/login", data={"api_key": key, "csrf_token": token}, timeout=30, allow_redirects=False)
    assert answer.status_code == 302, answer.text
    return session


def _timed(get: Callable[[], requests.Response], samples: int, answers: tuple[int, ...] = (200,)) -> tuple[list[float], list[float]]:
    server, client = [], []
    for _ in range(WARM_UP):
        get()
    for _ in range(samples):
        started = time.perf_counter()
        response = get()
        client.append((time.perf_counter() - started) * 1000)
        assert response.status_code in answers, (response.url, response.status_code, response.text[:500])
        found = TIMING.search(response.headers.get("Server-Timing", ""))
        if found:
            server.append(float(found.group(1)))
    return server, client


def bench_console(base: str, key: str, auth: dict[str, str], player_id: str) -> list[PageFigures]:
    print("console: each page, with the million events stored ...", flush=True)
    session = signed_in(base, key)
    events = requests.get(f"{base}/api/v1/events", params={"player_id": player_id, "type": "SpinSettled", "limit": 1}, headers=auth, timeout=30).json()
    spin_id = events["data"][0]["payload"]["spin"]["spin_id"] if events["data"] else None
    pages = [
        ("/console/reconciliation", "/api/v1/reconciliation/runs?limit=30"),
        ("/console/liability", "/api/v1/reports/liability"),
        ("/console/events", "/api/v1/events?limit=50"),
        (f"/console/events?player_id={player_id}", f"/api/v1/events?player_id={player_id}&limit=50"),
        (f"/console/players/{player_id}", f"/api/v1/players/{player_id}/game-history?limit=10"),
        ("/console/audit", "/api/v1/audit/requests?limit=50"),
        ("/console/promotions", "/api/v1/promotions?limit=25"),
        ("/console/operations", "/readyz"),
    ]
    if spin_id:
        pages.append((f"/console/spins/{spin_id}", f"/api/v1/spins/{spin_id}/replay"))
    figures = []
    for page, api in pages:
        server, client = _timed(lambda: session.get(f"{base}{page}", timeout=60), SAMPLES)
        # /readyz answers 503 while no worker follows the store (none runs in this phase): an answer all the same.
        answers = (200, 503) if api == "/readyz" else (200,)
        _, api_client = _timed(lambda: requests.get(f"{base}{api}", headers=auth, timeout=60), SAMPLES, answers)
        figures.append(PageFigures(page, api, server, client, api_client))
        print(f"  {page.split('?')[0]}: server max {max(server, default=0):.1f} ms; {api}: client max {max(api_client):.1f} ms", flush=True)
    return figures
