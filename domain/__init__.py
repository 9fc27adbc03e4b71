"""The spinledger domain: money, identities, eligibility rules, aggregates and use cases.

Pure: imports only the standard library and ``eventsourcing``. Time and randomness are injected.
"""
