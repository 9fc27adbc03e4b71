from __future__ import annotations

from typing import Any
from uuid import UUID

from app.auth import require_scope
from app.errors import ApiError, STATUS_BY_CODE, error_body
from app.http import Blueprint, body_limit
from app.schemas.awards import (
    AwardByKeySchema,
    AwardReceiptSchema,
    AwardRequestSchema,
    AwardStatusSchema,
    BatchRequestSchema,
    BatchResultSchema,
    CancelRequestSchema,
    IdempotencyHeaderSchema,
    award_request,
    batch_requests,
    one_key,
)
from app.schemas.common import PageArgsSchema, page_schema
from app.services import ledger, services
from domain.errors import DomainError
from domain.ids import award_id_for_key
from domain.requests import AwardRequest
from domain.results import AwardOutcome

blp = Blueprint("awards", __name__, url_prefix="/api/v1", description="Free-spins awards, idempotent on their key")

BATCH_BODY_LIMIT = 900 * 1024
AwardPageSchema = page_schema(AwardStatusSchema, "AwardPage")


@blp.route("/awards", methods=["POST"])
@require_scope("awards:write")
@blp.arguments(IdempotencyHeaderSchema(), location="headers")
@blp.arguments(AwardRequestSchema())
@blp.response(201, AwardReceiptSchema, description="awarded")
@blp.alt_response(200, schema=AwardReceiptSchema, description="a replay: the original body, Idempotent-Replayed: true")
def create_award(headers: dict[str, str], body: dict[str, Any]) -> Any:
    outcome = ledger().award_free_spins(award_request(body, headers.get("idempotency_key")))
    if outcome.replayed:
        return outcome.receipt, 200, {"Idempotent-Replayed": "true"}
    return outcome.receipt, 201


@blp.route("/awards/batch", methods=["POST"])
@body_limit(BATCH_BODY_LIMIT)
@require_scope("awards:write")
@blp.arguments(BatchRequestSchema())
@blp.response(200, BatchResultSchema, description="one result per item, in order")
def create_awards(body: dict[str, Any]) -> Any:
    parsed = batch_requests(body["awards"])
    valid = [item for item in parsed if isinstance(item, AwardRequest)]
    granted = iter(ledger().award_batch(valid))
    results = [_batch_item(index, next(granted) if isinstance(item, AwardRequest) else item) for index, item in enumerate(parsed)]
    return {"results": results}


def _batch_item(index: int, result: AwardOutcome | DomainError | ApiError) -> dict[str, Any]:
    if isinstance(result, AwardOutcome):
        status = 200 if result.replayed else 201
        return {"index": index, "status": status, "idempotent_replayed": result.replayed, "body": result.receipt, "error": None}
    error = error_body(result.code, result.message, field=result.field, retry_after_ms=result.retry_after_ms)
    return {"index": index, "status": STATUS_BY_CODE[result.code], "idempotent_replayed": False, "body": None, "error": error}


@blp.route("/awards/<uuid:award_id>", methods=["GET"])
@require_scope("awards:read", "awards:write")
@blp.response(200, AwardStatusSchema)
def get_award(award_id: UUID) -> Any:
    return services().get_award(award_id)


@blp.route("/players/<extid:player_id>/awards", methods=["GET"])
@require_scope("awards:read", "awards:write")
@blp.arguments(PageArgsSchema(), location="query")
@blp.response(200, AwardPageSchema, description="newest first")
def list_player_awards(args: dict[str, Any], player_id: str) -> Any:
    return services().list_player_awards(player_id, args.get("after"), args["limit"])


@blp.route("/awards", methods=["GET"])
@require_scope("awards:read", "awards:write")
@blp.arguments(AwardByKeySchema(), location="query")
@blp.response(200, AwardStatusSchema, description="the award this idempotency key made (404 AWARD_NOT_FOUND: it made none)")
def find_award(args: dict[str, str]) -> Any:
    """For a caller whose award call timed out: look the key up before sending the call again."""
    return services().get_award(award_id_for_key(args["idempotency_key"]))


@blp.route("/awards/<uuid:award_id>/cancel", methods=["POST"])
@require_scope("awards:write")
@blp.arguments(IdempotencyHeaderSchema(), location="headers")
@blp.arguments(CancelRequestSchema())
@blp.response(200, AwardStatusSchema, description="cancelled; with the same idempotency key again, the first answer, Idempotent-Replayed: true")
def cancel_award(headers: dict[str, str], body: dict[str, str], award_id: UUID) -> Any:
    status, replayed = ledger().cancel_award(award_id, body["reason"], one_key(body.get("idempotency_key"), headers.get("idempotency_key")))
    return (status, 200, {"Idempotent-Replayed": "true"}) if replayed else status
