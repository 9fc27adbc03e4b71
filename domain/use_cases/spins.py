"""Use cases of the game client: spins (cash and promotional), bonus spins, and the game state.

A spin is decided on the player's state as last seen (the append checks it is still the one recorded) and
saved with its idempotency record in one transaction. The stops are drawn once per request, before any event is triggered.

Spins of different players that arrive together are settled as one group (``settle_group``: one read, one
append; the grouping itself is the infrastructure's). A player has at most one spin in a group; another spin of
that player in the same group is ``SPIN_IN_PROGRESS``. If the group's append fails because another
writer got to one of its streams first, each spin of the group is settled alone: if what got in first was a spin
with this request id, the spin is replayed; if it was another spin, this one gets ``SPIN_IN_PROGRESS``;
anything else (an award received, a deposit) and it is decided again on the new state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from domain.award import ACTIVE, EXPIRED, Award
from domain.clock import Clock, RandomBytes
from domain.errors import (
    AwardExpired,
    AwardNotActive,
    AwardNotFound,
    BetAboveMaximum,
    BetBelowMinimum,
    BlockIdMismatch,
    BonusRoundActive,
    ConcurrentModification,
    CurrencyMismatch,
    DomainError,
    GameUnderMaintenance,
    IdempotencyKeyReused,
    Ineligible,
    InsufficientFunds,
    InvalidCoinValue,
    JurisdictionBlocked,
    LossLimitReached,
    NoBonusRoundActive,
    PlayerCoolingOff,
    PlayerNotFound,
    PlayerSelfExcluded,
    SpinInProgress,
    ValidationFailed,
)
from domain.ids import uuid7
from domain.limits import LOSS_LIMITS, refuse_past_limits
from domain.money import COIN_CURRENCY
from domain.player import Player
from domain.regions import minimum_age
from domain.request_record import SPIN, RequestRecord
from domain.requests import SpinCommand
from domain.results import AwardStatus, GameState, SettledSpin, SpinOutcome
from domain.slot.definition import SlotGame
from domain.slot.rng import draw_stops
from domain.slot.rounds import AWARD, BONUS, CASH, COINS, Block, SpinInputs, play_base_spin, play_bonus_spin
from domain.streams import MAX_ATTEMPTS, Streams
from domain.use_cases.games import Games


def check_bet(game: SlotGame, bet: Decimal) -> None:
    if bet < game.min_bet:
        raise BetBelowMinimum(f"betAmount must be at least {game.min_bet}", field="betAmount")
    if bet > game.max_bet:
        raise BetAboveMaximum(f"betAmount must be at most {game.max_bet}", field="betAmount")
    if bet not in game.valid_bets:
        raise InvalidCoinValue(f"betAmount must be a coin value × {game.lines} lines", field="betAmount")


def check_may_play(game: SlotGame, player: Player, at: datetime) -> None:
    """DESIGN invariant 6: no spin for a self-excluded, cooling-off, under-age or blocked-region player."""
    if player.is_self_excluded_at(at):
        raise PlayerSelfExcluded("the player is self-excluded")
    check_not_cooling_off(player, at)
    if player.region.split("-", 1)[0] not in game.jurisdictions:
        raise JurisdictionBlocked(f"{game.name} is not offered in {player.region}")
    if player.age_on(at.date()) < minimum_age(player.region):
        raise Ineligible(f"the player is under the minimum age of {minimum_age(player.region)} in {player.region}")


def check_not_cooling_off(player: Player, at: datetime) -> None:
    if player.is_cooling_off_at(at):
        assert player.cooling_off_until is not None
        # Not retryable, as seed 001 has it: the client is told when play resumes, not asked to keep trying.
        raise PlayerCoolingOff(f"the player is cooling off until {player.cooling_off_until.isoformat()}; play resumes then")


def check_loss_limits(player: Player, bet: Decimal, at: datetime) -> None:
    """A cash bet that, lost, would take a window's net loss past a loss limit in force is refused."""
    refuse_past_limits(LossLimitReached, f"a bet of {bet}, lost,", player.limits_at(at), LOSS_LIMITS, player.loss_tally, bet, at)


