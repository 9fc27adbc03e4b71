"""Business errors with stable, machine-readable codes.

The HTTP layer maps each code to a status; the domain only says what went wrong and, where it
is a rule about a request field, which field.
"""

from __future__ import annotations


class DomainError(Exception):
    code = "VALIDATION_ERROR"

    def __init__(self, message: str, *, field: str | None = None, retry_after_ms: int | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.retry_after_ms = retry_after_ms


class ValidationFailed(DomainError):
    code = "VALIDATION_ERROR"


class PlayerNotFound(DomainError):
    code = "PLAYER_NOT_FOUND"


class PromotionNotFound(DomainError):
    code = "PROMO_NOT_FOUND"


class AwardNotFound(DomainError):
    code = "AWARD_NOT_FOUND"


class Ineligible(DomainError):
    code = "INELIGIBLE"


class RegionBlocked(DomainError):
    code = "REGION_BLOCKED"


class PlayerSelfExcluded(DomainError):
    code = "PLAYER_SELF_EXCLUDED"


class ExpiredPromotion(DomainError):
    code = "EXPIRED_PROMO"


class IdempotencyKeyReused(DomainError):
    code = "IDEMPOTENCY_KEY_REUSED"


class BudgetExhausted(DomainError):
    code = "BUDGET_EXHAUSTED"


class AwardNotCancellable(DomainError):
    code = "AWARD_NOT_CANCELLABLE"


class RateLimited(DomainError):
    code = "RATE_LIMIT"


class ConcurrentModification(DomainError):
    """Optimistic concurrency kept failing; nothing was recorded and the call may be retried."""

    code = "CONCURRENT_UPDATE"
