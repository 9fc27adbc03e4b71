"""What the use cases return: plain values, rendered at the edge."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from domain.award import Award
from domain.coin_award import CoinAward
from domain.ids import event_id_for
from domain.limits import DEPOSIT_LIMITS, LIMITS, PendingLimit, used, waiting, window_end
from domain.player import Player
from domain.promotion import Promotion, PromotionTerms


@dataclass(frozen=True)
class AwardReceipt:
    """The body of a successful award: rebuilt from the stored event, so a replay is identical."""

    event_id: str
    award_id: str
    award_type: str
    awarded_count: int | None  # spins; None for coins
    awarded_coins: Decimal | None  # coins; None for spins
    server_time: datetime
    expires_at: datetime | None  # None for coins, which are credited at once and never expire

    @classmethod
    def of(cls, award: Award | CoinAward) -> AwardReceipt:
        coins = isinstance(award, CoinAward)
        return cls(
            event_id=str(event_id_for(award.id, 1)),
            award_id=str(award.id),
            award_type=award.award_type,
            awarded_count=None if coins else award.spins_awarded,
            awarded_coins=award.coins if isinstance(award, CoinAward) else None,
            server_time=award.issued_at,
            expires_at=award.expires_at,
        )


@dataclass(frozen=True)
class AwardOutcome:
    receipt: AwardReceipt
    replayed: bool
    made_by: str | None = None  # the request id of the call that made the award (for a replay, the first call)


@dataclass(frozen=True)
class AwardStatus:
    award_id: str
    player_id: str
    promo_id: str
    game_code: str
    award_type: str
    coins_awarded: Decimal | None
    status: str
    spins_awarded: int
    spins_used: int
    spins_remaining: int
    spins_forfeited: int
    bet_per_spin: Decimal | None
    currency: str
    total_win: Decimal
    issued_at: datetime
    expires_at: datetime | None
    cancelled_at: datetime | None

    @classmethod
    def of(cls, award: Award | CoinAward, now: datetime) -> AwardStatus:
        status = award.status_at(now)
        unplayed = award.unplayed
        # Past its expiry instant an award's unplayed spins are lost, whether or not the expiry is recorded yet.
        remaining, forfeited = (0, award.spins_forfeited + unplayed) if status == "expired" else (unplayed, award.spins_forfeited)
        return cls(
            award_id=str(award.id),
            player_id=award.player_id,
            promo_id=award.promo_id,
            game_code=award.game_code,
            award_type=award.award_type,
            coins_awarded=award.coins if isinstance(award, CoinAward) else None,
            status=status,
            spins_awarded=award.spins_awarded,
            spins_used=award.spins_used,
            spins_remaining=remaining,
            spins_forfeited=forfeited,
            bet_per_spin=award.bet_per_spin,
            currency=award.currency,
            total_win=award.total_win,
            issued_at=award.issued_at,
            expires_at=award.expires_at,
            cancelled_at=award.cancelled_at,
        )


@dataclass(frozen=True)
class PlayerSummary:
    player_id: str
    region: str
    birth_date: date
    currency: str
    balance: Decimal
    coin_balance: Decimal
    test: bool
    self_excluded_until: datetime | None
    awards: list[AwardStatus]
    bonus_block: dict[str, Any] | None

    @classmethod
    def of(cls, player: Player, active_awards: list[AwardStatus]) -> PlayerSummary:
        return cls(
            player_id=player.player_id,
            region=player.region,
            birth_date=player.birth_date,
            currency=player.currency,
            balance=player.balance,
            coin_balance=player.coin_balance,
            test=player.test,
            self_excluded_until=player.self_excluded_until,
            awards=active_awards,
            bonus_block=player.block,
        )


@dataclass(frozen=True)
class PromotionSummary:
    promo_id: str
    terms: PromotionTerms
    spins_reserved: int
    coins_reserved: Decimal
    budget_left: int | Decimal  # spins, or for a gold-coins promotion coins
    ended_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, promo: Promotion) -> PromotionSummary:
        return cls(
            promo_id=promo.promo_id,
            terms=promo.terms,
            spins_reserved=promo.spins_reserved,
            coins_reserved=promo.coins_reserved,
            budget_left=promo.budget_left,
            ended_at=promo.ended_at,
            created_at=promo.created_on,
            updated_at=promo.modified_on,
        )


@dataclass(frozen=True)
class LimitUse:
    """What a limit's current window has used, and when the window ends."""

    limit: str
    value: Decimal | None
    used: Decimal
    remaining: Decimal | None
    window_ends_at: datetime


