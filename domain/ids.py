"""Identifiers: deterministic ``uuid5`` aggregate ids and time-ordered UUIDv7 ids."""

from __future__ import annotations

import hashlib
from datetime import datetime
from functools import lru_cache
from uuid import UUID, uuid5

from domain.clock import RandomBytes

NAMESPACE = UUID("6f0b5a4e-2f8c-4d59-9a53-5b1f3c1f2a10")


@lru_cache(maxsize=100_000)
def player_stream_id(player_id: str) -> UUID:
    return uuid5(NAMESPACE, f"player:{player_id}")


@lru_cache(maxsize=100_000)
def promotion_stream_id(promo_id: str) -> UUID:
    return uuid5(NAMESPACE, f"promotion:{promo_id}")


@lru_cache(maxsize=100_000)
def award_id_for_key(idempotency_key: str) -> UUID:
    """One award per idempotency key: a duplicate create collides on the event store's key."""
    return uuid5(NAMESPACE, f"award:{idempotency_key}")


def event_id_for(stream_id: UUID | str, version: int) -> UUID:
    """A stable id for the event at ``version`` of a stream (its id, or the id's canonical text)."""
    return UUID(event_id_text(str(stream_id), version))


def event_id_text(stream_id: str, version: int) -> str:
    """The text of the event id: the ``uuid5`` of ``event:<stream>:<version>``, computed without building
    ``UUID`` objects (an export computes one per event)."""
    digest = bytearray(hashlib.sha1(NAMESPACE.bytes + f"event:{stream_id}:{version}".encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def uuid7(at: datetime, random_bytes: RandomBytes) -> UUID:
    """A UUIDv7 (RFC 9562) from an instant and 10 random bytes."""
    millis = int(at.timestamp() * 1000) & ((1 << 48) - 1)
    rand = int.from_bytes(random_bytes(10), "big")
    rand_a = rand >> 68 & 0xFFF
    rand_b = rand & ((1 << 62) - 1)
    value = millis << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b
    return UUID(int=value)
