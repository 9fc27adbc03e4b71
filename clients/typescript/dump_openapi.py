"""Prints the OpenAPI document the app serves at ``GET /openapi.json``, keys sorted and indented, for the
TypeScript client's generator (``clients/typescript/generate.sh``).

The document is asked of the app itself, through Flask's test client: no server runs. The app factory needs a
database (it upgrades the schema and opens its pools), so the document is taken on:

- ``DATABASE_URL`` when it is set (used as it is: the schema is upgraded as any start of the service does), else
- a scratch database made for the occasion and dropped afterwards, on ``SPINLEDGER_TEST_SERVER_URL``, else the
  local server at 127.0.0.1:5432, else an embedded PostgreSQL in a temporary directory (as the tests find one).

Usage: ``python clients/typescript/dump_openapi.py [OUTPUT]`` (default: standard output).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script from anywhere: the project's packages are beside clients/
    sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from app.config import Settings  # noqa: E402
from app.database import LOCAL_SERVER_URL, create_database, drop_database, server_reachable, start_embedded_server, with_database  # noqa: E402


@contextmanager
def a_database() -> Iterator[str]:
    url = os.environ.get("DATABASE_URL")
    if url:
        yield url
        return
    server = os.environ.get("SPINLEDGER_TEST_SERVER_URL") or LOCAL_SERVER_URL
    scratch_dir = None
    if not server_reachable(server):
        scratch_dir = Path(tempfile.mkdtemp(prefix="spinledger-openapi-pg-"))
        server = start_embedded_server(scratch_dir / "data", cleanup="delete")
    name = f"spinledger_openapi_{secrets.token_hex(4)}"
    create_database(server, name)
    try:
        yield with_database(server, name)
    finally:
        drop_database(server, name)
        if scratch_dir is not None:
            shutil.rmtree(scratch_dir, ignore_errors=True)


def served_document(database_url: str) -> Any:
    # Pools as small as they go: this process asks for one document.
    app = create_app(Settings(database_url=database_url, db_pool_size=1, db_pool_max_overflow=1))
    try:
        response = app.test_client().get("/openapi.json")
        if response.status_code != 200:
            raise SystemExit(f"dump_openapi: GET /openapi.json answered {response.status_code}: {response.get_data(as_text=True)[:500]}")
        return response.get_json()
    finally:
        app.extensions["spinledger"].close()


def main(argv: list[str]) -> int:
    with a_database() as url:
        document = served_document(url)
    text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if len(argv) > 1 and argv[1] != "-":
        Path(argv[1]).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
