"""A small closed-loop HTTP/1.1 load generator: N keep-alive connections, each sending back to back."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Callable


@dataclass
class LoadResult:
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)

    def add(self, other: LoadResult) -> None:
        self.requests += other.requests
        self.errors += other.errors
        self.seconds += other.seconds
        self.latencies_ms += other.latencies_ms
        for status, count in other.statuses.items():
            self.statuses[status] = self.statuses.get(status, 0) + count

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def _one_connection(
    host: str, port: int, make_request: Callable[[], tuple[str, str, dict, bytes]], stop_at: float,
    result: LoadResult, ok: set[int],
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < stop_at:
            method, path, headers, body = make_request()
            head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {len(body)}\r\n"
            head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
            started = time.perf_counter()
            writer.write(head.encode() + body)
            status_line = await reader.readline()
            status = int(status_line.split()[1])
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            await reader.readexactly(length)
            result.latencies_ms.append((time.perf_counter() - started) * 1000)
            result.requests += 1
            result.statuses[status] = result.statuses.get(status, 0) + 1
            if status not in ok:
                result.errors += 1
    finally:
        writer.close()


def run_load(
    host: str, port: int, make_request: Callable[[], tuple[str, str, dict, bytes]], *,
    connections: int, seconds: float, ok: set[int],
) -> LoadResult:
    result = LoadResult()

    async def main() -> None:
        started = time.perf_counter()
        stop_at = started + seconds
        await asyncio.gather(*(_one_connection(host, port, make_request, stop_at, result, ok) for _ in range(connections)))
        result.seconds = time.perf_counter() - started

    asyncio.run(main())
    return result


def json_request(method: str, path: str, payload: object, headers: dict[str, str]) -> tuple[str, str, dict, bytes]:
    return method, path, {"Content-Type": "application/json", **headers}, json.dumps(payload).encode()
