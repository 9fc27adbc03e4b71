"""The spinledger Application: every use case of the award service, one method each.

Players, promotions and awards are decided here; spins, the wallet, compliance's reads, the reconciliation's
record, award expiry and campaigns' streams are collaborators (``domain.use_cases``) built here and handed what they need.

The ports are filled at construction: the clock, the randomness, a cache of states last seen, and
``batching``, which turns a group method (``record_awards``, ``Spins.settle_group``) into what one request
submits to (the infrastructure groups requests that arrive together; by default each request is its own group).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any, Generic, Protocol, TypeVar
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError, InterfaceError, OperationalError
from eventsourcing.utils import get_topic

from domain.award import ACTIVE, Award
from domain.award_decision import AwardResult, decide_awards, group_stream_ids
from domain.campaign import Campaign, CampaignFigures, CampaignTerms
from domain.clock import Clock, RandomBytes
from domain.coin_award import CoinAward
from domain.errors import (
    AwardNotFound,
    ConcurrentModification,
    DomainError,
    ExpiredPromotion,
    PlayerNotFound,
    PromotionNotFound,
    ReviewAlreadyDecided,
    ReviewNotFound,
    ValidationFailed,
)
from domain.limits import LIMITS, changes_for
from domain.maintenance import MaintenanceTerms
from domain.paging import Page, page_of
from domain.player import COOLING_OFF_PERIODS, SELF_EXCLUSION_MONTHS, Player
from domain.promotion import Promotion, PromotionTerms
from domain.regions import RegionCodes, check_region
from domain.requests import AwardRequest, FundsRequest, PlayerProfile, SpinCommand
from domain.results import (
    AwardOutcome,
    AwardStatus,
    CoolingOff,
    FundsOutcome,
    FundsReceipt,
    GameRound,
    GameState,
    GameStatus,
    PlayerLimits,
    PlayerSummary,
    PromotionSummary,
    Review,
    SelfExclusion,
    SpinOutcome,
    SpinRecord,
    SpinReplay,
)
from domain.risk import CLEARED, DECISIONS
from domain.slot.definition import SlotGame
from domain.streams import NoCache, StateCache, Streams, StreamStore, retrying
from domain.use_cases.campaigns import Campaigns
from domain.use_cases.compliance import Compliance
from domain.use_cases.expiry import Expiry
from domain.use_cases.games import Games
from domain.use_cases.reconciliations import Reconciliations
from domain.use_cases.spins import SpinJob, SpinResult, Spins
from domain.use_cases.wallet import Wallet
from domain.windows import add_months

T = TypeVar("T")
T_contra = TypeVar("T_contra", contravariant=True)
R = TypeVar("R")
RESERVATION_TOPIC = get_topic(Promotion.BudgetReserved)
# A group whose streams another writer appended to first is decided again at once on what is recorded: each
# failure means another writer's group got in, so a group under contention waits for others, never for nothing.
AWARD_ATTEMPTS = 32
# An append that failed on the database (a lock not granted in time, a lost connection) is tried again once, on
# what is recorded by then: more would hold up every group of the process behind the lock timeout.
AWARD_DATABASE_ATTEMPTS = 2


class Batch(Protocol[T_contra, R]):
    """Takes one request's items and returns their results, in order, once their group is recorded."""

    def submit(self, items: Sequence[T_contra]) -> list[R]: ...

    def close(self) -> None: ...


Batching = Callable[[Callable[[Sequence[Any]], list[Any]]], Batch[Any, Any]]


class EachAlone(Generic[T, R]):
    """The batching of no grouping: each request's items are one group."""

    def __init__(self, process: Callable[[Sequence[T]], list[R]]):
        self.submit = process

    def close(self) -> None:
        pass


