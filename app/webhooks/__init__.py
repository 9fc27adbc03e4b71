"""Webhooks: subscriptions and their deliveries (the outbox itself is a projection, `projections.webhook_outbox`),
the sender that delivers them, and the signature scheme (``signature``, the receiver kit: standard library only,
copy it into a receiver)."""
