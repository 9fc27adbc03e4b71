"""How far each projection (and the webhook outbox) is behind the event store: in events, and in seconds of the oldest one waiting."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from eventsourcing.persistence import ProgrammingError
from eventsourcing.postgres import PostgresDatastore

from projections.catalogue import PROJECTIONS
from projections.risk_review import RiskReviewProjection, RiskReviewView
from projections.source import APPLICATION, EventSource
from projections.view import BatchProjection, View
from projections.webhook_outbox import OutboxProjection, OutboxView

# Every follower of the store the worker runs: the read models, the webhook outbox and the risk review.
FOLLOWERS: dict[str, tuple[type[BatchProjection], type[View]]] = {
    **PROJECTIONS,
    "webhook_outbox": (OutboxProjection, OutboxView),
    "risk_review": (RiskReviewProjection, RiskReviewView),
}


@dataclass(frozen=True)
class Lag:
    projection: str
    position: int
    events: int  # notifications recorded past the projection's position
    seconds: float  # how long the oldest event the projection still has to apply has been waiting


def projection_lags(datastore: PostgresDatastore, now: datetime) -> list[Lag]:
    source = EventSource(datastore)
    head = source.head()
    lags = []
    for name, (projection_class, view_class) in FOLLOWERS.items():
        view = view_class(datastore)
        try:
            position = view.max_tracking_id(APPLICATION) or 0
        except ProgrammingError:  # the worker has not created the view yet
            position = 0
        seconds = 0.0
        if position < head:
            waiting = source.read(position, head, 1, projection_class.topics).events
            if waiting:
                seconds = max(0.0, (now - waiting[0][0].timestamp).total_seconds())
        lags.append(Lag(name, position, head - position, seconds))
    return lags
