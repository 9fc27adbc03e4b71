"""The Flask application factory: the web app over what ``app.bootstrap`` builds."""

from __future__ import annotations

import os

from flask import Flask
from flask_smorest import Api
from werkzeug.routing import BaseConverter

from app import api_version
from app.audit_hooks import install_audit_hooks
from app.auth import API_KEY_SCHEME, SESSION_SCHEME
from app.bootstrap import bootstrap
from app.console import install_console
from app.config import Settings
from app.errors import register_error_handlers
from app.http import install_request_hooks
from app.metrics import install_metrics_hooks
from app.schemas.common import ErrorEnvelopeSchema
from app.schemas.fields import EXTERNAL_ID_PATTERN, Instant, Money, StrictBoolean, StrictInteger, Text
from domain.clock import Clock, RandomBytes


class ExternalIdConverter(BaseConverter):
    regex = EXTERNAL_ID_PATTERN.strip("^$")


class SpinledgerApi(Api):
    ERROR_SCHEMA = ErrorEnvelopeSchema


def create_app(settings: Settings | None = None, *, clock: Clock | None = None, random_bytes: RandomBytes = os.urandom) -> Flask:
    """The web app over the parts ``bootstrap`` builds, held in ``app.extensions["spinledger"]``."""
    services = bootstrap(settings or Settings.from_env(), clock=clock, random_bytes=random_bytes)
    app = Flask(__name__)
    app.config.update(
        API_TITLE="spinledger",
        API_VERSION=api_version.SERVED,
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        JSON_SORT_KEYS=False,
        API_SPEC_OPTIONS={"info": {"description": api_version.description()}},
    )
    app.json.sort_keys = False
    app.extensions["spinledger"] = services
    app.url_map.converters["extid"] = ExternalIdConverter
    app.url_map.strict_slashes = False

    api = SpinledgerApi(app, spec_kwargs={"components": {"securitySchemes": {
        API_KEY_SCHEME: {"type": "http", "scheme": "bearer", "description": "an API key of SPINLEDGER_API_KEYS holding one of the operation's x-required-scopes"},
        SESSION_SCHEME: {"type": "http", "scheme": "bearer", "description": "a game session's token (POST /api/v1/sessions)"},
    }}})
    api.register_converter(ExternalIdConverter, lambda _: {"type": "string", "pattern": EXTERNAL_ID_PATTERN})
    api.register_field(Money, "string", None)
    api.register_field(Instant, "string", "date-time")
    api.register_field(StrictInteger, "integer", None)
    api.register_field(StrictBoolean, "boolean", None)
    api.register_field(Text, "string", None)

    from app.api import audit as audit_routes, awards, campaigns, compliance, game, games, ops, players, promotions, protection, reconciliation, reviews
    from app.api import sessions as session_routes, webhooks as webhook_routes

    for module in (players, protection, promotions, awards, campaigns, session_routes, game, games, reconciliation, compliance, reviews, audit_routes, webhook_routes, ops):
        api.register_blueprint(module.blp)

    install_console(app, services.settings.console_secret_key.encode() if services.settings.console_secret_key else services.console_signing_key())

    install_metrics_hooks(app)  # first: its time covers every other hook, the audit row's write included
    install_audit_hooks(app)  # next: its timer starts before, and its row is written after, the other hooks
    install_request_hooks(app)
    register_error_handlers(app)
    return app
