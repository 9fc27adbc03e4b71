"""Marketing's page: the promotions with their budget used and left, caps and window; an award looked up by its
id or its idempotency key; the campaigns with their progress."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

from flask import render_template, request

from app.api import awards as awards_api, campaigns as campaigns_api, promotions as api
from app.console.charts import gauge
from app.console.forms import read_query
from app.console.signin import blp, holds, needs_scope_of
from app.schemas.awards import AwardByKeySchema, AwardStatusSchema
from app.schemas.common import PageArgsSchema
from app.services import services
from domain.errors import DomainError
from domain.ids import award_id_for_key

PROMOTIONS_PER_PAGE = 25
CAMPAIGNS_SHOWN = 25


@blp.route("/promotions")
@needs_scope_of(api.list_promotions)
def promotions() -> Any:
    args, errors = read_query(PageArgsSchema(), request.args, ignore=("limit",))
    page = api.PromotionPage().dump(services().list_promotions(args.get("after") if args else None, PROMOTIONS_PER_PAGE))
    for promotion in page["data"]:
        coins = promotion["award_type"] == "GOLD_COINS"
        budget, used = (Decimal(promotion["budget_coins"]), Decimal(promotion["coins_reserved"])) if coins else \
            (promotion["budget_spins"], promotion["spins_reserved"])
        promotion["gauge"] = gauge(used, budget)
        promotion["unit"] = "coins" if coins else "spins"
        promotion["used"] = promotion["coins_reserved"] if coins else promotion["spins_reserved"]
        promotion["budget"] = promotion["budget_coins"] if coins else promotion["budget_spins"]
    campaigns = None
    if holds(*campaigns_api.list_campaigns.required_scopes):  # type: ignore[attr-defined]
        campaigns = campaigns_api.CampaignPage().dump(services().list_campaigns(None, CAMPAIGNS_SHOWN))["data"]
        for campaign in campaigns:
            campaign["gauge"] = gauge(campaign["processed"], campaign["players_total"])
    lookup, lookup_error = _looked_up_award()
    return render_template("console/promotions.html", title="Promotions", page=page, errors=errors, campaigns=campaigns,
                           campaign_scopes=campaigns_api.list_campaigns.required_scopes,  # type: ignore[attr-defined]
                           award=lookup, award_error=lookup_error, query=request.args), 400 if errors else 200


def _looked_up_award() -> tuple[dict[str, Any] | None, str | None]:
    """The award named by ``award_id`` or ``idempotency_key``, as ``GET /awards/{id}`` and ``GET /awards?idempotency_key``
    answer it."""
    award_id, key = request.args.get("award_id", "").strip(), request.args.get("idempotency_key", "").strip()
    if not award_id and not key:
        return None, None
    scopes = awards_api.get_award.required_scopes  # type: ignore[attr-defined]  # and find_award's, the same
    if not holds(*scopes):
        return None, f"looking an award up needs an API key with the scope {' or '.join(scopes)}"
    if award_id:
        try:
            found = UUID(award_id)
        except ValueError:
            return None, "award_id: not a UUID"
    else:
        loaded, errors = read_query(AwardByKeySchema(), request.args)
        if loaded is None:
            return None, "; ".join(f"{field}: {message}" for field, message in errors.items())
        found = award_id_for_key(loaded["idempotency_key"])
    try:
        return AwardStatusSchema().dump(services().get_award(found)), None
    except DomainError as missing:
        return None, str(missing)

