"""A fast local webhook receiver for the benchmark (asyncio, keep-alive): it verifies each delivery's
signature with the receiver kit, answers 204, and on SIGTERM writes what it received as JSON:
``[[arrival_epoch, webhook_id, occurred_at], ...]``.

    python -m tests.bench.webhook_receiver PORT SECRET OUTFILE
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time

from app.webhooks.signature import InvalidWebhook, WebhookVerifier

OCCURRED = b'"occurred_at":"'


async def main(port: int, secret: str, outfile: str) -> None:
    verifier = WebhookVerifier(secret)
    received: list[tuple[float, str, str]] = []
    refused = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal refused
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                headers = {}
                for line in head.decode("latin-1").split("\r\n")[1:]:
                    name, _, value = line.partition(":")
                    if name:
                        headers[name.strip()] = value.strip()
                body = await reader.readexactly(int(headers.get("Content-Length", "0")))
                try:
                    webhook_id = verifier.verify(headers, body)
                except InvalidWebhook:
                    refused += 1
                    writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                    continue
                start = body.index(OCCURRED) + len(OCCURRED)
                received.append((time.time(), webhook_id, body[start:body.index(b'"', start)].decode()))
                writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionResetError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print("listening", flush=True)
    async with server:
        await stop.wait()
    with open(outfile, "w") as out:
        json.dump({"received": received, "refused": refused}, out)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2], sys.argv[3]))
