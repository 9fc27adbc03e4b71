from __future__ import annotations

from typing import Any

from marshmallow import ValidationError

from app.auth import require_scope
from app.errors import ApiError
from app.http import Blueprint
from app.schemas.players import PlayerProfileSchema, PlayerSchema, SelfExclusionRequestSchema, SelfExclusionSchema
from app.schemas.wallet import TRANSACTION_ID, FundsReceiptSchema, FundsRequestSchema, TransactionSchema
from app.services import ledger, services
from domain.requests import DEPOSIT, WITHDRAWAL, FundsRequest, PlayerProfile

blp = Blueprint("players", __name__, url_prefix="/api/v1", description="Players: register, read, self-exclude")


@blp.route("/players/<extid:player_id>", methods=["PUT"])
@require_scope("players:write")
@blp.arguments(PlayerProfileSchema())
@blp.response(200, PlayerSchema, description="updated (or unchanged)")
@blp.alt_response(201, schema=PlayerSchema, description="registered")
def put_player(profile: PlayerProfile, player_id: str) -> Any:
    view, created = ledger().register_player(player_id, profile)
    return view, 201 if created else 200


@blp.route("/players/<extid:player_id>", methods=["GET"])
@require_scope("players:write", "awards:read")
@blp.response(200, PlayerSchema)
def get_player(player_id: str) -> Any:
    return services().get_player(player_id)


@blp.route("/players/<extid:player_id>/self-exclusion", methods=["POST"])
@require_scope("players:write")
@blp.arguments(SelfExclusionRequestSchema())
@blp.response(200, SelfExclusionSchema)
def start_self_exclusion(body: dict[str, str], player_id: str) -> Any:
    return ledger().start_self_exclusion(player_id, body["period"])


@blp.route("/players/<extid:player_id>/transactions/<transaction_id>", methods=["GET"])
@require_scope("players:write", "finance")
@blp.response(200, TransactionSchema, description="the deposit or withdrawal made with this transaction id")
def get_transaction(player_id: str, transaction_id: str) -> Any:
    try:
        TRANSACTION_ID(transaction_id)
    except ValidationError as error:
        raise ApiError("VALIDATION_ERROR", f"transaction_id: {error.messages[0]}", field="transaction_id") from None
    return ledger().find_transaction(player_id, transaction_id)


@blp.route("/players/<extid:player_id>/deposits", methods=["POST"])
@require_scope("players:write")
@blp.arguments(FundsRequestSchema())
@blp.response(201, FundsReceiptSchema, description="credited")
@blp.alt_response(200, schema=FundsReceiptSchema, description="a replay of the transaction id: the original body, Idempotent-Replayed: true")
def deposit(body: dict[str, Any], player_id: str) -> Any:
    return _funds(FundsRequest(player_id=player_id, kind=DEPOSIT, **body))


@blp.route("/players/<extid:player_id>/withdrawals", methods=["POST"])
@require_scope("players:write")
@blp.arguments(FundsRequestSchema())
@blp.response(201, FundsReceiptSchema, description="debited")
@blp.alt_response(200, schema=FundsReceiptSchema, description="a replay of the transaction id: the original body, Idempotent-Replayed: true")
def withdraw(body: dict[str, Any], player_id: str) -> Any:
    return _funds(FundsRequest(player_id=player_id, kind=WITHDRAWAL, **body))


def _funds(request: FundsRequest) -> Any:
    outcome = ledger().move_funds(request)
    if outcome.replayed:
        return outcome.receipt, 200, {"Idempotent-Replayed": "true"}
    return outcome.receipt, 201
