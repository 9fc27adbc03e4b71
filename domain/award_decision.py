"""The award decision, a pure function: a group of award requests decided on the states they rest on.

``decide_awards`` reads nothing and writes nothing. It takes the group's requests and the recorded states of
their awards, players and promotions (as last seen: the event store checks, when it appends, that they still
are), and returns each request's result, the aggregates it changed (their events pending) and, for each
promotion it reserves spins on, the condition the append must check: that the promotion has recorded
nothing since but others' reservations, of no more than the budget this group leaves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from domain.award import Award
from domain.coin_award import CoinAward
from domain.eligibility import AwardContext, check_award
from domain.errors import DomainError, IdempotencyKeyReused, PlayerNotFound, PromotionNotFound, ValidationFailed
from domain.player import Player
from domain.promotion import Promotion
from domain.requests import AwardRequest
from domain.results import AwardOutcome, AwardReceipt

AwardResult = AwardOutcome | DomainError


@dataclass(frozen=True)
class BudgetClaim:
    """Spins a group reserves on a promotion read at ``read_version``: the reservation holds if what the
    promotion recorded since is only others' reservations, of ``room`` spins at most."""

    promotion_id: UUID
    read_version: int
    room: int


@dataclass
class AwardDecision:
    results: list[AwardResult] = field(default_factory=list)
    awards: dict[UUID, Award | CoinAward] = field(default_factory=dict)  # granted by this group, by award id
    players: dict[UUID, Player] = field(default_factory=dict)  # that received one of them
    promotions: list[Promotion] = field(default_factory=list)  # whose budget they were reserved on
    claims: list[BudgetClaim] = field(default_factory=list)

    @property
    def changed(self) -> list[Any]:
        """Every aggregate with events to append: the awards, then the players, then the promotions."""
        return [*self.awards.values(), *self.players.values(), *self.promotions]


def group_stream_ids(requests: Sequence[AwardRequest]) -> list[UUID]:
    """The streams a group's decision rests on: its awards' (new unless a request is a replay), its players' and
    its promotions'."""
    return list(
        dict.fromkeys(
            [r.award_id for r in requests] + [Player.stream_id(r.player_id) for r in requests] + [Promotion.stream_id(r.promo_id) for r in requests]
        )
    )


def decide_awards(requests: Sequence[AwardRequest], states: Mapping[UUID, Any], now: datetime) -> AwardDecision:
    """Grants each request or says why not, in order, on ``states`` (by stream id; absent when not recorded).

    The players and promotions in ``states`` are changed (their events left pending): pass states of the
    caller's own. A request whose award this group or ``states`` already holds is a replay.
    """
    decision = AwardDecision()
    reserved: dict[UUID, tuple[Promotion, int, list[str], Any]] = {}  # promotion, version read, award ids, spins or coins
    for request in requests:
        try:
            decision.results.append(_grant_one(request, states, decision, reserved, now))
        except DomainError as refusal:
            decision.results.append(refusal)
    for promo, read_version, award_ids, amount in reserved.values():
        if promo.is_coins:
            promo.reserve_coins(award_ids, amount, timestamp=now)
            # No room for others: the append refuses if anything (another coin reservation) was recorded since.
            decision.claims.append(BudgetClaim(promo.id, read_version, 0))
        else:
            promo.reserve(award_ids, amount, timestamp=now)
            decision.claims.append(BudgetClaim(promo.id, read_version, int(promo.budget_left)))
        decision.promotions.append(promo)
    return decision


def _grant_one(
    request: AwardRequest,
    states: Mapping[UUID, Any],
    decision: AwardDecision,
    reserved: dict[UUID, tuple[Promotion, int, list[str], Any]],
    now: datetime,
) -> AwardOutcome:
    prior = decision.awards.get(request.award_id) or states.get(request.award_id)
    if prior is not None:
        if prior.fingerprint != request.fingerprint():
            raise IdempotencyKeyReused("idempotency_key was already used for a different request", field="idempotency_key")
        return AwardOutcome(AwardReceipt.of(prior), replayed=True, made_by=prior.request_id)
    if request.expires_at is not None and request.expires_at <= now:
        raise ValidationFailed("expires_at must be in the future", field="expires_at")
    player = states.get(Player.stream_id(request.player_id))
    if player is None:
        raise PlayerNotFound(f"no player {request.player_id!r}", field="player_id")
    promo = states.get(Promotion.stream_id(request.promo_id))
    if promo is None:
        raise PromotionNotFound(f"no promotion {request.promo_id!r}", field="promo_id")
    pending = reserved[promo.id][3] if promo.id in reserved else 0
    check_award(AwardContext(player, promo, request.award_type, request.game_code, request.award_value, now, promo.budget_left - pending))
    award: Award | CoinAward
    if promo.is_coins:
        award = new_coin_award(request, promo, now)
        player.receive_coins(str(award.id), request.promo_id, award.coins, player.coin_balance + award.coins, timestamp=now)
    else:
        award = new_award(request, promo, now)
        player.receive_award(str(award.id), request.promo_id, award.spins_awarded, award.expires_at, timestamp=now)
    decision.awards[award.id] = award
    decision.players[player.id] = player
    _, read_version, award_ids, amount = reserved.get(promo.id) or (promo, promo.version, [], 0)
    reserved[promo.id] = (promo, read_version, [*award_ids, str(award.id)], amount + award.amount)
    return AwardOutcome(AwardReceipt.of(award), replayed=False, made_by=request.request_id)


def new_coin_award(request: AwardRequest, promo: Promotion, now: datetime) -> CoinAward:
    assert isinstance(request.award_value, Decimal)
    return CoinAward.grant(**_granted(request, promo, now), coins=request.award_value)


def new_award(request: AwardRequest, promo: Promotion, now: datetime) -> Award:
    return Award.grant(
        **_granted(request, promo, now),
        spins=int(request.award_value),
        bet_per_spin=promo.terms_data["bet_per_spin"],
        currency=promo.terms_data["currency"],
        expires_at=promo.award_expiry(now, request.expires_at),
    )


def _granted(request: AwardRequest, promo: Promotion, now: datetime) -> dict[str, Any]:
    """What every award records of its request and promotion, spins or coins."""
    return dict(
        at=now,
        idempotency_key=request.idempotency_key,
        player_id=request.player_id,
        promo_id=request.promo_id,
        game_code=request.game_code,
        requested_expires_at=request.expires_at,
        client_issued_at=request.issued_at,
        request_id=request.request_id,
        fingerprint=request.fingerprint(),
        terms=promo.terms_data,
    )