@dataclass(frozen=True)
class SpinJob:
    """One spin request, its stops already drawn."""

    game: SlotGame
    command: SpinCommand
    bonus: bool
    stops: tuple[int, ...]

    @property
    def key(self) -> str:
        return f"{self.command.player_id}|{self.command.request_id}"


SpinResult = SpinOutcome | DomainError
# The refusals a player's state decides (its balance, its block, its profile, whether it exists). A game under
# maintenance is one: whether the player has a block to finish is the player's state.
REFUSED_ON_THE_PLAYER = (
    PlayerNotFound,
    PlayerSelfExcluded,
    PlayerCoolingOff,
    JurisdictionBlocked,
    Ineligible,
    InsufficientFunds,
    CurrencyMismatch,
    BonusRoundActive,
    NoBonusRoundActive,
    BlockIdMismatch,
    LossLimitReached,
    GameUnderMaintenance,
)
_AFTER_GROUP = None  # settled alone after the group: a copy of a request in it (a replay by then), or a refusal


class Spins:
    def __init__(self, streams: Streams, clock: Clock, random_bytes: RandomBytes, games: Games):
        self._streams = streams
        self.clock = clock
        self.random_bytes = random_bytes
        self._games = games

    def job(self, game: SlotGame, command: SpinCommand, bonus: bool) -> SpinJob:
        """A spin request with its stops drawn: a base-game spin (cash at ``command.bet``, or one free spin of
        ``command.award_id``), or with ``bonus`` the next spin of the player's block ``command.block_id``."""
        return SpinJob(game, command, bonus, draw_stops(game.reel_sizes, self.random_bytes))

    def admit_player(self, game: SlotGame, player_id: str, currency: str | None = None) -> str:
        """Raises unless the player may open a game session now, in ``currency`` (the player's own by default, or
        ``GC``, gold coins); returns the session's currency."""
        player = self._player(player_id)
        check_may_play(game, player, self.clock.now())
        if currency is not None and currency not in (player.currency, COIN_CURRENCY):
            raise CurrencyMismatch(f"currency must be the player's, {player.currency}, or {COIN_CURRENCY} (gold coins)", field="currency")
        return currency or player.currency

    def game_state(self, game: SlotGame, player_id: str, coins: bool = False) -> GameState:
        """The player's state in a session in cash or, with ``coins``, in gold coins (which no award's spins are)."""
        player = self._player(player_id)
        now = self.clock.now()
        check_not_cooling_off(player, now)
        maintenance = self._games.check_open(game, now, block_in_play=player.block is not None)
        awards = {} if coins else self._streams.load(UUID(award_id) for award_id in player.open_awards)
        active = [AwardStatus.of(a, now) for a in awards.values() if a.status_at(now) == ACTIVE and a.game_code == game.code]
        return GameState(
            player_id=player.player_id,
            state="bonus" if player.block else "idle",
            balance=player.coin_balance if coins else player.balance,
            currency=COIN_CURRENCY if coins else player.currency,
            block=player.block,
            last_spin=self._settled_spin(player.last_spin) if player.last_spin else None,
            free_spin_awards=sorted(active, key=lambda a: a.expires_at),
            maintenance=maintenance,
        )

    # -- settling --------------------------------------------------------------------------------

    def settle_group(self, jobs: Sequence[SpinJob]) -> list[SpinResult]:
        """Spins of different players that arrived together, decided and recorded in one transaction.

        If the append fails (another writer got to one of the streams first), each spin of the group is
        settled again on its own, which sorts out who was first.
        """
        now = self.clock.now()
        records = [RequestRecord.stream_id(SPIN, job.key) for job in jobs]
        players = [Player.stream_id(job.command.player_id) for job in jobs]
        awards = [UUID(job.command.award_id) for job in jobs if job.command.award_id]
        # Decided on the players as last seen, their spins' records taken as new: the append checks both (each
        # stream's version), and a group it refuses is settled spin by spin on what is recorded.
        loaded = self._streams.load(awards, as_last_seen=players, new=records)
        block_awards = [UUID(p.block["award_id"]) for p in loaded.values() if isinstance(p, Player) and p.block and p.block.get("award_id")]
        loaded |= self._streams.load(block_awards)
        results: list[SpinResult | None] = [None] * len(jobs)
        changed: dict[UUID, Any] = {}
        first_of_player: dict[str, int] = {}  # the group's settled spin of each player: one per player per group
        for index, job in enumerate(jobs):
            try:
                if (replayed := self._replayed_spin(loaded.get(RequestRecord.stream_id(SPIN, job.key)), job.command)) is not None:
                    results[index] = replayed
                    continue
                if job.command.player_id in first_of_player:
                    results[index] = self._second_in_group(job, jobs[first_of_player[job.command.player_id]])
                    continue
                player = loaded.get(Player.stream_id(job.command.player_id))
                aggregates = self._settle_one(job, player, loaded, now)
                first_of_player[job.command.player_id] = index  # a refused spin settles nothing: it holds no one up
                changed |= {aggregate.id: aggregate for aggregate in aggregates}
                results[index] = SpinOutcome(self._settled_spin(player.last_spin), replayed=False)
            except REFUSED_ON_THE_PLAYER:
                # Decided on the player as last seen, which only an append checks: such a refusal is settled again,
                # alone, after the group, on what is recorded then.
                results[index] = _AFTER_GROUP
            except DomainError as refusal:  # decided on what was read (the award, the request's record)
                results[index] = refusal
        if changed:
            try:
                self._streams.save(*changed.values())
            except IntegrityError:
                return [
                    self._settle_alone(job) if isinstance(result, SpinOutcome) or result is None else result
                    for job, result in zip(jobs, results, strict=True)
                ]
        return [result if result is not None else self._settle_alone(job) for job, result in zip(jobs, results, strict=True)]

    def _second_in_group(self, job: SpinJob, first: SpinJob) -> SpinResult | None:
        """A player's second spin in one group: a copy of the first (same request id) is settled after
        the group (a replay by then); another spin is refused."""
        if first.command.request_id == job.command.request_id:
            return _AFTER_GROUP
        return SpinInProgress("another spin of this player is being settled; retry with the same X-Request-Id", retry_after_ms=2000)

    def _settle_alone(self, job: SpinJob) -> SpinResult:
        try:
            return self._settle(job)
        except DomainError as refusal:
            return refusal

    def _settle(self, job: SpinJob) -> SpinOutcome:
        record_id = RequestRecord.stream_id(SPIN, job.key)
        player_id = Player.stream_id(job.command.player_id)
        seen_spins: int | None = None
        for _ in range(MAX_ATTEMPTS):
            now = self.clock.now()
            loaded = self._streams.load([record_id, player_id] + ([UUID(job.command.award_id)] if job.command.award_id else []))
            if (replayed := self._replayed_spin(loaded.get(record_id), job.command)) is not None:
                return replayed
            player = loaded.get(player_id)
            if player is not None and seen_spins is not None and player.spins_settled > seen_spins:
                raise SpinInProgress("another spin of this player settled first; retry with the same X-Request-Id", retry_after_ms=2000)
            seen_spins = player.spins_settled if player is not None else None
            if player is not None and player.block is not None and player.block.get("award_id"):
                loaded |= self._streams.load([UUID(player.block["award_id"])])
            aggregates = self._settle_one(job, player, loaded, now)
            try:
                self._streams.save(*aggregates)  # the next spin of this player starts from here, without reading this one back
            except IntegrityError:
                continue
            return SpinOutcome(self._settled_spin(player.last_spin), replayed=False)
        raise ConcurrentModification("the player's records changed under this spin repeatedly; retry it")

    def _settle_one(self, job: SpinJob, player: Player | None, loaded: dict[UUID, Any], now: datetime) -> list[Any]:
        """Decides one spin on ``loaded`` and triggers its events; returns every aggregate it changed."""
        command = job.command
        if player is None:
            raise PlayerNotFound(f"no player {command.player_id!r}")
        check_may_play(job.game, player, now)
        self._games.check_open(job.game, now, block_in_play=player.block is not None)
        record, touched = (self._decide_bonus if job.bonus else self._decide_base)(job, player, loaded, now)
        record["processing_ms"] = max(0, int((now - command.received_at).total_seconds() * 1000))
        player.settle_spin(record, timestamp=now)
        spin_version = player.version
        self._complete_blocks(player, record, touched, now)
        idempotency = RequestRecord.record(
            scope=SPIN,
            key=job.key,
            fingerprint=command.fingerprint(),
            player_id=command.player_id,
            player_version=spin_version,
            at=now,
        )
        return [player, *touched, idempotency]

    def _decide_base(self, job: SpinJob, player: Player, loaded: dict[UUID, Any], now: datetime) -> tuple[dict[str, Any], list[Any]]:
        command, game = job.command, job.game
        if player.block is not None:
            raise BonusRoundActive("a free-spins block is in play: use POST /api/v1/game/bonus/spin")
        award = None
        if command.coins:
            bet, funding, currency, balance = self._coin_bet(command, game, player)
        elif command.award_id is not None:
            award = self._playable_award(command, loaded, now)
            bet, funding, currency, balance = award.bet_per_spin, AWARD, player.currency, player.balance
            if command.bet is not None and command.bet != bet:
                raise ValidationFailed(f"betAmount must be the award's bet per spin, {bet}, or left out", field="betAmount")
            if command.currency is not None and command.currency != award.currency:
                raise CurrencyMismatch(f"currency must be {award.currency}", field="currency")
        else:
            if command.bet is None:
                raise ValidationFailed("betAmount is required", field="betAmount")
            bet, funding, currency, balance = command.bet, CASH, player.currency, player.balance
            if command.currency != player.currency:
                raise CurrencyMismatch(f"currency must be the session's currency, {player.currency}", field="currency")
            check_bet(game, bet)
            check_loss_limits(player, bet, now)
            if player.balance < bet:
                raise InsufficientFunds(f"the balance, {player.balance}, is less than the bet, {bet}")
        record = play_base_spin(
            SpinInputs(
                game=game,
                spin_id=str(uuid7(now, self.random_bytes)),
                request_id=command.request_id,
                bet=bet,
                currency=currency,
                balance_before=balance,
                stops=job.stops,
                new_block_id=str(uuid7(now, self.random_bytes)),
                funding=funding,
                award_id=command.award_id,
            )
        )
        touched: list[Any] = []
        if award is not None:
            award.play_spin(record["spin_id"], AWARD, record["total_win"], timestamp=now)
            touched.append(award)
        return record, touched

    def _decide_bonus(self, job: SpinJob, player: Player, loaded: dict[UUID, Any], now: datetime) -> tuple[dict[str, Any], list[Any]]:
        command = job.command
        if player.block is None:
            raise NoBonusRoundActive("no free-spins block is in play: use POST /api/v1/game/spin")
        block = Block.from_dict(player.block)
        if block.block_id != command.block_id:
            raise BlockIdMismatch("blockId is not the block in play", field="blockId")
        if block.coins != command.coins:  # the block is paid in what triggered it: finished in a session of that
            raise CurrencyMismatch(
                f"the block in play was triggered in {COIN_CURRENCY if block.coins else player.currency}: finish it in a session in that currency"
            )
        # A block triggered in gold coins is played and paid in coins.
        currency, balance = (COIN_CURRENCY, player.coin_balance) if block.coins else (player.currency, player.balance)
        record = play_bonus_spin(
            SpinInputs(
                game=job.game,
                spin_id=str(uuid7(now, self.random_bytes)),
                request_id=command.request_id,
                bet=block.triggering_bet,
                currency=currency,
                balance_before=balance,
                stops=job.stops,
                new_block_id=block.block_id,
                funding=BONUS,
                award_id=block.award_id,
            ),
            block,
        )
        touched: list[Any] = []
        if block.award_id is not None and (award := loaded.get(UUID(block.award_id))) is not None:
            award.play_spin(record["spin_id"], BONUS, record["total_win"], timestamp=now)
            touched.append(award)
        return record, touched

    def _complete_blocks(self, player: Player, record: dict[str, Any], touched: list[Any], now: datetime) -> None:
        summary = record["block_summary"]
        if summary is not None:
            player.complete_block(
                kind="free_spins",
                block_id=summary["block_id"],
                award_id=record["award_id"],
                spins_played=summary["total_spins_played"],
                total_win=summary["total_win"],
                triggering_bet=summary["triggering_bet"],
                win_multiple=summary["win_multiple"],
                timestamp=now,
            )
        for award in touched:
            if record["funding"] == AWARD and award.spins_used == award.spins_awarded:  # its last spin: the award is complete
                player.complete_block(
                    kind="award",
                    block_id=str(award.id),
                    award_id=str(award.id),
                    spins_played=award.spins_used,
                    total_win=award.total_win,
                    triggering_bet=award.bet_per_spin,
                    win_multiple=(award.total_win / award.bet_per_spin).quantize(Decimal("0.01")),
                    timestamp=now,
                )

    @staticmethod
    def _coin_bet(command: SpinCommand, game: SlotGame, player: Player) -> tuple[Decimal, str, str, Decimal]:
        """A spin in gold coins: the bet, on the game's own bet ladder, taken from the coin balance."""
        if command.award_id is not None:
            raise ValidationFailed(
                f"awardId: an award's free spins are played in a session in {player.currency}, not in {COIN_CURRENCY}", field="awardId"
            )
        if command.bet is None:
            raise ValidationFailed("betAmount is required", field="betAmount")
        if command.currency != COIN_CURRENCY:
            raise CurrencyMismatch(f"currency must be the session's currency, {COIN_CURRENCY}", field="currency")
        check_bet(game, command.bet)
        if player.coin_balance < command.bet:
            raise InsufficientFunds(f"the coin balance, {player.coin_balance}, is less than the bet, {command.bet}")
        return command.bet, COINS, COIN_CURRENCY, player.coin_balance

    def _playable_award(self, command: SpinCommand, loaded: dict[UUID, Any], now: datetime) -> Award:
        award = loaded.get(UUID(command.award_id))
        if not isinstance(award, Award) or award.player_id != command.player_id:
            raise AwardNotFound(f"the player holds no award {command.award_id}", field="awardId")
        status = award.status_at(now)
        if status == EXPIRED:
            award.record_expired_use(command.request_id, timestamp=now)
            try:
                self._streams.save(award)
            except IntegrityError:
                pass  # recorded by a concurrent attempt, or the award changed: the refusal stands either way
            raise AwardExpired(f"the award expired at {award.expires_at.isoformat()}; its spins can no longer be played", field="awardId")
        if status != ACTIVE:
            raise AwardNotActive(f"the award is {status}: it has no spins left", field="awardId")
        return award

    def _replayed_spin(self, record: RequestRecord | None, command: SpinCommand) -> SpinOutcome | None:
        if record is None:
            return None
        if record.fingerprint != command.fingerprint():
            raise IdempotencyKeyReused("X-Request-Id was already used for a different spin", field="X-Request-Id")
        event = self._streams.event_at(Player.stream_id(record.player_id), record.player_version)
        return SpinOutcome(self._settled_spin({**event.spin, "settled_at": event.timestamp}), replayed=True)

    @staticmethod
    def _settled_spin(record: dict[str, Any]) -> SettledSpin:
        return SettledSpin(record=record, settled_at=record["settled_at"], processing_ms=record["processing_ms"])

    def _player(self, player_id: str) -> Player:
        player: Player | None = self._streams.load_one(Player.stream_id(player_id))
        if player is None:
            raise PlayerNotFound(f"no player {player_id!r}", field="player_id")
        return player
