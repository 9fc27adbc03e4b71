"""The spinledger Application: every use case of the award service, one method each."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, ContextManager, Iterable, Iterator, Protocol, Sequence, TypeVar, runtime_checkable
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import Snapshot
from eventsourcing.persistence import IntegrityError, InterfaceError, OperationalError, StoredEvent
from eventsourcing.utils import get_topic

from domain.award import ACTIVE, Award
from app.state_cache import StateCache
from domain.clock import Clock, RandomBytes
from domain.eligibility import AwardContext, check_award
from domain.compliance_use_cases import ComplianceUseCases
from domain.expiry_use_cases import ExpiryUseCases
from domain.game_use_cases import GameUseCases
from domain.reconciliation_use_cases import ReconciliationUseCases
from app.group_commit import GroupCommit
from domain.errors import (
    AwardNotFound,
    ConcurrentModification,
    DomainError,
    ExpiredPromotion,
    IdempotencyKeyReused,
    PlayerNotFound,
    PromotionNotFound,
    ValidationFailed,
)
from domain.paging import Page, page_of
from domain.player import SELF_EXCLUSION_MONTHS, Player
from domain.promotion import Promotion, PromotionTerms
from domain.requests import AwardRequest, PlayerProfile
from domain.results import AwardOutcome, AwardReceipt, AwardStatus, PlayerSummary, PromotionSummary, SelfExclusion
from domain.wallet_use_cases import WalletUseCases
from domain.windows import add_months

logger = logging.getLogger(__name__)

T = TypeVar("T")
RESERVATION_TOPIC = get_topic(Promotion.BudgetReserved)
AwardResult = AwardOutcome | DomainError


@dataclass(frozen=True)
class Granted:
    """A grant decided under the lock; its receipt is made once the lock is let go of."""

    award: Award


@runtime_checkable
class StreamReader(Protocol):
    """A recorder that reads many streams in one round trip.

    For each stream, the events after the given version, starting instead from the latest snapshot
    when there is one newer than that version. Streams with nothing newer are absent from the result.
    """

    def read_streams(self, after_versions: dict[UUID, int]) -> dict[UUID, list[StoredEvent]]: ...


class LockedWriter(Protocol):
    """What ``append_lock`` yields: the store, for reads and an append made while the lock is held. (The
    database's version takes the lock with its first read and lets go of it with the append.)"""

    def insert_events(self, stored_events: Sequence[StoredEvent]) -> Any: ...


@dataclass(frozen=True)
class BudgetClaim:
    """Spins a group reserves on a promotion, read at ``read_version``: the reservation still holds if what the
    promotion has recorded since is only others' reservations, of ``room`` spins at most."""

    promotion_id: UUID
    read_version: int
    room: int


class ReservingAppend(Protocol):
    """An append of an award group's events made without ``append_lock``, that holds only if every claim does.

    Returns the version each claimed promotion's reservation was recorded at (after any others made since it
    was read), or None, appending nothing, when a claim no longer holds. Raises ``IntegrityError`` when another
    stream of the group was appended to first.
    """

    def __call__(self, stored_events: Sequence[StoredEvent], claims: Sequence[BudgetClaim], reservation_topic: str) -> dict[UUID, int] | None: ...


@contextmanager
def in_process_append(lock: threading.Lock, recorder: Any) -> Iterator[Any]:
    with lock:
        yield recorder


@dataclass
class Reservation:
    """Spins a group of awards takes from one promotion's budget, recorded as one event."""

    award_ids: list[str] = field(default_factory=list)
    spins: int = 0

    def add(self, award: Award) -> None:
        self.award_ids.append(str(award.id))
        self.spins += award.spins_awarded


@dataclass(frozen=True)
class AwardDraft:
    """An award made, and its event serialised, before the group's read, on a promotion's terms as cached: used
    if the request is granted on those same terms."""

    award: Award
    terms: dict[str, Any]
    events: list[StoredEvent]


@dataclass
class GroupDecision:
    """What a group of award requests came to, and the recorded states it rests on."""

    versions: dict[UUID, int]  # every stream read, at the version read
    drafts: dict[UUID, AwardDraft] = field(default_factory=dict)
    results: list[AwardResult | Granted] = field(default_factory=list)
    granted: dict[UUID, Award] = field(default_factory=dict)
    players: dict[UUID, Player] = field(default_factory=dict)
    reservations: dict[UUID, Reservation] = field(default_factory=lambda: defaultdict(Reservation))
    promotion_terms: dict[UUID, tuple[Any, Any]] = field(default_factory=dict)
    events: list[StoredEvent] = field(default_factory=list)

    def holds_on(self, current: dict[UUID, Any]) -> bool:
        """True when the recorded states differ from those decided on only by spins others reserved."""
        if any(award_id in current for award_id in self.granted):
            return False
        if any(current[player_id].version != self.versions[player_id] for player_id in self.players):
            return False
        for promo_id, reservation in self.reservations.items():
            promo = current[promo_id]
            if (promo.terms_data, promo.ended_at) != self.promotion_terms[promo_id] or promo.budget_left < reservation.spins:
                return False
        return True


class SpinLedger(WalletUseCases, GameUseCases, ReconciliationUseCases, ComplianceUseCases, ExpiryUseCases, Application[UUID]):
    name = "SpinLedger"
    snapshotting_intervals = {Promotion: 25, Player: 50}
    MAX_ATTEMPTS = 8
    MAX_GROUP = 1000
    DECIDED_AHEAD_FROM = 32  # requests in a group
    CACHED_TYPES = (Promotion, Player)
    CACHE_SIZE = 50_000

    def __init__(self, env: dict[str, str] | None = None, *, clock: Clock, random_bytes: RandomBytes) -> None:
        super().__init__(env)
        self.clock = clock
        self.random_bytes = random_bytes
        # One committer each: a group's round trips (and, for awards, its lock) are paid once per group, and
        # with one committer the requests that arrive while a group is written form the next, larger, group.
        # Measured under 16 connections: awards 2.6 a group with two committers, 3.4-4.4 with one; spins of 16
        # players 0.47-0.49 x the bare endpoint's throughput with two, 0.55 with one.
        self._awards = GroupCommit(self._grant_all, max_items=self.MAX_GROUP, committers=1)
        self._spins = GroupCommit(self._settle_group, max_items=self.MAX_GROUP, committers=1)
        # Held while a group's spins are reserved and its events appended, so that committers take turns
        # on a promotion's budget instead of failing against each other. This one serves one process;
        # the wiring replaces it with a database lock that serves every server process.
        in_process = threading.Lock()
        self.append_lock: Callable[[], ContextManager[LockedWriter]] = lambda: in_process_append(in_process, self.recorder)
        # The wiring may add an append that needs no lock, for the small groups (see ``_record_unlocked``).
        self.append_reserving: ReservingAppend | None = None
        self._cache = StateCache(self.CACHE_SIZE)
        self._reads_streams = isinstance(self.recorder, StreamReader)  # checked once: a Protocol check is slow

    # -- players ---------------------------------------------------------------------------------

    def register_player(self, player_id: str, profile: PlayerProfile) -> tuple[PlayerSummary, bool]:
        if profile.birth_date > self.clock.now().date():
            raise ValidationFailed("birth_date is in the future", field="birth_date")

        def attempt() -> tuple[PlayerSummary, bool]:
            now = self.clock.now()
            player = self._load_one(Player.stream_id(player_id))
            if player is None:
                player = Player.register(player_id, profile.region, profile.birth_date, profile.currency, now)
                self.save(player)
                return self._player_summary(player, now), True
            if player.profile_differs(profile.region, profile.birth_date, profile.currency):
                if profile.currency != player.currency and player.balance != 0:
                    raise ValidationFailed("currency cannot change while the balance is not zero", field="currency")
                player.update_profile(profile.region, profile.birth_date.isoformat(), profile.currency, timestamp=now)
                self.save(player)
            return self._player_summary(player, now), False

        return self._with_retries(attempt)

    def get_player(self, player_id: str) -> PlayerSummary:
        return self._player_summary(self._get_player(player_id), self.clock.now())

    def start_self_exclusion(self, player_id: str, period: str) -> SelfExclusion:
        months = SELF_EXCLUSION_MONTHS.get(period)
        if months is None:
            raise ValidationFailed(f"period must be one of {', '.join(SELF_EXCLUSION_MONTHS)}", field="period")

        def attempt() -> SelfExclusion:
            now = self.clock.now()
            player = self._get_player(player_id)
            open_awards = self._load(UUID(award_id) for award_id in player.open_awards)
            cancelled = [award for award in open_awards.values() if award.status_at(now) == ACTIVE]
            for award in cancelled:
                award.cancel("self-exclusion", now)
            cancelled_ids = [str(award.id) for award in cancelled]
            player.start_self_exclusion(period, add_months(now, months), cancelled_ids, timestamp=now)
            self.save(player, *cancelled)
            return SelfExclusion(player.player_id, player.self_excluded_until, cancelled_ids)

        return self._with_retries(attempt)

    # -- promotions ------------------------------------------------------------------------------

    def define_promotion(self, promo_id: str, terms: PromotionTerms) -> tuple[PromotionSummary, bool]:
        def attempt() -> tuple[PromotionSummary, bool]:
            now = self.clock.now()
            promo = self._load_one(Promotion.stream_id(promo_id))
            if promo is None:
                promo = Promotion.define(promo_id, terms, now)
                self.save(promo)
                return PromotionSummary.of(promo), True
            if promo.ended_at is not None:
                raise ExpiredPromotion("promotion has been ended and can no longer change", field="promo_id")
            if promo.terms != terms:
                promo.update(terms.as_dict(), timestamp=now)
                self.save(promo)
            return PromotionSummary.of(promo), False

        return self._with_retries(attempt)

    def end_promotion(self, promo_id: str, reason: str) -> PromotionSummary:
        def attempt() -> PromotionSummary:
            promo = self._get_promotion(promo_id)
            if promo.ended_at is None:
                promo.end(reason, timestamp=self.clock.now())
                self.save(promo)
            return PromotionSummary.of(promo)

        return self._with_retries(attempt)

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
        return self._awards.submit(requests)

    def get_award(self, award_id: UUID) -> AwardStatus:
        return AwardStatus.of(self._get_award(award_id), self.clock.now())

    def list_player_awards(self, player_id: str, after: str | None, limit: int) -> Page[AwardStatus]:
        player = self._get_player(player_id)
        page_ids, next_cursor, has_more = page_of(player.award_ids[::-1], after, limit)
        awards = self._load(UUID(award_id) for award_id in page_ids)
        now = self.clock.now()
        data = [AwardStatus.of(awards[UUID(award_id)], now) for award_id in page_ids]
        return Page(data=data, next_cursor=next_cursor, has_more=has_more)

    def cancel_award(self, award_id: UUID, reason: str) -> AwardStatus:
        def attempt() -> AwardStatus:
            now = self.clock.now()
            award = self._get_award(award_id)
            award.cancel(reason, now)
            self.save(award)
            return AwardStatus.of(award, now)

        return self._with_retries(attempt)

    # -- the award decision ----------------------------------------------------------------------

    def _grant_all(self, requests: Sequence[AwardRequest]) -> list[AwardResult]:
        """Decides a group of requests and records every grant in one transaction.

        A small group is read, decided and appended without ``append_lock`` where the store allows it: the append
        holds only if what the group read is still what is recorded, but for spins others reserved on its
        promotions within the budget left (see ``_record_unlocked``). When it does not hold, or when the store
        cannot append so, the group is recorded under the lock.

        Under ``append_lock``, everything the group needs is read as recorded at that moment, the group is
        decided on it, the spins are reserved on the promotions and all events are appended at once. A large
        group (a batch) is first decided, and its events serialised, before the lock, in parallel with other
        processes: under the lock, only a decision that no longer holds (what changed is more than spins
        reserved by others, within the budget left) is made again.
        """
        now = self.clock.now()
        ids = list(
            dict.fromkeys(
                [r.award_id for r in requests]
                + [Player.stream_id(r.player_id) for r in requests]
                + [Promotion.stream_id(r.promo_id) for r in requests]
            )
        )
        decision, drafts, recorded = None, {}, None
        if len(requests) >= self.DECIDED_AHEAD_FROM:
            decision = self._decide(requests, self._load(ids), now)
            if not decision.granted:
                return self._receipts(decision)
        else:
            drafts = self._drafts(requests, now)
            if self.append_reserving is not None:
                recorded = self._record_unlocked(requests, ids, now, drafts, self.append_reserving)
        if recorded is None:
            with self.append_lock() as writer:
                recorded = self._record_group(requests, ids, decision, now, writer, drafts)
        decision, promotions = recorded
        saved = [(p, p.version - 1) for p in promotions] + [(a, 0) for a in decision.granted.values()]
        saved += [(p, decision.versions[p.id]) for p in decision.players.values()]
        self._snapshot(saved)
        for aggregate in (*promotions, *decision.players.values()):
            self._cache.put(aggregate)
        return self._receipts(decision)

    @staticmethod
    def _receipts(decision: GroupDecision) -> list[AwardResult]:
        return [AwardOutcome(AwardReceipt.of(r.award), replayed=False) if isinstance(r, Granted) else r for r in decision.results]

    def _drafts(self, requests: Sequence[AwardRequest], now: datetime) -> dict[UUID, AwardDraft]:
        """What of a small group needs no recorded state but the promotion's terms, worked out before its read
        (and out of the lock, should it be recorded under it): the awards, on the terms of the promotions as
        cached, and their events, serialised."""
        drafts: dict[UUID, AwardDraft] = {}
        for request in requests:
            promo = self._cache.peek(Promotion.stream_id(request.promo_id))
            if promo is None or request.award_id in drafts or (request.expires_at is not None and request.expires_at <= now):
                continue
            award = self._new_award(request, promo, now)
            drafts[request.award_id] = AwardDraft(award, promo.terms_data, [self.mapper.to_stored_event(e) for e in award.collect_events()])
        return drafts

    def _record_group(
        self, requests: Sequence[AwardRequest], ids: list[UUID], decision: GroupDecision | None, now: datetime,
        writer: LockedWriter, drafts: dict[UUID, AwardDraft],
    ) -> tuple[GroupDecision, list[Promotion]]:
        for _ in range(self.MAX_ATTEMPTS):
            current = self._load(ids, writer, cache=False)  # the states as recorded by this group are cached after it
            if decision is None or not decision.holds_on(current):
                decision = self._decide(requests, current, now, drafts)
                if not decision.granted:
                    return decision, []
            promotions, reserved = self._reserve(decision, current, now)
            try:
                writer.insert_events(reserved + decision.events)
            except IntegrityError:  # a writer outside the lock (a profile update, a cancellation) got there first
                decision = None
                continue
            return decision, promotions
        raise ConcurrentModification("the records changed under this request repeatedly; retry it")

    def _record_unlocked(
        self, requests: Sequence[AwardRequest], ids: list[UUID], now: datetime, drafts: dict[UUID, AwardDraft],
        append: ReservingAppend,
    ) -> tuple[GroupDecision, list[Promotion]] | None:
        """Reads, decides and appends a group without the lock. The append fails, recording nothing, if another
        writer appended to one of its players or awards since the read (as any append does), or if one of its
        promotions recorded since anything but reservations, or reservations that leave too little of the budget
        for this group's: None then, for the group to be decided again under the lock. So does an append that
        failed on the database (a lock not granted in time, a lost connection): under the lock, what it recorded
        or did not is read again.

        Returns the promotions whose state in memory is the one recorded, the only ones that may be cached or
        snapshotted: a promotion whose reservation went after others' (at a later version than the one it was
        made on) is not one of them."""
        current = self._load(ids)  # states as recorded, cached: this group's own are cached once it is recorded
        decision = self._decide(requests, current, now, drafts)
        if not decision.granted:
            return decision, []
        promotions, reserved = self._reserve(decision, current, now)
        claims = [BudgetClaim(p.id, decision.versions[p.id], p.budget_left) for p in promotions]
        try:
            recorded_at = append(reserved + decision.events, claims, RESERVATION_TOPIC)
        except (IntegrityError, OperationalError, InterfaceError):
            return None
        if recorded_at is None:
            return None
        after_others = {p.id for p in promotions if recorded_at.get(p.id) != p.version}
        self._snapshot_after_others(after_others, decision.versions, recorded_at)
        return decision, [p for p in promotions if p.id not in after_others]

    def _snapshot_after_others(self, promotion_ids: set[UUID], read_at: dict[UUID, int], recorded_at: dict[UUID, int]) -> None:
        """Snapshots the promotions whose reservation went after others' when their stream crossed a multiple of its
        interval: their state in memory is not the one recorded, so it is read again (and cached). The group is
        recorded by now: a failure here is logged, and does not turn it into an error."""
        interval = self.snapshotting_intervals[Promotion]
        due = [i for i in promotion_ids if recorded_at[i] // interval > read_at[i] // interval]
        if not due:
            return
        try:
            recorded = self._load(due)
        except Exception:
            logger.exception("reading a promotion again to snapshot it failed; the group is recorded")
            return
        self._snapshot([(recorded[promo_id], read_at[promo_id]) for promo_id in due if promo_id in recorded])

    def _reserve(self, decision: GroupDecision, current: dict[UUID, Any], now: datetime) -> tuple[list[Promotion], list[StoredEvent]]:
        """Reserves the decided spins on each promotion's state in ``current``; returns the promotions and those events."""
        promotions = [current[promo_id] for promo_id in decision.reservations]
        for promo in promotions:
            reservation = decision.reservations[promo.id]
            promo.reserve(reservation.award_ids, reservation.spins, timestamp=now)
        return promotions, [self.mapper.to_stored_event(e) for promo in promotions for e in promo.collect_events()]

    def _decide(
        self, requests: Sequence[AwardRequest], loaded: dict[UUID, Any], now: datetime, drafts: dict[UUID, AwardDraft] | None = None
    ) -> GroupDecision:
        decision = GroupDecision(versions={i: a.version for i, a in loaded.items()}, drafts=drafts or {})
        for request in requests:
            try:
                decision.results.append(self._grant_one(request, loaded, decision, now))
            except DomainError as refusal:
                decision.results.append(refusal)
        decision.events = [
            e for award_id, award in decision.granted.items()
            for e in (decision.drafts[award_id].events if award_id in decision.drafts else map(self.mapper.to_stored_event, award.collect_events()))
        ]
        decision.events += [self.mapper.to_stored_event(e) for player in decision.players.values() for e in player.collect_events()]
        decision.promotion_terms = {i: (loaded[i].terms_data, loaded[i].ended_at) for i in decision.reservations}
        return decision

    def _grant_one(self, request: AwardRequest, loaded: dict[UUID, Any], decision: GroupDecision, now: datetime) -> AwardOutcome | Granted:
        award_id = request.award_id
        prior = decision.granted.get(award_id) or loaded.get(award_id)
        if prior is not None:
            return self._replay(prior, request)
        if request.expires_at is not None and request.expires_at <= now:
            raise ValidationFailed("expires_at must be in the future", field="expires_at")
        player = loaded.get(Player.stream_id(request.player_id))
        if player is None:
            raise PlayerNotFound(f"no player {request.player_id!r}", field="player_id")
        promo = loaded.get(Promotion.stream_id(request.promo_id))
        if promo is None:
            raise PromotionNotFound(f"no promotion {request.promo_id!r}", field="promo_id")
        pending = decision.reservations[promo.id].spins if promo.id in decision.reservations else 0
        check_award(AwardContext(player, promo, request.game_code, request.award_value, now, promo.budget_left - pending))
        draft = decision.drafts.get(award_id)
        if draft is not None and draft.terms != promo.terms_data:  # the terms changed since: made again on these
            del decision.drafts[award_id]
            draft = None
        award = draft.award if draft is not None else self._new_award(request, promo, now)
        player.receive_award(str(award.id), request.promo_id, request.award_value, award.expires_at, timestamp=now)
        decision.granted[award_id] = award
        decision.reservations[promo.id].add(award)
        decision.players[player.id] = player
        return Granted(award)

    @staticmethod
    def _new_award(request: AwardRequest, promo: Promotion, now: datetime) -> Award:
        return Award.grant(
            at=now,
            idempotency_key=request.idempotency_key,
            player_id=request.player_id,
            promo_id=request.promo_id,
            game_code=request.game_code,
            spins=request.award_value,
            bet_per_spin=promo.terms_data["bet_per_spin"],
            currency=promo.terms_data["currency"],
            expires_at=promo.award_expiry(now, request.expires_at),
            requested_expires_at=request.expires_at,
            client_issued_at=request.issued_at,
            request_id=request.request_id,
            fingerprint=request.fingerprint(),
            terms=promo.terms_data,
        )

    @staticmethod
    def _replay(award: Award, request: AwardRequest) -> AwardOutcome:
        if award.fingerprint != request.fingerprint():
            raise IdempotencyKeyReused(
                "idempotency_key was already used for a different request", field="idempotency_key"
            )
        return AwardOutcome(AwardReceipt.of(award), replayed=True)

    # -- loading, locking, retrying --------------------------------------------------------------

    def _load(self, ids: Iterable[UUID], reader: Any = None, *, cache: bool = True) -> dict[UUID, Any]:
        """The current state of each existing aggregate, read in one round trip where the store allows
        (through ``reader``, when given, else the recorder); with ``cache``, states that changed are cached."""
        ids = list(dict.fromkeys(ids))
        if not ids:
            return {}
        if not self._reads_streams:  # the in-memory store of the unit tests
            return {i: a for i in ids if (a := self._load_from_repository(i)) is not None}
        cached = {i: state for i in ids if (state := self._cache.get(i)) is not None}
        streams = (reader or self.recorder).read_streams({i: cached[i].version if i in cached else 0 for i in ids})
        loaded = {}
        for aggregate_id in ids:
            stored = streams.get(aggregate_id, ())
            aggregate = self._fast_forward(cached.get(aggregate_id), stored)
            if aggregate is not None:
                loaded[aggregate_id] = aggregate
                if cache and stored and isinstance(aggregate, self.CACHED_TYPES):  # unchanged: the cache has it already
                    self._cache.put(aggregate)
        return loaded

    def _fast_forward(self, aggregate: Any, stored: Iterable[StoredEvent]) -> Any:
        for event in map(self.mapper.to_domain_event, stored):
            aggregate = event.mutate(aggregate)  # type: ignore[attr-defined]  # a snapshot starts afresh
        return aggregate

    def _load_from_repository(self, aggregate_id: UUID) -> Any:
        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None

    def _load_one(self, aggregate_id: UUID) -> Any:
        return self._load([aggregate_id]).get(aggregate_id)

    def _get_player(self, player_id: str) -> Player:
        player = self._load_one(Player.stream_id(player_id))
        if player is None:
            raise PlayerNotFound(f"no player {player_id!r}", field="player_id")
        return player

    def _get_promotion(self, promo_id: str) -> Promotion:
        promo = self._load_one(Promotion.stream_id(promo_id))
        if promo is None:
            raise PromotionNotFound(f"no promotion {promo_id!r}", field="promo_id")
        return promo

    def _get_award(self, award_id: UUID) -> Award:
        award = self._load_one(award_id)
        if not isinstance(award, Award):
            raise AwardNotFound(f"no award {award_id}", field="award_id")
        return award

    def _player_event(self, player_id: str, version: int) -> Any:
        """The event at ``version`` of a player's stream."""
        (stored,) = self.recorder.select_events(Player.stream_id(player_id), gt=version - 1, lte=version)
        return self.mapper.to_domain_event(stored)

    def _player_summary(self, player: Player, now: datetime) -> PlayerSummary:
        open_awards = self._load(UUID(award_id) for award_id in player.open_awards)
        statuses = sorted((AwardStatus.of(award, now) for award in open_awards.values()), key=lambda s: s.issued_at)
        return PlayerSummary.of(player, [s for s in statuses if s.status == ACTIVE])

    def _with_retries(self, attempt: Callable[[], T]) -> T:
        """Runs a load-decide-save attempt again when another writer got to one of its streams first."""
        for number in range(1, self.MAX_ATTEMPTS + 1):
            try:
                return attempt()
            except IntegrityError:
                # Back off a little longer each time, and differently per thread, so retries spread out.
                time.sleep(0.002 * number * (1 + threading.get_ident() % 7 / 7))
        raise ConcurrentModification("the records changed under this request repeatedly; retry it")

    def close(self) -> None:
        if self.closing.is_set():  # closed already (explicitly, before the finaliser calls this again)
            return
        self._awards.close()
        self._spins.close()
        super().close()

    def _take_snapshots(self, processing_event: ProcessingEvent[UUID]) -> None:
        counts = Counter(event.originator_id for event in processing_event.events)
        saved = processing_event.aggregates.values()
        self._snapshot([(a, a.version - counts[a.id]) for a in saved if a.id in counts])

    def _snapshot(self, saved: Iterable[tuple[Any, int]]) -> None:
        """Snapshots, as they are in memory, the saved aggregates whose stream crossed a multiple of its interval.

        The events are committed by now: a failed snapshot must not turn the command into an error.
        """
        try:
            due = []
            for aggregate, base_version in saved:
                interval = self.snapshotting_intervals.get(type(aggregate))
                if interval and aggregate.version // interval > base_version // interval:
                    due.append(Snapshot.take(aggregate))
            if due and self.snapshots is not None:
                self.snapshots.put(due)
        except Exception:
            logger.exception("taking a snapshot failed; the events themselves are recorded")
