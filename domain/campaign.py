"""The Campaign aggregate: one award of one promotion to each player of an audience, issued by the worker.

Its events are the campaign's steps in the log: its terms (``CampaignDefined``, ``CampaignRedefined`` while a
draft), each audience upload (``AudienceAdded``: how many players it added, and a digest of their ids), each
launch (``CampaignLaunched``), and its end (``CampaignCompleted`` with its figures, ``CampaignCancelled``, or
``CampaignFailed``). The awards themselves are ``FreeSpinsAwarded`` on their own streams, each under the key
``campaign:{campaign_id}:{player_id}``: however often a player's chunk is issued, it makes one award.

The audience itself (up to millions of ids) and each player's outcome are kept beside the event store, in the
campaign's tables (``app.campaign_store``); the events hold their counts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import CampaignNotEditable, ValidationFailed
from domain.ids import NAMESPACE
from domain.windows import require_utc

DRAFT, QUEUED, RUNNING, COMPLETED, CANCELLED, FAILED = "draft", "queued", "running", "completed", "cancelled", "failed"
ENDED = (COMPLETED, CANCELLED)
OUTCOMES = ("awarded", "replayed", "refused")


def campaign_award_key(campaign_id: str, player_id: str) -> str:
    """The idempotency key of a campaign's award to a player: one award per player, however often issued."""
    return f"campaign:{campaign_id}:{player_id}"


def campaign_request_id(campaign_id: str) -> str:
    """The request id the campaign's awards carry: a replay whose award carries it was made by this campaign."""
    return f"campaign:{campaign_id}"


@dataclass(frozen=True)
class CampaignTerms:
    name: str
    promo_id: str
    award_value: int
    game_code: str
    expires_at: datetime | None

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValidationFailed("name must not be empty", field="name")
        if self.award_value <= 0:
            raise ValidationFailed("award_value must be greater than zero", field="award_value")
        if self.expires_at is not None:
            object.__setattr__(self, "expires_at", require_utc(self.expires_at, "expires_at"))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CampaignFigures:
    """What the issued chunks of a campaign came to."""

    processed: int = 0
    awarded: int = 0
    replayed: int = 0
    refused: int = 0
    refused_by_code: dict[str, int] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "refused_by_code": dict(self.refused_by_code or {})}


