"""The audit log's Flask hooks: a row for each audited call, made from its request and response and written
(by ``app.audit_log``) after the response is made and before it is sent."""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, current_app, g, request

from app.audit_capture import AUDITED_ENDPOINTS, GAME_ENDPOINTS, idempotency_key, player_ids, request_body, response_body
from app.audit_log import AuditRecord
from app.auth import bearer_token

logger = logging.getLogger(__name__)


def install_audit_hooks(app: Flask) -> None:
    """Install before the other request hooks: its timer then starts first, and its row is the last
    thing done to a response (after-request hooks run in reverse order)."""

    @app.before_request
    def _start_audit_timer() -> None:
        if _audited():
            g.audit_started = (time.perf_counter(), app.extensions["spinledger"].clock.now())

    @app.after_request
    def _record_audit_row(response: Response) -> Response:
        if _audited():
            try:
                app.extensions["spinledger"].audit.record(_audit_record(response))
            except Exception:
                logger.error("audit log: request %s (%s %s) was not recorded", g.get("request_id", "unknown"),
                             request.method, request.path, exc_info=True)
        return response


def _audited() -> bool:
    return request.endpoint in AUDITED_ENDPOINTS and request.method != "OPTIONS"  # not a CORS preflight


def _audit_record(response: Response) -> AuditRecord:
    started, at = g.get("audit_started") or (time.perf_counter(), current_app.extensions["spinledger"].clock.now())
    latency_ms = round((time.perf_counter() - started) * 1000, 3)
    credential = bearer_token()
    secrets = [credential] if credential else []
    asked, answered = request_body(request, secrets), response_body(response, secrets)
    session = g.get("game_session")
    return AuditRecord(
        at=at, method=request.method, route=request.url_rule.rule if request.url_rule else request.path,
        path=request.path, status=response.status_code, key_name=_key_name(credential),
        session_id=session.session_id if session else None, idempotency_key=idempotency_key(request, asked.value),
        request_id=g.get("request_id") or "unknown", player_ids=player_ids(request, asked.value, answered.value),
        latency_ms=latency_ms, request=asked, response=answered,
    )


def _key_name(credential: str | None) -> str | None:
    """The name of the API key used; a key refused for its scope (403) is still named."""
    key = g.get("api_key")
    if key is not None:
        return key.name
    if credential is None or request.endpoint in GAME_ENDPOINTS:
        return None
    found = current_app.extensions["spinledger"].keyring.authenticate(credential)
    return found.name if found else None
