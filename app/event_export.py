"""The event history as a file: JSON Lines or CSV, one event per line, written as the rows arrive."""

from __future__ import annotations

import csv
import io
import json
from typing import Any, Callable, Iterator

from app.schemas.compliance import EventSchema

COLUMNS = ("position", "event_id", "type", "stream_id", "version", "occurred_at", "player_id", "promo_id", "award_id", "payload")


def json_lines(rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    schema = EventSchema()
    for row in rows:
        yield json.dumps(schema.dump(row), separators=(",", ":")) + "\n"


def csv_lines(rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    """A header, then one line per event; the payload is a JSON object in its own column."""
    schema, out = EventSchema(), io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for row in rows:
        item = schema.dump(row)
        item["payload"] = json.dumps(item["payload"], separators=(",", ":"))
        writer.writerow([item[column] for column in COLUMNS])
        yield out.getvalue()
        out.seek(0)
        out.truncate()
    yield out.getvalue()


FORMATS: dict[str, tuple[Callable[[Iterator[dict[str, Any]]], Iterator[str]], str]] = {
    "jsonl": (json_lines, "application/x-ndjson"),
    "csv": (csv_lines, "text/csv"),
}
