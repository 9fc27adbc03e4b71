"""The clock and randomness the domain needs, as injected dependencies."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

RandomBytes = Callable[[int], bytes]


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...
