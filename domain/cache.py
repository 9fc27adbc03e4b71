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
        return copy.deepcopy(state)

    def put(self, aggregate: Any) -> None:
        state = copy.deepcopy(aggregate)
        with self._lock:
            current = self._states.get(aggregate.id)
            if current is not None and current.version > state.version:
                return
            self._states[aggregate.id] = state
            self._states.move_to_end(aggregate.id)
            while len(self._states) > self._maxsize:
                self._states.popitem(last=False)
