"""The on-call engineer's page, open to any signed-in key: how far each projection lags, and the webhook
subscriptions with their latest deliveries and dead letters, which a key with the webhooks' scope redelivers."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from app.api import ops as ops_api, webhooks as webhooks_api
from app.console.signin import blp, holds, needs_scope_of
from app.services import services

SUBSCRIPTIONS_SHOWN = 50
DELIVERIES_SHOWN = 10


@blp.route("/operations")
def operations() -> str:
    lags = [ops_api.ProjectionLagSchema().dump(lag) for lag in services().projection_lags()]
    ready_max = services().settings.ready_max_lag_seconds
    webhooks = services().webhooks
    subscriptions = webhooks_api.SubscriptionPage().dump(webhooks.subscriptions(None, SUBSCRIPTIONS_SHOWN))["data"]
    for subscription in subscriptions:
        subscription_id = UUID(subscription["id"])
        subscription["deliveries"] = webhooks_api.DeliveryPage().dump(webhooks.deliveries(subscription_id, None, None, DELIVERIES_SHOWN))["data"]
        subscription["dead"] = webhooks_api.DeliveryPage().dump(webhooks.deliveries(subscription_id, "dead", None, DELIVERIES_SHOWN))["data"]
    return render_template("console/operations.html", title="Operations", lags=lags, ready_max=ready_max, subscriptions=subscriptions,
                           may_redeliver=holds(*webhooks_api.redeliver.required_scopes),  # type: ignore[attr-defined]
                           redeliver_scopes=webhooks_api.redeliver.required_scopes)  # type: ignore[attr-defined]


@blp.route("/operations/webhooks/<uuid:subscription_id>/redeliver", methods=["POST"])
@needs_scope_of(webhooks_api.redeliver)
def redeliver(subscription_id: UUID) -> Response | Any:
    try:
        delivery_ids = [UUID(value) for value in request.form.getlist("delivery_id")] or None
    except ValueError:
        flash("delivery_id: not a delivery of this subscription", "error")
        return redirect(url_for("console.operations"))
    webhooks_api.live_subscription(subscription_id)
    requeued = services().webhooks.redeliver(subscription_id, delivery_ids, services().clock.now())
    flash(f"{requeued} deliver{'y' if requeued == 1 else 'ies'} due again, with a fresh day of retries.", "info")
    return redirect(url_for("console.operations"))