@dataclass(frozen=True)
class PlayerLimits:
    player_id: str
    currency: str
    limits: dict[str, Decimal | None]  # every limit, None where none is in force
    pending: list[PendingLimit]
    used: dict[str, LimitUse]  # by limit: its window's use, whether a limit is in force or not

    @classmethod
    def of(cls, player: Player, at: datetime) -> PlayerLimits:
        in_force = player.limits_at(at)
        uses = {}
        for name in LIMITS:
            tally = player.deposit_tally if name in DEPOSIT_LIMITS else player.loss_tally
            spent = max(used(tally, name, at), Decimal("0.00"))  # a window of net wins has lost nothing
            value = in_force.get(name)
            uses[name] = LimitUse(name, value, spent, None if value is None else max(value - spent, Decimal("0.00")), window_end(name, at))
        return cls(player.player_id, player.currency, {name: in_force.get(name) for name in LIMITS}, waiting(player.pending_limits, at), uses)


@dataclass(frozen=True)
class Review:
    """A risk review: the flag a rule raised on a player, and the compliance officer's decision."""

    review_id: str
    player_id: str
    rule: str
    evidence: dict[str, Any]
    raised_at: datetime
    status: str  # "open", "kept_paused", "cleared"
    decision: str | None
    note: str | None
    decided_by: str | None
    decided_at: datetime | None

    @classmethod
    def of(cls, player: Player, review_id: str) -> Review:
        return cls(review_id=review_id, player_id=player.player_id, **player.reviews[review_id])


@dataclass(frozen=True)
class CoolingOff:
    player_id: str
    period: str
    cooling_off_until: datetime


@dataclass(frozen=True)
class SelfExclusion:
    player_id: str
    self_excluded_until: datetime
    awards_cancelled: list[str]


@dataclass(frozen=True)
class FundsReceipt:
    """The body of a deposit or withdrawal: rebuilt from its event, so a replay is identical."""

    transaction_id: str
    player_id: str
    kind: str
    amount: Decimal
    currency: str
    balance: Decimal
    event_id: str
    server_time: datetime


@dataclass(frozen=True)
class FundsOutcome:
    receipt: FundsReceipt
    replayed: bool


@dataclass(frozen=True)
class SettledSpin:
    """A settled spin as the game client sees it: the stored record and when it was settled."""

    record: dict[str, Any]
    settled_at: datetime
    processing_ms: int


@dataclass(frozen=True)
class SpinOutcome:
    spin: SettledSpin
    replayed: bool


@dataclass(frozen=True)
class GameState:
    player_id: str
    state: str  # idle | bonus
    balance: Decimal
    currency: str
    block: dict[str, Any] | None
    last_spin: SettledSpin | None
    free_spin_awards: list[AwardStatus]
    maintenance: GameStatus | None = None  # the game's maintenance, when on (a block in play may be finished)


@dataclass(frozen=True)
class GameStatus:
    """A game of the catalogue and whether it is open to play."""

    game_code: str
    name: str
    version: str
    state: str  # open | maintenance
    message: str | None
    until: datetime | None
    since: datetime | None  # when the maintenance in force was set


@dataclass(frozen=True)
class SpinRecord:
    """A settled spin as the event store holds it: the ``SpinSettled`` event of a player's stream."""

    spin_id: str
    event_id: UUID
    player_id: str
    stream_id: UUID
    version: int
    settled_at: datetime
    record: dict[str, Any]


@dataclass(frozen=True)
class SpinReplay:
    spin: SpinRecord
    recomputed: dict[str, Any]
    mismatches: list[str]

    @property
    def matches(self) -> bool:
        return not self.mismatches


@dataclass(frozen=True)
class GameRound:
    """One game: a cash or award spin, or a spin that triggered free spins together with its whole block."""

    round_id: str  # the spin's id, or the block's
    funding: str  # of the spin that opened it: cash | award
    award_id: str | None
    block_id: str | None
    complete: bool  # false while a block is still in play
    currency: str
    started_at: datetime
    ended_at: datetime
    balance_start: Decimal
    balance_end: Decimal
    bet: Decimal  # taken from the cash balance
    total_win: Decimal
    spins: list[dict[str, Any]]  # oldest first
