"""Campaigns: an award of one promotion to each player of an audience, issued by the worker through the job queue."""

from __future__ import annotations

from typing import Any

from flask import request, url_for

from app.auth import require_scope
from app.campaign_store import CSV, NDJSON, parse_upload
from app.errors import ApiError
from app.http import Blueprint, body_limit, streamed_body
from app.schemas.campaigns import (
    AudienceAddedSchema,
    CampaignResultSchema,
    CampaignSchema,
    CampaignTermsSchema,
    CancelCampaignSchema,
    LaunchedSchema,
    ResultsArgsSchema,
)
from app.schemas.common import PageArgsSchema, page_schema
from app.services import services
from domain.campaign import CampaignTerms

blp = Blueprint("campaigns", __name__, url_prefix="/api/v1", description="Campaigns: one award to each player of an audience, issued by the worker")

# A million ids of up to 64 characters, a line each, in either format.
AUDIENCE_BODY_LIMIT = 96 * 1024 * 1024
CampaignResultPageSchema = page_schema(CampaignResultSchema, "CampaignResultPage")
CampaignPage = page_schema(CampaignSchema, "CampaignPage")
AUDIENCE_BODY = {
    "required": True,
    "description": "the players to add: CSV with the header line player_id and one id a line, or one JSON object a "
                   "line; up to 1,000,000 players, a repeated id counted once",
    "content": {
        CSV: {"schema": {"type": "string"}, "example": "player_id\n12345\n12346\n"},
        NDJSON: {"schema": {"type": "string"}, "example": '{"player_id": "12345"}\n{"player_id": "12346"}\n'},
    },
}


@blp.route("/campaigns/<extid:campaign_id>", methods=["PUT"])
@require_scope("awards:write")
@blp.arguments(CampaignTermsSchema())
@blp.response(200, CampaignSchema, description="updated (a draft), or unchanged")
@blp.alt_response(201, schema=CampaignSchema, description="defined")
def put_campaign(terms: CampaignTerms, campaign_id: str) -> Any:
    status, created = services().campaigns.define(campaign_id, terms)
    return status, 201 if created else 200


@blp.route("/campaigns/<extid:campaign_id>", methods=["GET"])
@require_scope("awards:write", "awards:read")
@blp.response(200, CampaignSchema)
def get_campaign(campaign_id: str) -> Any:
    return services().campaigns.status(campaign_id)


@blp.route("/campaigns", methods=["GET"])
@require_scope("awards:write", "awards:read")
@blp.arguments(PageArgsSchema(), location="query")
@blp.response(200, CampaignPage, description="newest first, once the event index has them, each with its progress (API 1.7)")
def list_campaigns(args: dict[str, Any]) -> Any:
    return services().list_campaigns(args.get("after"), args["limit"])


@blp.route("/campaigns/<extid:campaign_id>/audience", methods=["POST"])
@body_limit(AUDIENCE_BODY_LIMIT, streamed=True)
@require_scope("awards:write")
@blp.doc(requestBody=AUDIENCE_BODY)
@blp.response(200, AudienceAddedSchema)
def add_audience(campaign_id: str) -> Any:
    content_type = request.mimetype
    if content_type not in (CSV, NDJSON):
        raise ApiError("UNSUPPORTED_MEDIA_TYPE", f"the audience is sent as {CSV} or {NDJSON}, not {content_type or 'nothing'}")
    upload = services().campaigns.add_audience(campaign_id, parse_upload(streamed_body(request.stream), content_type))
    return {"campaign_id": campaign_id, "players_added": upload.added, "players_total": upload.players_total}


@blp.route("/campaigns/<extid:campaign_id>/launch", methods=["POST"])
@require_scope("awards:write")
@blp.response(202, LaunchedSchema, description="queued (or, launched before, its status now); Location is the campaign")
def launch_campaign(campaign_id: str) -> Any:
    status = services().campaigns.launch(campaign_id)
    return {"campaign_id": campaign_id, "status": status.status}, 202, {"Location": url_for(".get_campaign", campaign_id=campaign_id)}


@blp.route("/campaigns/<extid:campaign_id>/cancel", methods=["POST"])
@require_scope("awards:write")
@blp.arguments(CancelCampaignSchema())
@blp.response(200, CampaignSchema, description="cancelled: what is not issued yet never will be; awards made stay")
def cancel_campaign(body: dict[str, str], campaign_id: str) -> Any:
    return services().campaigns.cancel(campaign_id, body["reason"])


@blp.route("/campaigns/<extid:campaign_id>/results", methods=["GET"])
@require_scope("awards:write", "awards:read")
@blp.arguments(ResultsArgsSchema(), location="query")
@blp.response(200, CampaignResultPageSchema, description="in audience order")
def campaign_results(args: dict[str, Any], campaign_id: str) -> Any:
    return services().campaigns.results(campaign_id, args.get("outcome"), args.get("after"), args["limit"])
