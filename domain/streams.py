"""The use cases' access to the event store: states loaded in one round trip, saved with their snapshots, and
award groups appended on the conditions they were decided on.

The ports are filled at construction (``app.bootstrap``): the store that reads many streams at once and
appends conditionally (``StreamStore``), and a cache of the states last seen (``StateCache``). Nothing here
waits or retries on a timer: a write that another writer got to first is tried again at once, on the states
as recorded by then (``retrying``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol, TypeVar, runtime_checkable
from uuid import UUID

from eventsourcing.domain import Snapshot
from eventsourcing.persistence import EventStore as SnapshotStore
from eventsourcing.persistence import IntegrityError, Mapper, StoredEvent

from domain.award_decision import BudgetClaim
from domain.errors import ConcurrentModification

logger = logging.getLogger(__name__)

T = TypeVar("T")
MAX_ATTEMPTS = 8


@runtime_checkable
class StreamStore(Protocol):
    """What the use cases need of the recorder beyond the library's."""

    def read_streams(self, after_versions: dict[UUID, int]) -> dict[UUID, list[StoredEvent]]:
        """For each stream, the events after the given version (from its latest snapshot instead, when there is
        one newer). Streams with nothing newer are absent."""

    def append_claiming(self, stored_events: Sequence[StoredEvent], claims: Sequence[BudgetClaim], reservation_topic: str) -> dict[UUID, int] | None:
        """Appends the events in one transaction if each claim holds (see ``BudgetClaim``), a claimed promotion's
        reservation going after the others' made since its read: returns the version each was recorded at. None,
        appending nothing, when a claim does not hold; ``IntegrityError`` when another stream moved."""

    def select_events(self, originator_id: UUID, *, gt: int | None = None, lte: int | None = None) -> Sequence[StoredEvent]: ...


class StateCache(Protocol):
    """States as recorded, kept between requests: ``get`` gives a copy of the caller's own."""

    def get(self, aggregate_id: UUID) -> Any: ...

    def put(self, aggregate: Any) -> None: ...


class NoCache:
    def get(self, aggregate_id: UUID) -> Any:
        return None

    def put(self, aggregate: Any) -> None:
        pass


def retrying(attempt: Callable[[], T], attempts: int = MAX_ATTEMPTS) -> T:
    """Runs a load-decide-save attempt again when another writer got to one of its streams first."""
    for _ in range(attempts):
        try:
            return attempt()
        except IntegrityError:
            continue
    raise ConcurrentModification("the records changed under this request repeatedly; retry it")


