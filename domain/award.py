"""The Award aggregate: free spins granted to one player under one idempotency key."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import AwardNotCancellable, IdempotencyKeyReused
from domain.ids import award_id_for_key
from domain.promotion import AWARD_TYPE_FREE_SPINS

ACTIVE, COMPLETED, EXPIRED, CANCELLED = "active", "completed", "expired", "cancelled"


class Award(Aggregate):
    award_type = AWARD_TYPE_FREE_SPINS

    if TYPE_CHECKING:  # the event classes that @event("...") below makes when the class is created, named for mypy
        AwardExpired: ClassVar[type[Any]]
        AwardExpiringSoon: ClassVar[type[Any]]
        ExpiredAwardUseAttempted: ClassVar[type[Any]]
        AwardSpinPlayed: ClassVar[type[Any]]
        AwardCancelled: ClassVar[type[Any]]

    @staticmethod
    def stream_id(idempotency_key: str) -> UUID:
        return award_id_for_key(idempotency_key)

    @classmethod
    def grant(cls, *, at: datetime, idempotency_key: str, **fields: Any) -> Award:
        return cls._create(
            cls.FreeSpinsAwarded,
            id=cls.stream_id(idempotency_key),
            idempotency_key=idempotency_key,
            timestamp=at,
            **fields,
        )

    class FreeSpinsAwarded(Aggregate.Created):
        player_id: str
        promo_id: str
        game_code: str
        spins: int
        bet_per_spin: Decimal
        currency: str
        expires_at: datetime
        requested_expires_at: datetime | None
        client_issued_at: datetime | None
        request_id: str | None
        idempotency_key: str
        fingerprint: str
        terms: dict[str, Any]

    @event(FreeSpinsAwarded)
    def __init__(
        self,
        player_id: str,
        promo_id: str,
        game_code: str,
        spins: int,
        bet_per_spin: Decimal,
        currency: str,
        expires_at: datetime,
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
        self.spins_awarded = spins
        self.bet_per_spin = bet_per_spin
        self.currency = currency
        self.expires_at = expires_at
        self.idempotency_key = idempotency_key
        self.fingerprint = fingerprint
        self.request_id = request_id  # of the call that made it: a campaign's awards carry the campaign's
        self.spins_used = 0
        self.spins_forfeited = 0
        self.total_win = Decimal("0.00")
        self.cancelled_at: datetime | None = None

    @property
    def issued_at(self) -> datetime:
        return self.created_on

    @property
    def amount(self) -> int:
        return self.spins_awarded

    @property
    def unplayed(self) -> int:
        return self.spins_awarded - self.spins_used - self.spins_forfeited

    def status_at(self, at: datetime) -> str:
        if self.cancelled_at is not None:
            return CANCELLED
        if self.spins_used == self.spins_awarded:
            return COMPLETED
        if at >= self.expires_at or getattr(self, "expiry_recorded", False):  # a clock behind the job's agrees
            return EXPIRED
        return ACTIVE

    def expire(self, at: datetime) -> bool:
        """Records, once, that the award expired with spins unplayed (they are forfeited); False when there
        is nothing to record: not expired yet, completed, cancelled, or recorded already."""
        if getattr(self, "expiry_recorded", False) or self.status_at(at) != EXPIRED:
            return False
        self._record_expiry(expired_at=self.expires_at, spins_forfeited=self.unplayed, timestamp=at)
        return True

    @event("AwardExpired")
    def _record_expiry(self, expired_at: datetime, spins_forfeited: int, timestamp: datetime) -> None:
        # The forfeit is not added to ``spins_forfeited``: an expired award's unplayed spins are counted as
        # forfeited from its expiry instant on, event or not (``status_at``), everywhere alike.
        self.expiry_recorded = True

    def notice_expiry(self, at: datetime, notice: timedelta) -> bool:
        """Records, once, that the award expires within ``notice`` with spins left; False otherwise."""
        if getattr(self, "expiry_noticed", False) or self.status_at(at) != ACTIVE or at < self.expires_at - notice:
            return False
        self._record_expiry_notice(expires_at=self.expires_at, spins_left=self.unplayed, timestamp=at)
        return True

    @event("AwardExpiringSoon")
    def _record_expiry_notice(self, expires_at: datetime, spins_left: int, timestamp: datetime) -> None:
        self.expiry_noticed = True

    @event("ExpiredAwardUseAttempted")
    def record_expired_use(self, request_id: str, timestamp: datetime) -> None:
        """Someone tried to spin this award after it expired: kept for the player's dispute and for audit."""

    @event("AwardSpinPlayed")
    def play_spin(self, spin_id: str, funding: str, win: Decimal, timestamp: datetime) -> None:
        """One of the award's own spins (funding ``award``), or a free spin of a block one of them triggered."""
        if funding == "award":
            self.spins_used += 1
        self.total_win += win

    def cancel(self, reason: str, at: datetime, idempotency_key: str | None = None) -> bool:
        """Cancels the award; False, recording nothing, when it is a retry of the cancel made with
        ``idempotency_key``."""
        if idempotency_key is not None and self.cancelled_at is not None and getattr(self, "cancel_key", None) == idempotency_key:
            if reason != self.cancel_reason:
                raise IdempotencyKeyReused("idempotency_key was already used for a different cancel", field="idempotency_key")
            return False
        status = self.status_at(at)
        if status != ACTIVE:
            raise AwardNotCancellable(f"award is {status} and cannot be cancelled")
        self._record_cancellation(reason=reason, spins_forfeited=self.unplayed, idempotency_key=idempotency_key, timestamp=at)
        return True

    @event("AwardCancelled")
    def _record_cancellation(self, reason: str, spins_forfeited: int, timestamp: datetime, idempotency_key: str | None = None) -> None:
        self.cancelled_at = timestamp
        self.cancel_reason = reason
        self.cancel_key = idempotency_key  # absent from cancels recorded before keys were taken
        self.spins_forfeited += spins_forfeited
