"""The names of every event the ledger records (a compliance query filters by them)."""

from __future__ import annotations

from eventsourcing.domain import Aggregate

from domain.award import Award
from domain.player import Player
from domain.promotion import Promotion
from domain.reconciliation import Reconciliation, ReconciliationLog
from domain.request_record import RequestRecord


def _event_names(aggregate: type[Aggregate]) -> set[str]:
    return {
        name for name, value in vars(aggregate).items()
        if isinstance(value, type) and issubclass(value, Aggregate.Event) and not hasattr(Aggregate, name)
    }


EVENT_TYPES = frozenset().union(*(
    _event_names(aggregate) for aggregate in (Promotion, Award, Player, Reconciliation, ReconciliationLog, RequestRecord)
))