class Streams:
    def __init__(
        self,
        store: StreamStore,
        mapper: Mapper[UUID],
        save: Callable[..., Any],
        snapshots: SnapshotStore[UUID] | None,
        snapshot_intervals: dict[type, int],
        cache: StateCache,
        cached_types: tuple[type, ...],
    ):
        self._store = store
        self._mapper = mapper
        self._save = save
        self._snapshots = snapshots
        self._intervals = snapshot_intervals
        self._cache = cache
        self._cached_types = cached_types

    # -- reading ---------------------------------------------------------------------------------

    def load(self, ids: Iterable[UUID], *, as_last_seen: Iterable[UUID] = (), new: Iterable[UUID] = ()) -> dict[UUID, Any]:
        """The state of each existing aggregate as recorded now, in one round trip: only what was recorded since
        the state last seen is read. For a decision whose append checks what it assumed (each stream's version):
        those of ``as_last_seen`` are taken as last seen, read only if never seen, and those of ``new`` as not
        recorded, read only if something is read anyway."""
        ids = list(dict.fromkeys(ids))
        last_seen = {i: state for i in dict.fromkeys(as_last_seen) if i not in ids and (state := self._cache.get(i)) is not None}
        unseen = [i for i in dict.fromkeys(as_last_seen) if i not in ids and i not in last_seen]
        to_read = ids + unseen
        if not to_read:
            return last_seen
        to_read += [i for i in dict.fromkeys(new) if i not in to_read and i not in last_seen]
        return self._read(to_read, {i: state for i in to_read if (state := self._cache.get(i)) is not None}) | last_seen

    def load_one(self, aggregate_id: UUID) -> Any:
        """The aggregate's state as recorded now, or None."""
        return self.load([aggregate_id]).get(aggregate_id)

    def _read(self, ids: list[UUID], seen: dict[UUID, Any]) -> dict[UUID, Any]:
        streams = self._store.read_streams({i: seen[i].version if i in seen else 0 for i in ids})
        loaded = {}
        for aggregate_id in ids:
            stored = streams.get(aggregate_id, ())
            aggregate = seen.get(aggregate_id)
            for event in map(self._mapper.to_domain_event, stored):
                aggregate = event.mutate(aggregate)  # type: ignore[attr-defined]  # a snapshot starts afresh
            if aggregate is not None:
                loaded[aggregate_id] = aggregate
                if stored and isinstance(aggregate, self._cached_types):
                    self._cache.put(aggregate)
        return loaded

    def event_at(self, stream_id: UUID, version: int) -> Any:
        (stored,) = self._store.select_events(stream_id, gt=version - 1, lte=version)
        return self._mapper.to_domain_event(stored)

    # -- writing ---------------------------------------------------------------------------------

    def save(self, *aggregates: Any) -> None:
        """Appends the aggregates' pending events in one transaction (``IntegrityError`` if another writer got to
        one of their streams first), then snapshots those due and keeps their states."""
        base = [(a, a.version - len(a.pending_events)) for a in aggregates]
        self._save(*aggregates)
        self._recorded(base)

    def append_claiming(self, aggregates: Sequence[Any], claims: Sequence[BudgetClaim], reservation_topic: str) -> bool:
        """Appends the aggregates' pending events if ``claims`` hold; False, appending nothing, if one does not.

        A claimed promotion whose reservation went after others' is not as it is in memory: it is neither kept
        nor snapshotted from memory (it is read again to be snapshotted, if due)."""
        base = [(a, a.version - len(a.pending_events)) for a in aggregates]
        stored = [self._mapper.to_stored_event(e) for a in aggregates for e in a.collect_events()]
        recorded_at = self._store.append_claiming(stored, claims, reservation_topic)
        if recorded_at is None:
            return False
        in_memory = {a.id: a.version for a in aggregates}
        moved = {c.promotion_id for c in claims if recorded_at.get(c.promotion_id) != in_memory[c.promotion_id]}
        self._recorded([(a, v) for a, v in base if a.id not in moved])
        self._snapshot_as_recorded([a.id for a, v in base if a.id in moved and self._due(a, v, recorded_at[a.id])])
        return True

    def _recorded(self, saved: list[tuple[Any, int]]) -> None:
        self._snapshot([aggregate for aggregate, base_version in saved if self._due(aggregate, base_version, aggregate.version)])
        for aggregate, _ in saved:
            if isinstance(aggregate, self._cached_types):
                self._cache.put(aggregate)

    def _due(self, aggregate: Any, base_version: int, version: int) -> bool:
        interval = self._intervals.get(type(aggregate), 0)
        return interval > 0 and version // interval > base_version // interval

    def _snapshot_as_recorded(self, due: list[UUID]) -> None:
        """Snapshots, read again, the moved streams that crossed a multiple of their interval."""
        if not due:
            return
        try:
            recorded = self.load(due)
            self._snapshot([recorded[i] for i in due if i in recorded])
        except Exception:
            logger.exception("reading a promotion again to snapshot it failed; the group is recorded")

    def _snapshot(self, due: list[Any]) -> None:
        """The events are committed by now: a failed snapshot must not turn the command into an error."""
        if not due or self._snapshots is None:
            return
        try:
            self._snapshots.put([Snapshot.take(aggregate) for aggregate in due])
        except Exception:
            logger.exception("taking a snapshot failed; the events themselves are recorded")
