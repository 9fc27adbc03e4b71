"""A game's maintenance (seed 001's ``GAME_UNDER_MAINTENANCE``): one stream per game code.

While it is on, the game's calls are refused, but a player's free-spins block already in play may be finished;
awards for the game are still made. ``until``, when given, ends it by itself at that instant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import ValidationFailed
from domain.ids import NAMESPACE
from domain.windows import require_utc

MESSAGE_MAX = 500


@dataclass(frozen=True)
class MaintenanceTerms:
    """What an operator sets: on or off, the message players are shown, and when it ends by itself."""

    active: bool
    message: str
    until: datetime | None

    def __post_init__(self) -> None:
        if self.active and not self.message.strip():
            raise ValidationFailed("message must say why the game is under maintenance", field="message")
        if len(self.message) > MESSAGE_MAX:
            raise ValidationFailed(f"message must be at most {MESSAGE_MAX} characters", field="message")
        if self.until is not None:
            object.__setattr__(self, "until", require_utc(self.until, "until"))
        if not self.active and self.until is not None:
            raise ValidationFailed("until is for maintenance that is active", field="until")

    def check_at(self, now: datetime) -> None:
        if self.until is not None and self.until <= now:
            raise ValidationFailed("until must be in the future", field="until")


class GameMaintenance(Aggregate):
    """``MaintenanceSet`` the first time a game's maintenance is set, ``MaintenanceChanged`` each change after."""

    @staticmethod
    def create_id(game_code: str) -> UUID:
        return uuid5(NAMESPACE, f"game-maintenance:{game_code}")

    class MaintenanceSet(Aggregate.Created):
        game_code: str
        active: bool
        message: str
        until: datetime | None
        set_by: str

    @event(MaintenanceSet)
    def __init__(self, game_code: str, active: bool, message: str, until: datetime | None, set_by: str) -> None:
        self.game_code = game_code
        self._apply(active, message, until, set_by)

    @classmethod
    def set_first(cls, game_code: str, terms: MaintenanceTerms, set_by: str, at: datetime) -> GameMaintenance:
        return cls._create(
            cls.MaintenanceSet,
            id=cls.create_id(game_code),
            game_code=game_code,
            active=terms.active,
            message=terms.message,
            until=terms.until,
            set_by=set_by,
            timestamp=at,
        )

    def change(self, terms: MaintenanceTerms, set_by: str, at: datetime) -> bool:
        """Records the new terms; False (and nothing recorded) when they are the ones in force."""
        if (self.active, self.message, self.until) == (terms.active, terms.message, terms.until):
            return False
        self._changed(active=terms.active, message=terms.message, until=terms.until, set_by=set_by, timestamp=at)
        return True

    @event("MaintenanceChanged")
    def _changed(self, active: bool, message: str, until: datetime | None, set_by: str, timestamp: datetime) -> None:
        self._apply(active, message, until, set_by)

    def _apply(self, active: bool, message: str, until: datetime | None, set_by: str) -> None:
        self.active = active
        self.message = message
        self.until = until
        self.set_by = set_by

    def is_on_at(self, now: datetime) -> bool:
        return self.active and (self.until is None or now < self.until)
