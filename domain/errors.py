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


class PlayerCoolingOff(DomainError):
    code = "PLAYER_COOLING_OFF"


class PromotionsPaused(DomainError):
    code = "PROMOTIONS_PAUSED"


class ReviewNotFound(DomainError):
    code = "REVIEW_NOT_FOUND"


class ReviewAlreadyDecided(DomainError):
    code = "REVIEW_ALREADY_DECIDED"


class DepositLimitExceeded(DomainError):
    code = "DEPOSIT_LIMIT_EXCEEDED"


class LossLimitReached(DomainError):
    code = "LOSS_LIMIT_REACHED"


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


class InsufficientFunds(DomainError):
    code = "INSUFFICIENT_FUNDS"


# The game API's codes (seed 001 §6.2).


class BetBelowMinimum(DomainError):
    code = "BET_BELOW_MINIMUM"


class BetAboveMaximum(DomainError):
    code = "BET_ABOVE_MAXIMUM"


class InvalidCoinValue(DomainError):
    code = "INVALID_COIN_VALUE"


class CurrencyMismatch(DomainError):
    code = "CURRENCY_MISMATCH"


class JurisdictionBlocked(DomainError):
    code = "JURISDICTION_BLOCKED"


class SpinInProgress(DomainError):
    """Another spin of the player settled while this one was being decided; retry with the same request id."""

    code = "SPIN_IN_PROGRESS"


class BonusRoundActive(DomainError):
    code = "BONUS_ROUND_ACTIVE"


class NoBonusRoundActive(DomainError):
    code = "NO_BONUS_ROUND_ACTIVE"


class BlockIdMismatch(DomainError):
    code = "BLOCK_ID_MISMATCH"


class AwardExpired(DomainError):
    """A promotional award's spins were asked for after it expired; the attempt itself is recorded."""

    code = "AWARD_EXPIRED"


class AwardNotActive(DomainError):
    code = "AWARD_NOT_ACTIVE"


class RunNotFound(DomainError):
    code = "RUN_NOT_FOUND"


class SpinNotFound(DomainError):
    code = "SPIN_NOT_FOUND"


class WebhookNotFound(DomainError):
    code = "WEBHOOK_NOT_FOUND"


class GameVersionUnavailable(DomainError):
    code = "GAME_VERSION_UNAVAILABLE"


class GameNotFound(DomainError):
    code = "GAME_NOT_FOUND"


class GameUnderMaintenance(DomainError):
    code = "GAME_UNDER_MAINTENANCE"  # not retryable (seed 001): the client shows the message instead


class CampaignNotFound(DomainError):
    code = "CAMPAIGN_NOT_FOUND"


class CampaignNotEditable(DomainError):
    code = "CAMPAIGN_NOT_EDITABLE"


class TransactionNotFound(DomainError):
    code = "TRANSACTION_NOT_FOUND"
