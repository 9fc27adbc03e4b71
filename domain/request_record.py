"""The RequestRecord aggregate: the idempotency record of a money-moving call on a player's wallet.

Its id is a ``uuid5`` of the call's scope and key (a wallet transaction id, or a player's spin request
id), so a second call with the same key collides in the event store, however concurrent. It points at the
Player event the call recorded, from which a replay rebuilds the identical response, at any later time.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.ids import NAMESPACE

WALLET, SPIN = "wallet", "spin"


class RequestRecord(Aggregate):
    @staticmethod
    def stream_id(scope: str, key: str) -> UUID:
        return uuid5(NAMESPACE, f"request:{scope}:{key}")

    @classmethod
    def record(cls, *, scope: str, key: str, fingerprint: str, player_id: str, player_version: int, at: datetime) -> RequestRecord:
        return cls._create(
            cls.RequestRecorded,
            id=cls.stream_id(scope, key),
            scope=scope,
            key=key,
            fingerprint=fingerprint,
            player_id=player_id,
            player_version=player_version,
            timestamp=at,
        )

    class RequestRecorded(Aggregate.Created):
        scope: str
        key: str
        fingerprint: str
        player_id: str
        player_version: int

    @event(RequestRecorded)
    def __init__(self, scope: str, key: str, fingerprint: str, player_id: str, player_version: int) -> None:
        self.scope = scope
        self.key = key
        self.fingerprint = fingerprint
        self.player_id = player_id
        self.player_version = player_version  # of the Player event that holds the outcome
