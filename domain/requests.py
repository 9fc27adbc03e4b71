"""Commands as plain values, already parsed at the edge."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime

from domain.errors import ValidationFailed
from domain.money import check_currency
from domain.promotion import AWARD_TYPE_FREE_SPINS
from domain.regions import check_player_region


@dataclass(frozen=True)
class AwardRequest:
    player_id: str
    promo_id: str
    award_type: str
    award_value: int
    game_code: str
    idempotency_key: str
    issued_at: datetime | None = None
    expires_at: datetime | None = None
    request_id: str | None = None

    def __post_init__(self) -> None:
        if self.award_type != AWARD_TYPE_FREE_SPINS:
            raise ValidationFailed("award_type must be FREE_SPINS", field="award_type")
        if self.award_value < 1:
            raise ValidationFailed("award_value must be at least 1", field="award_value")
        if not self.idempotency_key:
            raise ValidationFailed("idempotency_key must not be empty", field="idempotency_key")

    def fingerprint(self) -> str:
        """What makes two requests under one key "the same": every field but the key and request id."""
        canonical = {
            "player_id": self.player_id,
            "promo_id": self.promo_id,
            "award_type": self.award_type,
            "award_value": self.award_value,
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

    def __post_init__(self) -> None:
        check_player_region(self.region)
        check_currency(self.currency)
        if self.birth_date < date(1900, 1, 1):
            raise ValidationFailed("birth_date must be after 1900-01-01", field="birth_date")
