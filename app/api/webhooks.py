from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import g

from app.auth import require_scope
from app.http import Blueprint
from app.schemas.common import PageArgsSchema, page_schema
from app.schemas.webhooks import (
    DeliveryArgsSchema, DeliverySchema, NewSubscriptionSchema, RedeliverRequestSchema, RedeliverResultSchema,
    SubscriptionRequestSchema, SubscriptionSchema,
)
from app.services import services
from domain.errors import WebhookNotFound

blp = Blueprint("webhooks", __name__, url_prefix="/api/v1",
                description="Webhooks: signed push confirmations of awards and alerts, delivered from the event store")
SubscriptionPage = page_schema(SubscriptionSchema, "SubscriptionPage")
DeliveryPage = page_schema(DeliverySchema, "DeliveryPage")


@blp.route("/webhooks", methods=["POST"])
@require_scope("awards:write")
@blp.arguments(SubscriptionRequestSchema())
@blp.response(201, NewSubscriptionSchema, description="subscribed to the events recorded from now on; the secret is shown only here")
def subscribe(body: dict[str, Any]) -> Any:
    return services().webhooks.subscribe(url=body["url"], event_types=body["event_types"], description=body["description"],
                                         key_name=g.api_key.name, now=services().clock.now())


@blp.route("/webhooks", methods=["GET"])
@require_scope("awards:write")
@blp.arguments(PageArgsSchema(), location="query")
@blp.response(200, SubscriptionPage, description="newest first")
def list_subscriptions(args: dict[str, Any]) -> Any:
    return services().webhooks.subscriptions(args.get("after"), args["limit"])


@blp.route("/webhooks/<uuid:subscription_id>", methods=["GET"])
@require_scope("awards:write")
@blp.response(200, SubscriptionSchema)
def get_subscription(subscription_id: UUID) -> Any:
    return live_subscription(subscription_id)


@blp.route("/webhooks/<uuid:subscription_id>", methods=["DELETE"])
@require_scope("awards:write")
@blp.response(204, description="unsubscribed: nothing more is enqueued, and what was not delivered is cancelled")
def unsubscribe(subscription_id: UUID) -> Any:
    if not services().webhooks.unsubscribe(subscription_id, services().clock.now()):
        raise WebhookNotFound(f"no webhook subscription {subscription_id}", field="subscription_id")
    return None


@blp.route("/webhooks/<uuid:subscription_id>/deliveries", methods=["GET"])
@require_scope("awards:write")
@blp.arguments(DeliveryArgsSchema(), location="query")
@blp.response(200, DeliveryPage, description="newest event first; ?status=dead for the dead letters")
def list_deliveries(args: dict[str, Any], subscription_id: UUID) -> Any:
    live_subscription(subscription_id)
    return services().webhooks.deliveries(subscription_id, args.get("status"), args.get("after"), args["limit"])


@blp.route("/webhooks/<uuid:subscription_id>/redeliver", methods=["POST"])
@require_scope("awards:write")
@blp.arguments(RedeliverRequestSchema())
@blp.response(202, RedeliverResultSchema, description="these deliveries are due again, with a fresh day of retries")
def redeliver(body: dict[str, Any], subscription_id: UUID) -> Any:
    live_subscription(subscription_id)
    return {"requeued": services().webhooks.redeliver(subscription_id, body["delivery_ids"], services().clock.now())}


def live_subscription(subscription_id: UUID) -> dict[str, Any]:
    found = services().webhooks.subscription(subscription_id)
    if found is None:
        raise WebhookNotFound(f"no webhook subscription {subscription_id}", field="subscription_id")
    return found
