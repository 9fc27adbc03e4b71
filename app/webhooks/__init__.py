"""Webhooks: subscriptions, the outbox a follower of the event store fills, the sender that delivers it, and
the signature scheme (``signature``, the receiver kit: standard library only, copy it into a receiver)."""
