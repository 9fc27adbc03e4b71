"""The event history as a file: JSON Lines or CSV, one event per line, written as the rows arrive.

Each line is the item ``GET /api/v1/events`` serves (``EventSchema``), built straight from the text the
database sends (the payload is never parsed), and lines go out a chunk at a time: an export of millions
of events runs at the speed of the database's cursor, in constant memory.
"""

from __future__ import annotations

import csv
import functools
import io
import json
from typing import Any, Callable, Iterator

from domain.ids import event_id_text

COLUMNS = ("position", "event_id", "type", "stream_id", "version", "occurred_at", "player_id", "promo_id", "award_id", "payload")
CHUNK = 1000  # lines per piece of the response


@functools.lru_cache(maxsize=65536)  # types, players and promotions repeat
def _json_text(value: str | None) -> str:
    return json.dumps(value)


def json_lines(rows: Iterator[tuple[Any, ...]]) -> Iterator[str]:
    lines = []
    for position, kind, stream_id, version, occurred_at, player_id, promo_id, award_id, payload in rows:
        lines.append(
            f'{{"position":{position},"event_id":"{event_id_text(stream_id, version)}","type":{_json_text(kind)},'
            f'"stream_id":"{stream_id}","version":{version},"occurred_at":"{occurred_at}","player_id":{_json_text(player_id)},'
            f'"promo_id":{_json_text(promo_id)},"award_id":{_json_text(award_id)},"payload":{payload}}}\n'
        )
        if len(lines) == CHUNK:
            yield "".join(lines)
            lines.clear()
    yield "".join(lines)


def csv_lines(rows: Iterator[tuple[Any, ...]]) -> Iterator[str]:
    """A header, then one line per event; the payload is a JSON object in its own column."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for count, (position, kind, stream_id, version, occurred_at, player_id, promo_id, award_id, payload) in enumerate(rows, 1):
        writer.writerow((position, event_id_text(stream_id, version), kind, stream_id, version, occurred_at, player_id, promo_id, award_id, payload))
        if count % CHUNK == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


FORMATS: dict[str, tuple[Callable[[Iterator[tuple[Any, ...]]], Iterator[str]], str]] = {
    "jsonl": (json_lines, "application/x-ndjson"),
    "csv": (csv_lines, "text/csv"),
}
