from __future__ import annotations

from typing import Any

from app.auth import require_scope
from app.http import Blueprint
from app.schemas.promotions import EndPromotionSchema, PromotionSchema, PromotionTermsSchema
from app.schemas.common import PageArgsSchema, page_schema
from app.services import ledger, services
from domain.promotion import PromotionTerms

PromotionPage = page_schema(PromotionSchema, "PromotionPage")
blp = Blueprint("promotions", __name__, url_prefix="/api/v1", description="Promotions: terms and budget")


@blp.route("/promotions/<extid:promo_id>", methods=["PUT"])
@require_scope("promotions:write")
@blp.arguments(PromotionTermsSchema())
@blp.response(200, PromotionSchema, description="updated (or unchanged)")
@blp.alt_response(201, schema=PromotionSchema, description="defined")
def put_promotion(terms: PromotionTerms, promo_id: str) -> Any:
    view, created = ledger().define_promotion(promo_id, terms)
    return view, 201 if created else 200


@blp.route("/promotions/<extid:promo_id>", methods=["GET"])
@require_scope("promotions:write", "awards:read", "awards:write")
@blp.response(200, PromotionSchema)
def get_promotion(promo_id: str) -> Any:
    return ledger().get_promotion(promo_id)


@blp.route("/promotions", methods=["GET"])
@require_scope("promotions:write", "awards:read", "awards:write")
@blp.arguments(PageArgsSchema(), location="query")
@blp.response(200, PromotionPage, description="newest first, once the event index has them (API 1.7)")
def list_promotions(args: dict[str, Any]) -> Any:
    return services().list_promotions(args.get("after"), args["limit"])


@blp.route("/promotions/<extid:promo_id>/end", methods=["POST"])
@require_scope("promotions:write")
@blp.arguments(EndPromotionSchema())
@blp.response(200, PromotionSchema)
def end_promotion(body: dict[str, str], promo_id: str) -> Any:
    return ledger().end_promotion(promo_id, body["reason"])
