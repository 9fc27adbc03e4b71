"""The Application's collaborators: one class per group of use cases (spins, the wallet, compliance, the
reconciliation's record, award expiry), each handed what it needs (the streams, the clock) at construction.
None of them knows the Application; ``domain.application`` builds them and exposes their use cases."""
