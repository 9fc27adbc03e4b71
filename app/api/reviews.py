"""Risk reviews (compliance): the flags the rules raised, and the decisions that clear or keep a player's
promotions paused."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import g

from app.auth import require_scope
from app.http import Blueprint
from app.schemas.common import page_schema
from app.schemas.protection import ReviewDecisionSchema, ReviewListArgsSchema, ReviewSchema
from app.services import services

blp = Blueprint("reviews", __name__, url_prefix="/api/v1", description="Risk reviews: flagged players, and compliance's decisions")
ReviewPageSchema = page_schema(ReviewSchema, "ReviewPage")


@blp.route("/reviews", methods=["GET"])
@require_scope("compliance")
@blp.arguments(ReviewListArgsSchema(), location="query")
@blp.response(200, ReviewPageSchema, description="newest first, as the worker's risk review has listed them")
def list_reviews(args: dict[str, Any]) -> Any:
    return services().list_reviews(args.get("status"), args.get("after"), args["limit"])


@blp.route("/reviews/<uuid:review_id>/decision", methods=["POST"])
@require_scope("compliance")
@blp.arguments(ReviewDecisionSchema())
@blp.response(200, ReviewSchema, description="the review with its decision (deciding again what was decided changes nothing)")
def decide_review(body: dict[str, str], review_id: UUID) -> Any:
    return services().decide_review(review_id, body["decision"], body["note"], g.api_key.name)
