"""Recently read states of hot aggregates, so a load fetches only the events recorded since."""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from typing import Any
from uuid import UUID


class StateCache:
    """Holds states exactly as read from the event store (never a state a caller may still change)."""

    def __init__(self, maxsize: int):
        self._maxsize = maxsize
        self._states: OrderedDict[UUID, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, aggregate_id: UUID) -> Any:
        """A private copy of the cached state, or None."""
        with self._lock:
            state = self._states.get(aggregate_id)
            if state is None:
                return None
            self._states.move_to_end(aggregate_id)
        return private_copy(state)

    def put(self, aggregate: Any) -> None:
        state = private_copy(aggregate)
        with self._lock:
            current = self._states.get(aggregate.id)
            if current is not None and current.version > state.version:
                return
            self._states[aggregate.id] = state
            self._states.move_to_end(aggregate.id)
            while len(self._states) > self._maxsize:
                self._states.popitem(last=False)


def private_copy(aggregate: Any) -> Any:
    """A copy whose lists, dicts and sets are its own.

    One level is enough because aggregates change their state only by rebinding attributes or by
    changing their own top-level containers; what those containers hold (strings, numbers, instants,
    the terms of a promotion) is never changed in place.
    """
    clone = copy.copy(aggregate)
    for name, value in vars(aggregate).items():
        if isinstance(value, (list, dict, set)):
            setattr(clone, name, value.copy())
    return clone
