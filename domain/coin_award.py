"""The CoinAward aggregate: gold coins granted to one player under one idempotency key.

Coins are credited to the player's coin balance as they are awarded (the player's ``GoldCoinsReceived``), so an
award of coins is complete from the start: it has no spins to play, nothing to expire and nothing to cancel.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.award import COMPLETED
from domain.errors import AwardNotCancellable
from domain.ids import award_id_for_key
from domain.money import COIN_CURRENCY
from domain.promotion import AWARD_TYPE_GOLD_COINS


class CoinAward(Aggregate):
    award_type = AWARD_TYPE_GOLD_COINS
    currency = COIN_CURRENCY
    # What an award of spins has and one of coins has not, so that both read alike.
    spins_awarded = spins_used = spins_forfeited = unplayed = 0
    bet_per_spin = None
    total_win = Decimal("0.00")
    expires_at = None
    cancelled_at = None

    @staticmethod
    def stream_id(idempotency_key: str) -> UUID:
        return award_id_for_key(idempotency_key)

    @classmethod
    def grant(cls, *, at: datetime, idempotency_key: str, **fields: Any) -> CoinAward:
        return cls._create(cls.GoldCoinsAwarded, id=cls.stream_id(idempotency_key), idempotency_key=idempotency_key, timestamp=at, **fields)

    class GoldCoinsAwarded(Aggregate.Created):
        player_id: str
        promo_id: str
        game_code: str
        coins: Decimal
        requested_expires_at: datetime | None
        client_issued_at: datetime | None
        request_id: str | None
        idempotency_key: str
        fingerprint: str
        terms: dict[str, Any]

    @event(GoldCoinsAwarded)
    def __init__(
        self,
        player_id: str,
        promo_id: str,
        game_code: str,
        coins: Decimal,
        requested_expires_at: datetime | None,
        client_issued_at: datetime | None,
        request_id: str | None,
        idempotency_key: str,
        fingerprint: str,
        terms: dict[str, Any],
    ) -> None:
        self.player_id = player_id
        self.promo_id = promo_id
        self.game_code = game_code
        self.coins = coins
        self.request_id = request_id
        self.idempotency_key = idempotency_key
        self.fingerprint = fingerprint

    @property
    def issued_at(self) -> datetime:
        return self.created_on

    @property
    def amount(self) -> Decimal:
        return self.coins

    def status_at(self, at: datetime) -> str:
        return COMPLETED

    def cancel(self, reason: str, at: datetime, idempotency_key: str | None = None) -> bool:
        raise AwardNotCancellable("gold coins are credited when awarded: an award of coins cannot be cancelled")
