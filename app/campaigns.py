"""The campaign use cases the routes, the worker and the CLI call: a campaign's stream (in the Application), its
tables (``app.campaign_store``) and its jobs (``app.job_queue``) kept in step.

A launch records ``CampaignLaunched``, then cuts the audience into chunks and defers a job for each in one
transaction; a launch that failed half-way (answered 503) is completed by launching again. Each job issues its
chunk through the Application's award path (``award_batch``: eligibility, caps and the budget as for any award)
under each player's campaign key, writes the outcomes, and, when it was the last open chunk, records
``CampaignCompleted`` with the campaign's figures.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

from procrastinate import App

from app.campaign_store import Audience, CampaignStore, PlayerOutcome, Progress, Upload
from app.job_queue import defer_chunks
from domain.application import SpinLedger
from domain.campaign import COMPLETED, DRAFT, FAILED, QUEUED, Campaign, CampaignTerms
from domain.clock import Clock, RandomBytes
from domain.errors import DomainError
from domain.ids import uuid7
from domain.paging import Page
from domain.results import AwardOutcome
from domain.use_cases.campaigns import campaign_award_requests, granted_outcome

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CampaignStatus:
    campaign_id: str
    name: str
    promo_id: str
    award_value: int
    game_code: str
    expires_at: datetime | None
    status: str
    players_total: int
    processed: int
    awarded: int
    replayed: int
    refused: int
    refused_by_code: dict[str, int]
    progress: float
    launched_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, campaign: Campaign, progress: Progress) -> CampaignStatus:
        status = campaign.status_given(chunks_started=progress.chunks_started > 0)
        total = campaign.players_total
        figures = campaign.figures if status == COMPLETED else progress.figures
        terms = campaign.terms
        return cls(
            campaign_id=campaign.campaign_id, name=terms.name, promo_id=terms.promo_id, award_value=terms.award_value,
            game_code=terms.game_code, expires_at=terms.expires_at, status=status, players_total=total,
            processed=figures.processed, awarded=figures.awarded, replayed=figures.replayed, refused=figures.refused,
            refused_by_code=dict(figures.refused_by_code or {}),
            progress=1.0 if status == COMPLETED else (round(min(1.0, figures.processed / total), 4) if total else 0.0),
            launched_at=campaign.launched_at, finished_at=campaign.finished_at,
        )


class CampaignService:
    def __init__(self, ledger: SpinLedger, store: CampaignStore, queue: App, clock: Clock, random_bytes: RandomBytes, chunk_size: int):
        self._ledger = ledger
        self._store = store
        self._queue = queue
        self._clock = clock
        self._random_bytes = random_bytes
        self.chunk_size = chunk_size

    def define(self, campaign_id: str, terms: CampaignTerms) -> tuple[CampaignStatus, bool]:
        campaign, created = self._ledger.define_campaign(campaign_id, terms)
        return self._status(campaign), created

    def add_audience(self, campaign_id: str, players: Iterable[tuple[int, str]]) -> Upload:
        """Adds an upload's players (parsed as it streams in, and spooled whole before the database is asked for
        more) and records ``AudienceAdded``, whose recording refuses a campaign launched meanwhile (and so rolls the
        upload back)."""
        self._ledger.get_campaign(campaign_id).check_editable()  # before the body is read, not after
        with Audience(players) as audience, self._store.locked(campaign_id) as conn:
            upload_id = str(uuid7(self._clock.now(), self._random_bytes))
            return self._store.add_audience(conn, campaign_id, audience, lambda upload: self._ledger.record_campaign_audience(
                campaign_id, upload_id, upload.added, upload.players_total, upload.digest))

    def launch(self, campaign_id: str) -> CampaignStatus:
        """Queues the campaign; launching a queued or running campaign again only makes sure each of its waiting
        chunks has a job, and an ended one is left as it is."""
        if self._ledger.get_campaign(campaign_id).status in (DRAFT, QUEUED, FAILED):
            with self._store.locked(campaign_id) as conn:
                players = self._store.players_total(conn, campaign_id)
                campaign, _ = self._ledger.launch_campaign(campaign_id, players, -(-players // self.chunk_size), self.chunk_size)
                if campaign.status == QUEUED:
                    self._store.plan(conn, campaign_id, campaign.launches, self.chunk_size,
                                     lambda conn, waiting: defer_chunks(self._queue, conn, campaign_id, waiting))
            # Every chunk done, and no run left to say so (the last one's completion failed): launching says it.
            self._complete_if_done(campaign_id, self._store.progress(campaign_id))
        return self.status(campaign_id)

    def cancel(self, campaign_id: str, reason: str) -> CampaignStatus:
        self._ledger.cancel_campaign(campaign_id, reason)
        self._store.skip_unissued(campaign_id)
        return self.status(campaign_id)

    def status(self, campaign_id: str) -> CampaignStatus:
        return self._status(self._ledger.get_campaign(campaign_id))

    def _status(self, campaign: Campaign) -> CampaignStatus:
        return CampaignStatus.of(campaign, self._store.progress(campaign.campaign_id))

    def results(self, campaign_id: str, outcome: str | None, after: str | None, limit: int) -> Page[dict[str, Any]]:
        self._ledger.get_campaign(campaign_id)
        return self._store.results(campaign_id, outcome, after, limit)

    # -- the worker's side ---------------------------------------------------------------------------

    def issue_chunk(self, campaign_id: str, chunk: int, *, final_attempt: bool = False) -> None:
        """Issues one chunk's players that have no outcome yet; the job of a chunk. Raises when it could not (the
        queue tries again); on the final attempt, the campaign is recorded failed first."""
        try:
            self._issue_chunk(campaign_id, chunk)
        except Exception as error:
            if final_attempt:
                logger.exception("campaign %s: chunk %s failed on its last attempt; the campaign fails", campaign_id, chunk)
                self._ledger.fail_campaign(campaign_id, f"chunk {chunk}: {type(error).__name__}: {error}"[:500])
            raise

    def _issue_chunk(self, campaign_id: str, chunk_number: int) -> None:
        campaign = self._ledger.get_campaign(campaign_id)
        if campaign.status not in (QUEUED,):
            logger.info("campaign %s is %s: chunk %s has nothing to do", campaign_id, campaign.status, chunk_number)
            return
        started = self._store.start_chunk(campaign_id, chunk_number, self._clock.now())
        if started is None:  # done already: by a run whose completion check did not happen (killed, or it failed)
            self._complete_if_done(campaign_id, self._store.progress(campaign_id))
            return
        chunk, pending = started
        requests = campaign_award_requests(campaign, (player_id for _, player_id in pending))
        results = self._ledger.award_batch(requests) if requests else []
        outcomes = [_outcome(campaign_id, position, player_id, result) for (position, player_id), result in zip(pending, results)]
        self._complete_if_done(campaign_id, self._store.finish_chunk(campaign_id, chunk, outcomes, self._clock.now()))

    def _complete_if_done(self, campaign_id: str, progress: Progress) -> None:
        if progress.chunks and progress.chunks_open == 0:
            self._ledger.complete_campaign(campaign_id, progress.figures)


def _outcome(campaign_id: str, position: int, player_id: str, result: AwardOutcome | DomainError) -> PlayerOutcome:
    if isinstance(result, DomainError):
        return PlayerOutcome(position, player_id, "refused", error_code=result.code)
    return PlayerOutcome(position, player_id, granted_outcome(campaign_id, result), award_id=result.receipt.award_id)