class Campaign(Aggregate):
    @staticmethod
    def stream_id(campaign_id: str) -> UUID:
        return uuid5(NAMESPACE, f"campaign:{campaign_id}")

    @classmethod
    def define(cls, campaign_id: str, terms: CampaignTerms, at: datetime) -> Campaign:
        return cls._create(cls.CampaignDefined, id=cls.stream_id(campaign_id), campaign_id=campaign_id, timestamp=at, **terms.as_dict())

    class CampaignDefined(Aggregate.Created):
        campaign_id: str
        name: str
        promo_id: str
        award_value: int
        game_code: str
        expires_at: datetime | None

    @event(CampaignDefined)
    def __init__(self, campaign_id: str, name: str, promo_id: str, award_value: int, game_code: str, expires_at: datetime | None) -> None:
        self.campaign_id = campaign_id
        self.terms = CampaignTerms(name, promo_id, award_value, game_code, expires_at)
        self.players_total = 0
        self.launches = 0
        self.launched_at: datetime | None = None
        self.finished_at: datetime | None = None
        self.ended: str | None = None  # completed, cancelled or failed
        self.figures = CampaignFigures()

    @property
    def status(self) -> str:
        """As recorded: ``running`` is not, the campaign's chunks say when one has started (``status_given``)."""
        if self.ended is not None:
            return self.ended
        return QUEUED if self.launched_at is not None else DRAFT

    def status_given(self, *, chunks_started: bool) -> str:
        """The status as the API shows it: a queued campaign one of whose chunks has started is running."""
        return RUNNING if self.status == QUEUED and chunks_started else self.status

    @property
    def editable(self) -> bool:
        return self.launched_at is None and self.ended is None  # a cancelled draft is not one either

    def check_editable(self) -> None:
        if not self.editable:
            raise CampaignNotEditable(f"campaign {self.campaign_id!r} is {self.status}: its terms and audience cannot change", field="campaign_id")

    def redefine(self, terms: CampaignTerms, at: datetime) -> None:
        self.check_editable()
        self._redefined(timestamp=at, **terms.as_dict())

    class CampaignRedefined(Aggregate.Event):
        name: str
        promo_id: str
        award_value: int
        game_code: str
        expires_at: datetime | None

    @event(CampaignRedefined)
    def _redefined(self, name: str, promo_id: str, award_value: int, game_code: str, expires_at: datetime | None, timestamp: datetime) -> None:
        self.terms = CampaignTerms(name, promo_id, award_value, game_code, expires_at)

    def add_audience(self, upload_id: str, added: int, players_total: int, digest: str, at: datetime) -> None:
        self.check_editable()
        self._audience_added(upload_id=upload_id, added=added, players_total=players_total, digest=digest, timestamp=at)

    class AudienceAdded(Aggregate.Event):
        upload_id: str
        added: int
        players_total: int
        digest: str  # SHA-256 of the ids added, in upload order, one per line

    @event(AudienceAdded)
    def _audience_added(self, upload_id: str, added: int, players_total: int, digest: str, timestamp: datetime) -> None:
        self.players_total = players_total

    def launch(self, players_total: int, chunks: int, chunk_size: int, at: datetime) -> bool:
        """Queues the campaign's issuance of its ``players_total`` players (as its audience table counts them);
        False, recording nothing, if it is queued, running or ended already (a failed campaign may be launched
        again: what it issued stays issued)."""
        if self.ended in ENDED or (self.launched_at is not None and self.ended is None):
            return False
        if players_total == 0:
            raise ValidationFailed("the campaign has no audience yet: upload players first", field="audience")
        self._launched(players_total=players_total, chunks=chunks, chunk_size=chunk_size, timestamp=at)
        return True

    class CampaignLaunched(Aggregate.Event):
        players_total: int
        chunks: int
        chunk_size: int

    @event(CampaignLaunched)
    def _launched(self, players_total: int, chunks: int, chunk_size: int, timestamp: datetime) -> None:
        self.players_total = players_total
        self.launched_at = self.launched_at or timestamp
        self.launches += 1
        self.ended = None
        self.finished_at = None

    def complete(self, figures: CampaignFigures, at: datetime) -> bool:
        if self.ended is not None or self.launched_at is None:
            return False
        self._completed(timestamp=at, **figures.as_dict())
        return True

    class CampaignCompleted(Aggregate.Event):
        processed: int
        awarded: int
        replayed: int
        refused: int
        refused_by_code: dict[str, int]

    @event(CampaignCompleted)
    def _completed(self, processed: int, awarded: int, replayed: int, refused: int, refused_by_code: dict[str, int], timestamp: datetime) -> None:
        self.ended = COMPLETED
        self.finished_at = timestamp
        self.figures = CampaignFigures(processed, awarded, replayed, refused, dict(refused_by_code))

    def cancel(self, reason: str, at: datetime) -> bool:
        """Stops what is not issued yet; False if it had ended already."""
        if self.ended in ENDED:
            return False
        self._cancelled(reason=reason, timestamp=at)
        return True

    class CampaignCancelled(Aggregate.Event):
        reason: str

    @event(CampaignCancelled)
    def _cancelled(self, reason: str, timestamp: datetime) -> None:
        self.ended = CANCELLED
        self.finished_at = timestamp

    def fail(self, reason: str, at: datetime) -> bool:
        if self.ended is not None or self.launched_at is None:
            return False
        self._failed(reason=reason, timestamp=at)
        return True

    class CampaignFailed(Aggregate.Event):
        reason: str

    @event(CampaignFailed)
    def _failed(self, reason: str, timestamp: datetime) -> None:
        self.ended = FAILED
        self.finished_at = timestamp
