"""Compliance's pages: the event history (filtered, paged, a payload on demand, exported), a player (profile,
balance, awards, last games with their grids), a spin and its replay, and the raw audit log."""

from __future__ import annotations

import json
import re
from typing import Any
from uuid import UUID

from flask import redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from app.api import audit as audit_api, awards as awards_api, compliance as api, players as players_api
from app.console.forms import errors_text, read_query
from app.console.grid import grid_rows, symbol_names
from app.console.signin import blp, holds, needs_scope_of
from app.schemas.audit import AuditQueryArgsSchema, AuditRequestPage, AuditRequestSchema
from app.schemas.compliance import EventArgsSchema, EventPage, ExportArgsSchema, GameHistoryPage, SpinRecordSchema, SpinReplaySchema
from app.schemas.fields import EXTERNAL_ID_PATTERN
from app.schemas.players import PlayerSchema
from app.services import ledger, services
from domain.event_types import EVENT_TYPES

EVENTS_PER_PAGE = 50
AUDIT_ROWS_PER_PAGE = 50
LAST_GAMES = 10
EXTERNAL_ID = re.compile(EXTERNAL_ID_PATTERN)
FILTERS = ("player_id", "promo_id", "award_id", "type", "from", "to")


@blp.route("/events")
@needs_scope_of(api.list_events)
def events() -> Any:
    args, errors = read_query(EventArgsSchema(), request.args, ignore=("limit",))
    page = EventPage().dump(api.event_page({**args, "limit": EVENTS_PER_PAGE})) if args is not None else None
    filters = MultiDict([(key, value) for key, value in request.args.items(multi=True) if key in FILTERS and value.strip()])
    next_url = url_for("console.events", **filters.to_dict(flat=False), after=page["next_cursor"]) if page and page["has_more"] else None
    return render_template("console/events.html", title="Event history", page=page, errors=errors, filters=filters,
                           types=sorted(EVENT_TYPES), next_url=next_url, export_query=filters.to_dict(flat=False),
                           pretty=lambda payload: json.dumps(payload, indent=2, sort_keys=True)), 400 if errors else 200


@blp.route("/events/export")
@needs_scope_of(api.export_events)
def events_export() -> Any:
    args, errors = read_query(ExportArgsSchema(), request.args)
    if args is None:
        return render_template("console/error.html", title="Export refused", status=400, message=errors_text(errors)), 400
    return api.event_export(args)


@blp.route("/players/<extid:player_id>")
@needs_scope_of(api.game_history)
def player(player_id: str) -> str:
    """The game history is the page's own (the compliance scope); the profile and the awards are shown to a key
    that may read them through their own API routes, and otherwise named as needing those scopes."""
    profile_scopes = players_api.get_player.required_scopes  # type: ignore[attr-defined]
    award_scopes = awards_api.list_player_awards.required_scopes  # type: ignore[attr-defined]
    profile = PlayerSchema().dump(services().get_player(player_id)) if holds(*profile_scopes) else None
    awards = awards_api.AwardPageSchema().dump(services().list_player_awards(player_id, None, 20)) if holds(*award_scopes) else None
    rounds, older = ledger().game_history(player_id, None, LAST_GAMES)
    games = GameHistoryPage().dump({"data": rounds, "next_cursor": None if older is None else str(older), "has_more": older is not None})
    for game in games["data"]:
        game["grids"] = [grid_rows(spin) for spin in game["spins"]]
    return render_template("console/player.html", title=f"Player {player_id}", player_id=player_id, player=profile, awards=awards,
                           games=games, profile_scopes=profile_scopes, award_scopes=award_scopes)


@blp.route("/spins/<uuid:spin_id>")
@needs_scope_of(api.replay_spin)
def spin(spin_id: UUID) -> str:
    found = services().find_spin(str(spin_id))
    stored, replay = SpinRecordSchema().dump(found), SpinReplaySchema().dump(ledger().replay_spin(found))
    return render_template("console/spin.html", title=f"Spin {spin_id}", spin=stored, replay=replay, grid=grid_rows(stored["record"]),
                           symbols=symbol_names(stored["record"]), pretty=lambda payload: json.dumps(payload, indent=2, sort_keys=True),
                           compact=lambda value: json.dumps(value, sort_keys=True))


@blp.route("/audit")
@needs_scope_of(audit_api.list_audit_requests)
def audit() -> Any:
    args, errors = read_query(AuditQueryArgsSchema(), request.args, ignore=("limit",))
    # The list shows each call's body sizes; a call's own page has its bodies (one batch award's can be 1 MB).
    query = {**args, "limit": AUDIT_ROWS_PER_PAGE, "bodies": False} if args is not None else None
    page = AuditRequestPage().dump(services().audit.query(**query)) if query is not None else None
    filters = {key: value for key, value in request.args.items() if key in ("from", "to", "route", "player_id", "key_name") and value.strip()}
    next_url = url_for("console.audit", **filters, after=page["next_cursor"]) if page and page["has_more"] else None
    return render_template("console/audit.html", title="Audit log", page=page, errors=errors, filters=filters,
                           next_url=next_url), 400 if errors else 200


@blp.route("/audit/<int:request_id>")
@needs_scope_of(audit_api.get_audit_request)
def audit_call(request_id: int) -> str:
    row = AuditRequestSchema().dump(services().audit.get(request_id))
    return render_template("console/audit_call.html", title=f"Audit log row {request_id}", row=row,
                           pretty=lambda body: json.dumps(body, indent=2, sort_keys=True))



@blp.route("/players")
@needs_scope_of(api.game_history)
def find_player() -> Any:
    player_id = request.args.get("player_id", "").strip()
    if not EXTERNAL_ID.fullmatch(player_id):
        return render_template("console/error.html", title="Player", status=400, message="player_id: not a player id"), 400
    return redirect(url_for("console.player", player_id=player_id))


@blp.route("/spins")
@needs_scope_of(api.replay_spin)
def find_spin() -> Any:
    try:
        spin_id = UUID(request.args.get("spin_id", "").strip())
    except ValueError:
        return render_template("console/error.html", title="Spin", status=400, message="spin_id: not a spin id (a UUID)"), 400
    return redirect(url_for("console.spin", spin_id=spin_id))
