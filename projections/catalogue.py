"""Every projection, and how to build it on a datastore."""

from __future__ import annotations

from eventsourcing.postgres import PostgresDatastore

from projections.awards import AwardsProjection, AwardsView
from projections.bonus import BonusProjection, BonusView
from projections.event_index import EventIndexProjection, EventIndexView
from projections.players import PlayersProjection, PlayersView
from projections.promotions import PromotionsProjection, PromotionsView
from projections.view import BatchProjection, View
from projections.wallet import WalletProjection, WalletView

PROJECTIONS: dict[str, tuple[type[BatchProjection], type[View]]] = {
    "players": (PlayersProjection, PlayersView),
    "wallet": (WalletProjection, WalletView),
    "bonus": (BonusProjection, BonusView),
    "awards": (AwardsProjection, AwardsView),
    "promotions": (PromotionsProjection, PromotionsView),
    "event_index": (EventIndexProjection, EventIndexView),
}


def build(datastore: PostgresDatastore, name: str, *, prefix: str = "", query_indexes: bool = True) -> BatchProjection:
    """The projection ``name`` on its view, the view's tables (and, unless told not to, the indexes only its
    reads use) created if they are not yet."""
    projection_class, view_class = PROJECTIONS[name]
    view = view_class(datastore, prefix=prefix, query_indexes=query_indexes)
    view.create_table()
    return projection_class(view)
