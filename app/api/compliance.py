"""Compliance: the event history (paged and exported), spins and their replay, a player's last games."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import Response, stream_with_context

from app.auth import require_scope
from app.event_export import FORMATS
from app.http import Blueprint
from app.schemas.compliance import (
    EventArgsSchema,
    EventPage,
    ExportArgsSchema,
    GameHistoryArgsSchema,
    GameHistoryPage,
    SpinRecordSchema,
    SpinReplaySchema,
)
from app.services import ledger, services
from projections.event_history import EventHistory

blp = Blueprint("compliance", __name__, url_prefix="/api/v1", description="Compliance: event history, spins, game recall")
SPIN_ID = "<uuid:spin_id>"


def history() -> EventHistory:
    return services().event_history()


@blp.route("/events", methods=["GET"])
@require_scope("compliance")
@blp.arguments(EventArgsSchema(), location="query")
@blp.response(200, EventPage, description="in position order; next_cursor is the last position of the page")
def list_events(args: dict[str, Any]) -> Any:
    return event_page(args)


def event_page(args: dict[str, Any]) -> dict[str, Any]:
    """The page the route answers (and the console shows): ``args`` as ``EventArgsSchema`` loads them."""
    events, more = history().page(args["selection"], args["after"], args["limit"])
    cursor = str(events[-1]["position"]) if events else (str(args["after"]) if args["after"] else None)
    return {"data": events, "next_cursor": cursor, "has_more": more}


@blp.route("/events/export", methods=["GET"])
@require_scope("compliance")
@blp.arguments(ExportArgsSchema(), location="query")
@blp.doc(responses={"200": {"description": "every selected event in position order, streamed: one JSON object per line, or CSV",
                            "content": {"application/x-ndjson": {"schema": {"type": "string"}},
                                        "text/csv": {"schema": {"type": "string"}}}}})
def export_events(args: dict[str, Any]) -> Response:
    return event_export(args)


def event_export(args: dict[str, Any]) -> Response:
    """The export the route streams (and the console's Export button): ``args`` as ``ExportArgsSchema`` loads them."""
    lines, mimetype = FORMATS[args["format"]]
    rows = history().stream(args["selection"], args["after"])
    return Response(stream_with_context(lines(rows)), mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="events.{args["format"]}"'})


@blp.route(f"/spins/{SPIN_ID}", methods=["GET"])
@require_scope("compliance")
@blp.response(200, SpinRecordSchema, description="the SpinSettled event as the event store holds it")
def get_spin(spin_id: UUID) -> Any:
    return services().find_spin(str(spin_id))


@blp.route(f"/spins/{SPIN_ID}/replay", methods=["GET"])
@require_scope("compliance")
@blp.response(200, SpinReplaySchema, description="the spin played again from its reel stops by the game version that played it")
def replay_spin(spin_id: UUID) -> Any:
    return ledger().replay_spin(services().find_spin(str(spin_id)))


@blp.route("/players/<extid:player_id>/game-history", methods=["GET"])
@require_scope("compliance")
@blp.arguments(GameHistoryArgsSchema(), location="query")
@blp.response(200, GameHistoryPage, description="the player's last games, newest first; a free-spins block is one game")
def game_history(args: dict[str, Any], player_id: str) -> Any:
    after = args.get("after")
    rounds, older = ledger().game_history(player_id, None if after is None else int(after), args["limit"])
    return {"data": rounds, "next_cursor": None if older is None else str(older), "has_more": older is not None}
