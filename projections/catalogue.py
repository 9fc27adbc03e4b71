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
    """The projection ``name`` on its view. Under a prefix, the view's tables are made (if they are not yet)
    as copies of the live ones, and unless told not to with the indexes only its reads use; the live tables
    are the schema migrations'."""
    projection_class, view_class = PROJECTIONS[name]
    view = view_class(datastore, prefix=prefix)
    if prefix:
        view.create_tables(query_indexes=query_indexes)
    return projection_class(view)
