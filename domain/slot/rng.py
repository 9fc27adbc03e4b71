"""Draws reel stops from injected random bytes, each stop equally likely."""

from __future__ import annotations

from domain.clock import RandomBytes

_SPAN = 1 << 32


def draw_stop(size: int, random_bytes: RandomBytes) -> int:
    # Rejection keeps every stop equally likely for any strip length, not only powers of two.
    limit = _SPAN - _SPAN % size
    while True:
        value = int.from_bytes(random_bytes(4), "big")
        if value < limit:
            return value % size


def draw_stops(reel_sizes: tuple[int, ...], random_bytes: RandomBytes) -> tuple[int, ...]:
    return tuple(draw_stop(size, random_bytes) for size in reel_sizes)
