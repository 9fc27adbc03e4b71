"""The games' catalogue and their maintenance (operators: scope ``games:write``)."""

from __future__ import annotations

from typing import Any

from flask import g

from app.auth import require_scope
from app.http import Blueprint
from app.schemas.games import GameListSchema, GameStatusSchema, MaintenanceRequestSchema
from app.services import ledger
from domain.maintenance import MaintenanceTerms

blp = Blueprint("games", __name__, url_prefix="/api/v1/games", description="Games, open or under maintenance")
READERS = ("games:write", "promotions:write", "awards:read", "awards:write")


@blp.route("", methods=["GET"])
@require_scope(*READERS)
@blp.response(200, GameListSchema)
def list_games() -> Any:
    return {"data": ledger().list_games()}


@blp.route("/<extid:game_code>", methods=["GET"])
@require_scope(*READERS)
@blp.response(200, GameStatusSchema)
def get_game(game_code: str) -> Any:
    return ledger().get_game(game_code)


@blp.route("/<extid:game_code>/maintenance", methods=["PUT"])
@require_scope("games:write")
@blp.arguments(MaintenanceRequestSchema())
@blp.response(200, GameStatusSchema, description="the game's state; the game's calls follow it within a second on every server")
def set_maintenance(terms: MaintenanceTerms, game_code: str) -> Any:
    return ledger().set_maintenance(game_code, terms, g.api_key.name)
