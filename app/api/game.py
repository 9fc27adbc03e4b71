"""The game API of seed 001, for game clients holding a session token (camelCase)."""

from __future__ import annotations

import functools
from typing import Any, Callable, NoReturn, TypeVar

from flask import g, request
from marshmallow import Schema, ValidationError

from app.auth import SESSION_SCHEME, bearer_token
from app.errors import ApiError, validation_error
from app.http import Blueprint, StrictJsonParser
from app.schemas.game import (
    BonusSpinRequestSchema,
    ConfigArgsSchema,
    GameConfigResponseSchema,
    GameStateResponseSchema,
    PendingSpinResponseSchema,
    SpinHeadersSchema,
    SpinRequestSchema,
    SpinResponseSchema,
    game_config,
)
from app.services import ledger, services
from domain.requests import SpinCommand
from domain.slot.crystal_forge import CRYSTAL_FORGE

class GameJsonParser(StrictJsonParser):
    """As every route's parser, but a malformed ``betAmount`` is the game API's ``INVALID_BET_FORMAT``."""

    def handle_error(self, error: ValidationError, req: Any, schema: Schema, **kwargs: Any) -> NoReturn:
        problem = validation_error(error.messages)
        if problem.field == "betAmount" and problem.code != "MISSING_FIELD":
            raise ApiError("INVALID_BET_FORMAT", problem.message, field="betAmount")
        raise problem


class GameBlueprint(Blueprint):
    ARGUMENTS_PARSER = GameJsonParser()


blp = GameBlueprint("game", __name__, url_prefix="/api/v1/game", description="Crystal Forge: the spin protocol of seed 001")
GAME = CRYSTAL_FORGE
F = TypeVar("F", bound=Callable[..., Any])


def require_session(view: F) -> F:
    """The caller holds a live game session: ``Authorization: Bearer <token>`` (or ``?token=`` on config)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        token = bearer_token() or (request.args.get("token") if request.endpoint == "game.config" else None)
        g.game_session = services().sessions.resolve(token, services().clock.now())
        return view(*args, **kwargs)

    return Blueprint.doc(security=[{SESSION_SCHEME: []}])(wrapper)  # type: ignore[no-any-return]


def command(headers: dict[str, str], **fields: Any) -> SpinCommand:
    return SpinCommand(
        player_id=g.game_session.player_id, request_id=headers["request_id"], received_at=services().clock.now(),
        coins=g.game_session.coins, **fields
    )


@blp.route("/config", methods=["GET"])
@require_session
@blp.arguments(ConfigArgsSchema(), location="query")
@blp.response(200, GameConfigResponseSchema)
def config(_args: dict[str, str]) -> Any:
    return game_config(GAME, ledger().game_state(GAME, g.game_session.player_id, g.game_session.coins))


@blp.route("/spin", methods=["POST"])
@require_session
@blp.arguments(SpinHeadersSchema(), location="headers")
@blp.arguments(SpinRequestSchema())
@blp.response(200, SpinResponseSchema, description="the settled spin (a replay of the same X-Request-Id: the same body, Idempotent-Replayed: true)")
def spin(headers: dict[str, str], body: dict[str, Any]) -> Any:
    outcome = ledger().spin(GAME, command(headers, bet=body.get("betAmount"), currency=body.get("currency"), award_id=body.get("awardId")))
    return outcome.spin, 200, _replayed(outcome.replayed)


@blp.route("/bonus/spin", methods=["POST"])
@require_session
@blp.arguments(SpinHeadersSchema(), location="headers")
@blp.arguments(BonusSpinRequestSchema())
@blp.response(200, SpinResponseSchema)
def bonus_spin(headers: dict[str, str], body: dict[str, Any]) -> Any:
    outcome = ledger().bonus_spin(GAME, command(headers, block_id=body["blockId"]))
    return outcome.spin, 200, _replayed(outcome.replayed)


@blp.route("/state", methods=["GET"])
@require_session
@blp.response(200, GameStateResponseSchema)
def state() -> Any:
    return {**vars(ledger().game_state(GAME, g.game_session.player_id, g.game_session.coins)), "session_id": g.game_session.session_id}


@blp.route("/state/pending-spin", methods=["GET"])
@require_session
@blp.response(200, PendingSpinResponseSchema)
def pending_spin() -> Any:
    return ledger().game_state(GAME, g.game_session.player_id, g.game_session.coins)


def _replayed(replayed: bool) -> dict[str, str]:
    return {"Idempotent-Replayed": "true", "X-Idempotency-Replayed": "true"} if replayed else {}
