"""``spinledger openapi [FILE]``: the OpenAPI document the app serves at ``GET /openapi.json``, keys sorted and
indented, asked of the app itself through Flask's test client (no server runs). The TypeScript client's generator
(``clients/typescript/generate.sh``, ``make client``) reads it."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from app.config import Settings


def add_openapi_command(commands: Any) -> None:
    openapi = commands.add_parser("openapi", help="write the OpenAPI document the API serves (keys sorted, indented)")
    openapi.add_argument("output", nargs="?", default="-", help="the file to write (default: standard output)")


def openapi_command(settings: Settings, args: argparse.Namespace) -> int:
    from app import create_app

    # The app factory upgrades the schema and opens its pools, as any start does; one document needs small pools.
    app = create_app(dataclasses.replace(settings, db_pool_size=1, db_pool_max_overflow=1))
    try:
        response = app.test_client().get("/openapi.json")
        document = response.get_json()
    finally:
        app.extensions["spinledger"].close()
    if response.status_code != 200:
        print(f"spinledger: GET /openapi.json answered {response.status_code}", file=sys.stderr)
        return 1
    text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text, encoding="utf-8")
    return 0
