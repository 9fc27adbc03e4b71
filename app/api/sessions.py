from __future__ import annotations

from typing import Any

from app.auth import require_scope
from app.http import Blueprint
from app.schemas.wallet import SessionRequestSchema, SessionSchema
from app.services import services

blp = Blueprint("sessions", __name__, url_prefix="/api/v1", description="Game sessions: tokens for the game API")


@blp.route("/sessions", methods=["POST"])
@require_scope("players:write")
@blp.arguments(SessionRequestSchema())
@blp.response(201, SessionSchema, description="the token is shown once: only its digest is stored")
def open_session(body: dict[str, str]) -> Any:
    return services().open_session(body["player_id"], body.get("currency"))