class SpinLedger(Application[UUID]):
    name = "SpinLedger"
    is_snapshotting_enabled = True  # snapshots are taken by ``Streams``, when a stream crosses its interval
    SNAPSHOT_INTERVALS: dict[type, int] = {Promotion: 25, Player: 50}
    CACHED_TYPES = (Promotion, Player)

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        clock: Clock,
        random_bytes: RandomBytes,
        regions: RegionCodes,
        cache: StateCache | None = None,
        batching: Batching = EachAlone,
    ) -> None:
        super().__init__(env)
        if not isinstance(self.recorder, StreamStore):
            raise TypeError("the event store must read many streams at once and append on claims (app.eventstore.SpinledgerRecorder)")
        self.clock = clock
        self.random_bytes = random_bytes
        self.regions = regions
        self.streams = Streams(
            self.recorder,
            self.mapper,
            self.save,
            self.snapshots,
            self.SNAPSHOT_INTERVALS,
            cache or NoCache(),
            self.CACHED_TYPES,
        )
        self.games = Games(self.streams, clock)
        self.spins = Spins(self.streams, clock, random_bytes, self.games)
        self.wallet = Wallet(self.streams, clock)
        self.compliance = Compliance(self.events, self.repository)
        self.reconciliations = Reconciliations(self.streams, clock)
        self.expiry = Expiry(self.streams, clock)
        self.campaigns = Campaigns(self.streams, clock)
        self._award_groups: Batch[AwardRequest, AwardResult] = batching(self.record_awards)
        self._spin_groups: Batch[SpinJob, SpinResult] = batching(self.spins.settle_group)

    # -- players ---------------------------------------------------------------------------------

    def register_player(self, player_id: str, profile: PlayerProfile) -> tuple[PlayerSummary, bool]:
        check_region(profile.region, self.regions, "region")
        if profile.birth_date > self.clock.now().date():
            raise ValidationFailed("birth_date is in the future", field="birth_date")

        def attempt() -> tuple[PlayerSummary, bool]:
            now = self.clock.now()
            player = self.streams.load_one(Player.stream_id(player_id))
            if player is None:
                player = Player.register(player_id, profile.region, profile.birth_date, profile.currency, now, test=profile.test)
                self.streams.save(player)
                return self._player_summary(player), True
            if profile.test != player.test:
                raise ValidationFailed("test is set when a player is registered and cannot change", field="test")
            if player.profile_differs(profile.region, profile.birth_date, profile.currency):
                if profile.currency != player.currency and player.balance != 0:
                    raise ValidationFailed("currency cannot change while the balance is not zero", field="currency")
                player.update_profile(profile.region, profile.birth_date.isoformat(), profile.currency, timestamp=now)
                self.streams.save(player)
            return self._player_summary(player), False

        return retrying(attempt)

    def get_player(self, player_id: str) -> PlayerSummary:
        return self._player_summary(self._get_player(player_id))

    def start_self_exclusion(self, player_id: str, period: str) -> SelfExclusion:
        months = SELF_EXCLUSION_MONTHS.get(period)
        if months is None:
            raise ValidationFailed(f"period must be one of {', '.join(SELF_EXCLUSION_MONTHS)}", field="period")

        def attempt() -> SelfExclusion:
            now = self.clock.now()
            player = self._get_player(player_id)
            open_awards = self.streams.load(UUID(award_id) for award_id in player.open_awards)
            cancelled = [award for award in open_awards.values() if award.status_at(now) == ACTIVE]
            for award in cancelled:
                award.cancel("self-exclusion", now)
            cancelled_ids = [str(award.id) for award in cancelled]
            player.start_self_exclusion(period, add_months(now, months), cancelled_ids, timestamp=now)
            self.streams.save(player, *cancelled)
            return SelfExclusion(player.player_id, player.self_excluded_until, cancelled_ids)

        return retrying(attempt)

    def start_cooling_off(self, player_id: str, period: str) -> CoolingOff:
        """A time-out from play: the game and awards are refused until its end (deposits are not); a period
        already running is never shortened."""
        length = COOLING_OFF_PERIODS.get(period)
        if length is None:
            raise ValidationFailed(f"period must be one of {', '.join(COOLING_OFF_PERIODS)}", field="period")

        def attempt() -> CoolingOff:
            now = self.clock.now()
            player = self._get_player(player_id)
            player.start_cooling_off(period, now + length, timestamp=now)
            self.streams.save(player)
            assert player.cooling_off_until is not None
            return CoolingOff(player.player_id, period, player.cooling_off_until)

        return retrying(attempt)

    def raise_risk_flag(self, player_stream: UUID, review_id: UUID, rule: str, evidence: dict[str, Any]) -> bool:
        """Records a rule's flag on the player (``RiskFlagRaised``), pausing their promotions; a review already
        raised (the same event judged again) is recorded once. True when recorded now."""

        def attempt() -> bool:
            player = self.streams.load_one(player_stream)
            if not isinstance(player, Player):
                raise PlayerNotFound(f"no player stream {player_stream}")
            if str(review_id) in player.reviews:
                return False
            player.raise_risk_flag(str(review_id), player.player_id, rule, evidence, timestamp=self.clock.now())
            self.streams.save(player)
            return True

        return retrying(attempt)

    def decide_review(self, player_id: str, review_id: str, decision: str, note: str, decided_by: str) -> Review:
        """A compliance officer's decision on a review: ``clear`` lets the player's awards through again (once no
        other review holds them), ``keep_paused`` keeps them paused until a later ``clear``. Deciding what was
        decided is answered as it stands; a cleared review is closed."""
        if decision not in DECISIONS:
            raise ValidationFailed(f"decision must be one of {', '.join(DECISIONS)}", field="decision")

        def attempt() -> Review:
            player = self._get_player(player_id)
            review = player.reviews.get(review_id)
            if review is None:
                raise ReviewNotFound(f"no review {review_id}", field="review_id")
            if review["status"] == DECISIONS[decision]:
                return Review.of(player, review_id)
            if review["status"] == CLEARED:
                raise ReviewAlreadyDecided(
                    f"review {review_id} was cleared on {review['decided_at'].isoformat()}; a new flag opens a new review", field="review_id"
                )
            player.decide_review(review_id, decision, note, decided_by, timestamp=self.clock.now())
            self.streams.save(player)
            return Review.of(player, review_id)

        return retrying(attempt)

    def set_limits(self, player_id: str, requested: dict[str, Decimal | None]) -> PlayerLimits:
        """Sets the named deposit and loss limits (``None``: no limit); those not named stay as they are. A lower
        limit applies at once, a higher one or a removal after 24 hours (``domain.limits``)."""
        unknown = sorted(set(requested) - set(LIMITS))
        if unknown:
            raise ValidationFailed(f"{unknown[0]} is not a limit: {', '.join(LIMITS)}", field=unknown[0])
        if not requested:
            raise ValidationFailed(f"limits: name at least one of {', '.join(LIMITS)}", field="limits")
        for name, value in requested.items():
            if value is not None and value <= 0:
                raise ValidationFailed(f"{name} must be greater than zero, or null for no limit", field=name)

        def attempt() -> PlayerLimits:
            now = self.clock.now()
            player = self._get_player(player_id)
            changes = changes_for(requested, player.limits, player.pending_limits, now)
            if changes:
                player.change_limits([change.as_dict() for change in changes], timestamp=now)
                self.streams.save(player)
            return PlayerLimits.of(player, now)

        return retrying(attempt)

    def get_limits(self, player_id: str) -> PlayerLimits:
        return PlayerLimits.of(self._get_player(player_id), self.clock.now())

    # -- promotions ------------------------------------------------------------------------------

    def define_promotion(self, promo_id: str, terms: PromotionTerms) -> tuple[PromotionSummary, bool]:
        for region in terms.allowed_regions:
            check_region(region, self.regions, "allowed_regions")

        def attempt() -> tuple[PromotionSummary, bool]:
            now = self.clock.now()
            promo = self.streams.load_one(Promotion.stream_id(promo_id))
            if promo is None:
                promo = Promotion.define(promo_id, terms, now)
                self.streams.save(promo)
                return PromotionSummary.of(promo), True
            if promo.ended_at is not None:
                raise ExpiredPromotion("promotion has been ended and can no longer change", field="promo_id")
            recorded = promo.terms
            for name in ("award_type", "test"):  # its awards and budget are counted by them
                if getattr(recorded, name) != getattr(terms, name):
                    raise ValidationFailed(f"{name} is set when a promotion is defined and cannot change", field=name)
            if recorded != terms:
                promo.update(terms.as_dict(), timestamp=now)
                self.streams.save(promo)
            return PromotionSummary.of(promo), False

        return retrying(attempt)

    def end_promotion(self, promo_id: str, reason: str) -> PromotionSummary:
        def attempt() -> PromotionSummary:
            promo = self._get_promotion(promo_id)
            if promo.ended_at is None:
                promo.end(reason, timestamp=self.clock.now())
                self.streams.save(promo)
            return PromotionSummary.of(promo)

        return retrying(attempt)

    def get_promotion(self, promo_id: str) -> PromotionSummary:
        return PromotionSummary.of(self._get_promotion(promo_id))

    # -- awards ----------------------------------------------------------------------------------

    def award_free_spins(self, request: AwardRequest) -> AwardOutcome:
        (result,) = self.award_batch([request])
        if isinstance(result, DomainError):
            raise result
        return result

    def award_batch(self, requests: Sequence[AwardRequest]) -> list[AwardResult]:
        """Grants each request or says why not, in order; all grants are recorded in one transaction."""
        if not requests:
            return []
        return self._award_groups.submit(requests)

    def record_awards(self, requests: Sequence[AwardRequest]) -> list[AwardResult]:
        """Decides a group of award requests and records its grants: one read, the decision, one append.

        The group is decided on what it read, out of any lock; the append checks, under the events table's lock,
        what the decision assumed: that no award of the group is recorded
        and no player of it moved (the unique stream versions), and that its promotions recorded nothing since
        but others' reservations within the budget this group leaves (the claims). If something moved, nothing is
        appended, and the group is decided again on the states as recorded now (as it is after an append that
        failed on the database: a lock not granted in time, a lost connection).
        """
        # Every stream read as recorded now, in one query from the states last seen: a refusal is then one the
        # records justify, and a promotion's claim is checked on few events. (A player's stream moves with every
        # award, in whichever server process: a cached one would often be stale.)
        stream_ids = group_stream_ids(requests)
        states = self.streams.load(stream_ids)
        database_failures = 0
        for _ in range(AWARD_ATTEMPTS):
            decision = decide_awards(requests, states, self.clock.now())
            if not decision.awards:
                return decision.results
            try:
                if self.streams.append_claiming(decision.changed, decision.claims, RESERVATION_TOPIC):
                    return decision.results
            except IntegrityError:
                pass  # a player moved, or an award was recorded, since the read
            except (OperationalError, InterfaceError):
                database_failures += 1  # recorded or not: the read says which
                if database_failures >= AWARD_DATABASE_ATTEMPTS:
                    raise
            states = self.streams.load(stream_ids)
        raise ConcurrentModification("the records changed under this request repeatedly; retry it")

    def get_award(self, award_id: UUID) -> AwardStatus:
        return AwardStatus.of(self._get_award(award_id), self.clock.now())

    def list_player_awards(self, player_id: str, after: str | None, limit: int) -> Page[AwardStatus]:
        player = self._get_player(player_id)
        page_ids, next_cursor, has_more = page_of(player.award_ids[::-1], after, limit)
        awards = self.streams.load(UUID(award_id) for award_id in page_ids)
        now = self.clock.now()
        data = [AwardStatus.of(awards[UUID(award_id)], now) for award_id in page_ids]
        return Page(data=data, next_cursor=next_cursor, has_more=has_more)

    def cancel_award(self, award_id: UUID, reason: str, idempotency_key: str | None = None) -> tuple[AwardStatus, bool]:
        """Cancels an active award; the retry of a cancel with the same ``idempotency_key`` gets the first one's
        answer back (True: a replay)."""

        def attempt() -> tuple[AwardStatus, bool]:
            now = self.clock.now()
            award = self._get_award(award_id)
            if not award.cancel(reason, now, idempotency_key):
                return AwardStatus.of(award, award.cancelled_at), True
            self.streams.save(award)
            return AwardStatus.of(award, now), False

        return retrying(attempt)

    # -- the game, the wallet, compliance, reconciliation, expiry: the collaborators' use cases ------------

    def spin(self, game: SlotGame, command: SpinCommand) -> SpinOutcome:
        """A base-game spin: cash at ``command.bet``, or one free spin of ``command.award_id``."""
        return self._settle(self.spins.job(game, command, bonus=False))

    def bonus_spin(self, game: SlotGame, command: SpinCommand) -> SpinOutcome:
        """The next spin of the player's free-spins block ``command.block_id``."""
        return self._settle(self.spins.job(game, command, bonus=True))

    def _settle(self, job: SpinJob) -> SpinOutcome:
        (result,) = self._spin_groups.submit([job])
        if isinstance(result, DomainError):
            raise result
        return result

    def admit_player(self, game: SlotGame, player_id: str, currency: str | None = None) -> str:
        return self.spins.admit_player(game, player_id, currency)

    def game_state(self, game: SlotGame, player_id: str, coins: bool = False) -> GameState:
        return self.spins.game_state(game, player_id, coins)

    def list_games(self) -> list[GameStatus]:
        return self.games.list_games()

    def get_game(self, game_code: str) -> GameStatus:
        return self.games.get_game(game_code)

    def set_maintenance(self, game_code: str, terms: MaintenanceTerms, set_by: str) -> GameStatus:
        return self.games.set_maintenance(game_code, terms, set_by)

    def move_funds(self, request: FundsRequest) -> FundsOutcome:
        return self.wallet.move_funds(request)

    def find_transaction(self, player_id: str, transaction_id: str) -> FundsReceipt:
        return self.wallet.find_transaction(player_id, transaction_id)

    def spin_record(self, spin_id: str, stream_id: UUID, version: int) -> SpinRecord:
        return self.compliance.spin_record(spin_id, stream_id, version)

    def replay_spin(self, spin: SpinRecord) -> SpinReplay:
        return self.compliance.replay_spin(spin)

    def game_history(self, player_id: str, up_to_version: int | None, rounds: int) -> tuple[list[GameRound], int | None]:
        return self.compliance.game_history(player_id, up_to_version, rounds)

    def record_reconciliation(self, run_id: UUID, report: dict[str, Any], alerts: list[dict[str, Any]]) -> dict[str, Any]:
        return self.reconciliations.record_reconciliation(run_id, report, alerts)

    def get_reconciliation(self, run_id: UUID) -> dict[str, Any]:
        return self.reconciliations.get_reconciliation(run_id)

    def list_reconciliations(self, after: str | None, limit: int) -> Page[dict[str, Any]]:
        return self.reconciliations.list_reconciliations(after, limit)

    def expire_awards(self, award_ids: Iterable[UUID], notice: timedelta | None = None) -> tuple[int, int]:
        return self.expiry.expire_awards(award_ids, notice)

    def define_campaign(self, campaign_id: str, terms: CampaignTerms) -> tuple[Campaign, bool]:
        return self.campaigns.define_campaign(campaign_id, terms)

    def get_campaign(self, campaign_id: str) -> Campaign:
        return self.campaigns.get_campaign(campaign_id)

    def record_campaign_audience(self, campaign_id: str, upload_id: str, added: int, players_total: int, digest: str) -> Campaign:
        return self.campaigns.record_audience(campaign_id, upload_id, added, players_total, digest)

    def launch_campaign(self, campaign_id: str, players_total: int, chunks: int, chunk_size: int) -> tuple[Campaign, bool]:
        return self.campaigns.launch_campaign(campaign_id, players_total, chunks, chunk_size)

    def complete_campaign(self, campaign_id: str, figures: CampaignFigures) -> Campaign:
        return self.campaigns.complete_campaign(campaign_id, figures)

    def cancel_campaign(self, campaign_id: str, reason: str) -> Campaign:
        return self.campaigns.cancel_campaign(campaign_id, reason)

    def fail_campaign(self, campaign_id: str, reason: str) -> Campaign:
        return self.campaigns.fail_campaign(campaign_id, reason)

    # -- loading ---------------------------------------------------------------------------------

    def _get_player(self, player_id: str) -> Player:
        player: Player | None = self.streams.load_one(Player.stream_id(player_id))
        if player is None:
            raise PlayerNotFound(f"no player {player_id!r}", field="player_id")
        return player

    def _get_promotion(self, promo_id: str) -> Promotion:
        promo: Promotion | None = self.streams.load_one(Promotion.stream_id(promo_id))
        if promo is None:
            raise PromotionNotFound(f"no promotion {promo_id!r}", field="promo_id")
        return promo

    def _get_award(self, award_id: UUID) -> Award | CoinAward:
        award = self.streams.load_one(award_id)
        if not isinstance(award, (Award, CoinAward)):
            raise AwardNotFound(f"no award {award_id}", field="award_id")
        return award

    def _player_summary(self, player: Player) -> PlayerSummary:
        now = self.clock.now()
        open_awards = self.streams.load(UUID(award_id) for award_id in player.open_awards)
        statuses = sorted((AwardStatus.of(award, now) for award in open_awards.values()), key=lambda s: s.issued_at)
        return PlayerSummary.of(player, [s for s in statuses if s.status == ACTIVE])

    def close(self) -> None:
        if self.closing.is_set():  # closed already (explicitly, before the finaliser calls this again)
            return
        self._award_groups.close()
        self._spin_groups.close()
        super().close()
