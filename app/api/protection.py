"""Player protection: deposit and loss limits, and cooling-off."""

from __future__ import annotations

from typing import Any

from app.auth import require_scope
from app.http import Blueprint
from app.schemas.protection import CoolingOffRequestSchema, CoolingOffSchema, LimitsRequestSchema, PlayerLimitsSchema
from app.services import ledger

blp = Blueprint("protection", __name__, url_prefix="/api/v1", description="Player protection: deposit and loss limits, cooling-off")


@blp.route("/players/<extid:player_id>/limits", methods=["PUT"])
@require_scope("players:write")
@blp.arguments(LimitsRequestSchema())
@blp.response(200, PlayerLimitsSchema, description="the limits in force, those waiting, and each window's use")
def put_limits(requested: dict[str, Any], player_id: str) -> Any:
    return ledger().set_limits(player_id, requested)


@blp.route("/players/<extid:player_id>/limits", methods=["GET"])
@require_scope("players:write", "compliance")
@blp.response(200, PlayerLimitsSchema)
def get_limits(player_id: str) -> Any:
    return ledger().get_limits(player_id)


@blp.route("/players/<extid:player_id>/cooling-off", methods=["POST"])
@require_scope("players:write")
@blp.arguments(CoolingOffRequestSchema())
@blp.response(200, CoolingOffSchema, description="cooling off until then (a longer period already running is kept)")
def start_cooling_off(body: dict[str, str], player_id: str) -> Any:
    return ledger().start_cooling_off(player_id, body["period"])
