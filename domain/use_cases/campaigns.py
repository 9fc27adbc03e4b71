"""Use cases of a campaign's stream: its terms, its audience uploads, its launches and its end; and the award
requests of a chunk of its players, each under the player's campaign key."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from domain.campaign import Campaign, CampaignFigures, CampaignTerms, campaign_award_key, campaign_request_id
from domain.clock import Clock
from domain.errors import CampaignNotFound, PromotionNotFound, ValidationFailed
from domain.promotion import AWARD_TYPE_FREE_SPINS, Promotion
from domain.requests import AwardRequest
from domain.results import AwardOutcome
from domain.streams import Streams, retrying


class Campaigns:
    def __init__(self, streams: Streams, clock: Clock):
        self._streams = streams
        self.clock = clock

    def define_campaign(self, campaign_id: str, terms: CampaignTerms) -> tuple[Campaign, bool]:
        """Defines the campaign, or changes a draft's terms; True if it was created."""

        if ":" in campaign_id:  # it would make the keys of two campaigns' players collide: x + y:z and x:y + z
            raise ValidationFailed("campaign_id must not contain ':' (it separates the campaign from the player in award keys)", field="campaign_id")
        if terms.expires_at is not None and terms.expires_at <= self.clock.now():
            raise ValidationFailed("expires_at must be in the future", field="expires_at")
        # Caught here, not as a refusal of every player: a campaign for a promotion or game that is not there.
        promo = self._streams.load_one(Promotion.stream_id(terms.promo_id))
        if not isinstance(promo, Promotion):
            raise PromotionNotFound(f"no promotion {terms.promo_id!r}", field="promo_id")
        if promo.is_coins:
            raise ValidationFailed(f"promotion {terms.promo_id!r} awards GOLD_COINS: campaigns award FREE_SPINS", field="promo_id")
        if terms.game_code not in promo.terms_data["game_codes"]:
            raise ValidationFailed(f"game_code {terms.game_code!r} is not a game of promotion {terms.promo_id!r}", field="game_code")

        def attempt() -> tuple[Campaign, bool]:
            now = self.clock.now()
            campaign = self._streams.load_one(Campaign.stream_id(campaign_id))
            if campaign is None:
                campaign = Campaign.define(campaign_id, terms, now)
                self._streams.save(campaign)
                return campaign, True
            if campaign.terms != terms:
                campaign.redefine(terms, now)
                self._streams.save(campaign)
            return campaign, False

        return retrying(attempt)

    def get_campaign(self, campaign_id: str) -> Campaign:
        campaign = self._streams.load_one(Campaign.stream_id(campaign_id))
        if not isinstance(campaign, Campaign):
            raise CampaignNotFound(f"no campaign {campaign_id!r}", field="campaign_id")
        return campaign

    def record_audience(self, campaign_id: str, upload_id: str, added: int, players_total: int, digest: str) -> Campaign:
        def attempt() -> Campaign:
            campaign = self.get_campaign(campaign_id)
            campaign.add_audience(upload_id, added, players_total, digest, self.clock.now())
            self._streams.save(campaign)
            return campaign

        return retrying(attempt)

    def launch_campaign(self, campaign_id: str, players_total: int, chunks: int, chunk_size: int) -> tuple[Campaign, bool]:
        """Records the launch; False (nothing recorded) when it was queued, running or ended already."""

        def attempt() -> tuple[Campaign, bool]:
            campaign = self.get_campaign(campaign_id)
            launched = campaign.launch(players_total, chunks, chunk_size, self.clock.now())
            if launched:
                self._streams.save(campaign)
            return campaign, launched

        return retrying(attempt)

    def complete_campaign(self, campaign_id: str, figures: CampaignFigures) -> Campaign:
        return self._record(campaign_id, lambda campaign, now: campaign.complete(figures, now))

    def cancel_campaign(self, campaign_id: str, reason: str) -> Campaign:
        return self._record(campaign_id, lambda campaign, now: campaign.cancel(reason, now))

    def fail_campaign(self, campaign_id: str, reason: str) -> Campaign:
        return self._record(campaign_id, lambda campaign, now: campaign.fail(reason, now))

    def _record(self, campaign_id: str, change: Callable[[Campaign, datetime], bool]) -> Campaign:
        """Applies ``change`` to the campaign as recorded and saves it if it recorded something."""

        def attempt() -> Campaign:
            campaign = self.get_campaign(campaign_id)
            if change(campaign, self.clock.now()):
                self._streams.save(campaign)
            return campaign

        return retrying(attempt)


def campaign_award_requests(campaign: Campaign, player_ids: Iterable[str]) -> list[AwardRequest]:
    """One award request per player, under the player's campaign key and the campaign's request id."""
    terms = campaign.terms
    return [
        AwardRequest(
            player_id=player_id,
            promo_id=terms.promo_id,
            award_type=AWARD_TYPE_FREE_SPINS,
            award_value=terms.award_value,
            game_code=terms.game_code,
            idempotency_key=campaign_award_key(campaign.campaign_id, player_id),
            expires_at=terms.expires_at,
            request_id=campaign_request_id(campaign.campaign_id),
        )
        for player_id in player_ids
    ]


def granted_outcome(campaign_id: str, granted: AwardOutcome) -> str:
    """What a granted request (not refused) came to for the campaign: ``replayed`` when its key had already made an
    award that the campaign did not make (another caller sent it); else ``awarded``, a replay of the campaign's own
    award included (a chunk issued again after a worker died)."""
    return "replayed" if granted.replayed and granted.made_by != campaign_request_id(campaign_id) else "awarded"
