"""The names of every event the ledger records (a compliance query filters by them), and their classes."""

from __future__ import annotations

from eventsourcing.domain import Aggregate

from domain.award import Award
from domain.campaign import Campaign
from domain.coin_award import CoinAward
from domain.maintenance import GameMaintenance
from domain.player import Player
from domain.promotion import Promotion
from domain.reconciliation import Reconciliation, ReconciliationLog
from domain.request_record import RequestRecord

AGGREGATES: tuple[type[Aggregate], ...] = (
    Promotion,
    Award,
    CoinAward,
    Player,
    Reconciliation,
    ReconciliationLog,
    RequestRecord,
    GameMaintenance,
    Campaign,
)


def _event_classes(aggregate: type[Aggregate]) -> dict[str, type[Aggregate.Event]]:
    return {
        name: value
        for name, value in vars(aggregate).items()
        if isinstance(value, type) and issubclass(value, Aggregate.Event) and not hasattr(Aggregate, name)
    }


EVENT_CLASSES: dict[str, tuple[type[Aggregate.Event], ...]] = {}
for _aggregate in AGGREGATES:
    for _name, _cls in _event_classes(_aggregate).items():
        EVENT_CLASSES[_name] = EVENT_CLASSES.get(_name, ()) + (_cls,)

EVENT_TYPES = frozenset(EVENT_CLASSES)
