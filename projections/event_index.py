"""The event index for compliance: one row per event, with its position, type, stream, version, time, the
player, promotion and award it concerns, and the event itself as JSONB.

Only some events name their player or promotion, but every stream's first event names what the stream
belongs to (a player, a promotion, an award's player and promotion): every later event of a stream is
indexed under what its first row says (found by ``event_index_stream_first``). An award's events are
indexed under the award; a spin or a block of an award's under it too.
"""

from __future__ import annotations

import functools
import re
from typing import Any, NamedTuple
from uuid import UUID

import orjson
from psycopg import Cursor
from psycopg.rows import DictRow

from projections.source import RawEvent
from projections.view import BatchProjection, View

# The library's transcoder writes a value of a non-JSON type as {"_type_": ..., "_data_": "..."}; the index
# holds the value itself, as the API shows it: money as a decimal string, an instant in ISO-8601, an id as a UUID.
WRAPPED = re.compile(rb'\{"_type_":"(decimal_str|datetime_iso|uuid_hex)","_data_":"([^"]*)"\}')


def _unwrapped(match: re.Match[bytes]) -> bytes:
    kind, data = match.group(1), match.group(2)
    if kind == b"uuid_hex":
        data = str(UUID(data.decode())).encode()
    return b'"' + data + b'"'


def unwrapped(state: bytes) -> str:
    """An event's stored state, as JSON text, with every value of a non-JSON type unwrapped."""
    return WRAPPED.sub(_unwrapped, state).decode()


def award_named(topic: str, stream_id: str, state: dict[str, Any]) -> str | None:
    """The award an event concerns: its own stream's, or the one a player's spin or block was funded by."""
    kind = stream_kind(topic)
    if kind in ("Award", "CoinAward"):
        return stream_id
    if kind == "Player":
        spin = state.get("spin")
        return state.get("award_id") or (spin.get("award_id") if isinstance(spin, dict) else None)
    return None


@functools.lru_cache(maxsize=256)
def stream_kind(topic: str) -> str:
    """The aggregate class an event's topic names (``domain.award:Award.Cancelled`` is an ``Award``'s)."""
    return topic.partition(":")[2].split(".")[0]


@functools.lru_cache(maxsize=256)
def type_field(topic: str) -> str:
    """The event's class name, as a COPY field."""
    return copy_text(topic.rsplit(".", 1)[-1])


class EventIndexView(View):
    name = "event_index"
    tables = ("event_index",)
    indexes = (
        "event_index_stream_first",
        "event_index_spin",
        "event_index_player",
        "event_index_promo",
        "event_index_award",
        "event_index_type",
        "event_index_time",
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        # What the first events of recently seen streams named, so that most batches need not ask the table.
        self.streams_seen: dict[str, tuple[str | None, str | None]] = {}  # by stream id, as text

    def prepare(self, events: list[RawEvent], positions: list[int]) -> list[IndexEntry]:
        entries = []
        loads = orjson.loads  # the store's own JSON, parsed in C: the reading thread's time is the rebuild's
        for event in events:
            payload = unwrapped(event.state)
            state = loads(payload)
            # COPY's text format: tab-separated, backslash-escaped, \N for null. The payload is JSON as the store
            # wrote it (control characters escaped), so only its backslashes need doubling.
            head = f"{event.id}\t{type_field(event.topic)}\t{event.originator_id}\t{event.originator_version}\t{state['timestamp']}"
            tail = f"{copy_text(award_named(event.topic, event.originator_id, state))}\t{payload.replace(chr(92), chr(92) * 2)}"
            entries.append(IndexEntry(event.originator_id, event.originator_version, state.get("player_id"), state.get("promo_id"), head, tail))
        return entries

    def write(self, cursor: Cursor[DictRow], events: list[IndexEntry], positions: list[int]) -> None:
        # Forgotten before this batch's streams are looked up, not after: forgotten after, the batch's events of
        # streams whose first event came in an earlier batch were indexed under no player and no promotion.
        if len(self.streams_seen) > STREAMS_REMEMBERED:
            self.streams_seen.clear()
        first = {e.stream_id: (e.player_id, e.promo_id) for e in events if e.version == 1}
        unknown = list({e.stream_id for e in events if e.stream_id not in first and e.stream_id not in self.streams_seen})
        if unknown:
            for row in cursor.execute(
                f"SELECT stream_id::text, player_id, promo_id FROM {self.table('event_index')} WHERE stream_id = ANY(%s::uuid[]) AND version = 1",
                [unknown],
            ):
                self.streams_seen[row["stream_id"]] = (row["player_id"], row["promo_id"])
        self.streams_seen.update(first)
        lines = []
        for e in events:
            player, promo = self.streams_seen.get(e.stream_id, (None, None))
            lines.append(f"{e.head}\t{copy_text(e.player_id or player)}\t{copy_text(e.promo_id or promo)}\t{e.tail}\n")
        columns = "position, type, stream_id, version, occurred_at, player_id, promo_id, award_id, payload"
        with cursor.copy(f"COPY {self.table('event_index')} ({columns}) FROM STDIN") as copy:
            copy.write("".join(lines))


class IndexEntry(NamedTuple):
    """An event made ready for COPY, but for the player and promotion its stream may have to say. (A named
    tuple: a frozen dataclass, slow to make, took an eighth of a rebuild's reading thread.)"""

    stream_id: str
    version: int
    player_id: str | None  # as the event itself names them
    promo_id: str | None
    head: str  # the COPY fields before the player's: position, type, stream, version, time
    tail: str  # and those after the promotion's: award, payload


# About 250 bytes each. A stream forgotten costs a share of one indexed lookup in the next batch that has it (a
# campaign's players, each met once, are looked up in hundreds a batch), so the memory need not grow with them.
STREAMS_REMEMBERED = 20_000
COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


@functools.lru_cache(maxsize=65536)  # the same types, players and promotions come back again and again
def copy_text(value: str | None) -> str:
    """A value as a field of COPY's text format."""
    return "\\N" if value is None else value.translate(COPY_ESCAPES)


class EventIndexProjection(BatchProjection):
    name = "event_index"
    topics: tuple[str, ...] = ()  # every event
    decoded = False  # it indexes the stored form itself: its ``events`` are the store's notifications
