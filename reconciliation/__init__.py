"""Nightly reconciliation of the read models against the event store (issue 4)."""
