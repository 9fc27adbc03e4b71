"""Commands as plain values, already parsed at the edge."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cached_property
from uuid import UUID

from domain.errors import ValidationFailed
from domain.ids import award_id_for_key
from domain.money import check_coins, check_currency
from domain.promotion import AWARD_TYPE_GOLD_COINS, AWARD_TYPES


@dataclass(frozen=True)
class AwardRequest:
    player_id: str
    promo_id: str
    award_type: str
    award_value: int | Decimal  # spins, or for GOLD_COINS coins
    game_code: str
    idempotency_key: str
    issued_at: datetime | None = None
    expires_at: datetime | None = None
    request_id: str | None = None

    def __post_init__(self) -> None:
        if self.award_type not in AWARD_TYPES:
            raise ValidationFailed(f"award_type must be one of {', '.join(AWARD_TYPES)}", field="award_type")
        if self.award_type == AWARD_TYPE_GOLD_COINS:
            check_coins(self.award_value, "award_value")
        elif isinstance(self.award_value, bool) or not isinstance(self.award_value, int) or self.award_value < 1:
            raise ValidationFailed("award_value must be a whole number of spins, at least 1", field="award_value")
        if not self.idempotency_key:
            raise ValidationFailed("idempotency_key must not be empty", field="idempotency_key")

    @cached_property
    def award_id(self) -> UUID:
        """The award this request grants or replays: derived from its idempotency key."""
        return award_id_for_key(self.idempotency_key)

    def fingerprint(self) -> str:
        """What makes two requests under one key "the same": every field but the key and request id."""
        return self._fingerprint

    @cached_property
    def _fingerprint(self) -> str:
        canonical = {
            "player_id": self.player_id,
            "promo_id": self.promo_id,
            "award_type": self.award_type,
            # Spins stay a JSON number, as fingerprints recorded before gold coins have them.
            "award_value": self.award_value if isinstance(self.award_value, int) else str(self.award_value),
            "game_code": self.game_code,
            "issued_at": self.issued_at.isoformat() if self.issued_at else None,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
        }
        encoded = json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(encoded).hexdigest()


@dataclass(frozen=True)
class PlayerProfile:
    region: str
    birth_date: date
    currency: str
    test: bool = False  # a smoke test's player: set at registration, never changed

    def __post_init__(self) -> None:
        if not isinstance(self.region, str):
            raise ValidationFailed("region must be a string", field="region")
        check_currency(self.currency)
        if self.birth_date < date(1900, 1, 1):
            raise ValidationFailed("birth_date must be after 1900-01-01", field="birth_date")


DEPOSIT, WITHDRAWAL = "deposit", "withdrawal"


@dataclass(frozen=True)
class FundsRequest:
    """A deposit or withdrawal from the operator platform, idempotent on its transaction id."""

    player_id: str
    kind: str  # deposit | withdrawal
    transaction_id: str
    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if self.kind not in (DEPOSIT, WITHDRAWAL):
            raise ValidationFailed("kind must be deposit or withdrawal", field="kind")
        if not self.transaction_id:
            raise ValidationFailed("transaction_id must not be empty", field="transaction_id")
        if self.amount <= 0:
            raise ValidationFailed("amount must be greater than zero", field="amount")
        check_currency(self.currency)

    def fingerprint(self) -> str:
        canonical = [self.player_id, self.kind, str(self.amount), self.currency]
        return hashlib.sha256(json.dumps(canonical).encode()).hexdigest()


@dataclass(frozen=True)
class SpinCommand:
    """A spin from a game client: a cash bet, or one free spin of a promotional award (``award_id``)."""

    player_id: str
    request_id: str
    received_at: datetime
    bet: Decimal | None = None  # the award's own bet when ``award_id`` is given
    currency: str | None = None
    award_id: str | None = None
    block_id: str | None = None  # a bonus spin of this free-spins block
    coins: bool = False  # the session plays in gold coins

    def __post_init__(self) -> None:
        # Checked here, not only at the edge: a spin is settled in a group with others, and an id that
        # cannot be read must refuse this spin alone, before it joins one.
        if self.award_id is not None:
            try:
                canonical = str(UUID(self.award_id)) == self.award_id.lower()
            except (ValueError, AttributeError, TypeError):
                canonical = False
            if not canonical:
                raise ValidationFailed("awardId must be a UUID such as 0195f3a4-8c1e-7b2a-9d4e-5f6a7b8c9d0e", field="awardId")

    def fingerprint(self) -> str:
        canonical = ["bonus" if self.block_id else "spin", str(self.bet), self.currency, self.award_id, self.block_id]
        if self.coins:  # only then: fingerprints recorded before gold coins stay as they were
            canonical.append("coins")
        return hashlib.sha256(json.dumps(canonical).encode()).hexdigest()
