"""Risk review: named rules over a player's events that pause the player's promotions until a compliance officer
decides (seed 000: "if you detect risky patterns, pause promotions and trigger manual review").

The rules judge one event at a time against what they keep of the player's recent activity (``Watch``), and say
which flags the event raises, with their evidence. They are run by a follower of the event store in the worker
(``projections.risk_review``), so each event is judged once, and a flag's review id is derived from the player and
the event that raised it: judging the same event again raises the same review, which the player records once.

- ``loss_chasing``: ``loss_chasing_deposits`` deposits (or more) within ``loss_chasing_window`` of a cash play
  that took the balance to zero.
- ``deposits_over_24h``: deposits within a rolling 24 hours totalling more than ``deposits_24h_amount``.
- ``awards_per_day``: more than ``awards_per_day`` awards, across promotions, in one UTC day.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid5

from domain.windows import day_key

LOSS_CHASING, DEPOSITS_OVER_24H, AWARDS_PER_DAY = "loss_chasing", "deposits_over_24h", "awards_per_day"
RULES = (LOSS_CHASING, DEPOSITS_OVER_24H, AWARDS_PER_DAY)
OPEN, KEPT_PAUSED, CLEARED = "open", "kept_paused", "cleared"
CLEAR, KEEP_PAUSED = "clear", "keep_paused"
DECISIONS = {CLEAR: CLEARED, KEEP_PAUSED: KEPT_PAUSED}
DAY = timedelta(hours=24)
REVIEW_NAMESPACE = UUID("6f1d2a54-3c1b-4e57-9a0e-2b8f0d6c4e11")


def review_id_for(player_stream: UUID, rule: str, event_id: str) -> UUID:
    """The review a rule raises on an event: the same whenever that event is judged again."""
    return uuid5(REVIEW_NAMESPACE, f"{player_stream}:{rule}:{event_id}")


@dataclass(frozen=True)
class Activity:
    """An event of a player's, as the rules see it."""

    kind: str  # "deposit", "cash_play" (a settled spin that staked or paid cash), "award"
    event_id: str
    at: datetime
    amount: Decimal = Decimal("0.00")  # a deposit's
    balance_after: Decimal | None = None  # a spin's
    award_id: str | None = None
    promo_id: str | None = None


@dataclass(frozen=True)
class Flag:
    rule: str
    event_id: str  # the event that raised it
    evidence: dict[str, Any]


@dataclass(frozen=True)
class Watch:
    """What the rules keep of one player's recent activity (kept as JSON between batches: ``as_json``)."""

    emptied_at: datetime | None = None  # the first cash play that emptied the balance, if recent
    emptied_by: str | None = None
    deposits_since_empty: tuple[tuple[datetime, Decimal, str], ...] = ()
    deposits_24h: tuple[tuple[datetime, Decimal, str], ...] = ()
    award_day: str | None = None
    awards_today: tuple[tuple[str, str, str], ...] = ()  # award id, promotion, event id
    awards_flagged: bool = False  # this day's awards have raised their flag

    def as_json(self) -> dict[str, Any]:
        return {
            "emptied_at": self.emptied_at.isoformat() if self.emptied_at else None,
            "emptied_by": self.emptied_by,
            "deposits_since_empty": [[at.isoformat(), str(amount), event] for at, amount, event in self.deposits_since_empty],
            "deposits_24h": [[at.isoformat(), str(amount), event] for at, amount, event in self.deposits_24h],
            "award_day": self.award_day,
            "awards_today": [list(a) for a in self.awards_today],
            "awards_flagged": self.awards_flagged,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Watch:
        def deposits(rows: list[list[str]]) -> tuple[tuple[datetime, Decimal, str], ...]:
            return tuple((datetime.fromisoformat(at), Decimal(amount), event) for at, amount, event in rows)

        return cls(
            emptied_at=datetime.fromisoformat(data["emptied_at"]) if data["emptied_at"] else None,
            emptied_by=data["emptied_by"],
            deposits_since_empty=deposits(data["deposits_since_empty"]),
            deposits_24h=deposits(data["deposits_24h"]),
            award_day=data["award_day"],
            awards_today=tuple(tuple(a) for a in data["awards_today"]),
            awards_flagged=data["awards_flagged"],
        )


@dataclass(frozen=True)
class RiskRules:
    loss_chasing_deposits: int = 3
    loss_chasing_window: timedelta = timedelta(hours=1)
    deposits_24h_amount: Decimal = Decimal("1000.00")
    awards_per_day: int = 10

    def judge(self, watch: Watch, activity: Activity) -> tuple[Watch, list[Flag]]:
        """The watch after ``activity``, and the flags it raises."""
        flags: list[Flag] = []
        if activity.kind == "cash_play":
            watch = self._emptied(watch, activity)
        elif activity.kind == "deposit":
            watch = self._chased(watch, activity, flags)
            watch = self._deposited(watch, activity, flags)
        elif activity.kind == "award":
            watch = self._awarded(watch, activity, flags)
        return watch, flags

    def _emptied(self, watch: Watch, spin: Activity) -> Watch:
        if spin.balance_after != 0:
            return watch
        if watch.emptied_at is not None and spin.at - watch.emptied_at <= self.loss_chasing_window:
            return watch  # emptied again within a chase already being watched: it goes on from the first time
        return replace(watch, emptied_at=spin.at, emptied_by=spin.event_id, deposits_since_empty=())

    def _chased(self, watch: Watch, deposit: Activity, flags: list[Flag]) -> Watch:
        if watch.emptied_at is None:
            return watch
        if deposit.at - watch.emptied_at > self.loss_chasing_window:
            return replace(watch, emptied_at=None, emptied_by=None, deposits_since_empty=())
        chase = (*watch.deposits_since_empty, (deposit.at, deposit.amount, deposit.event_id))
        if len(chase) < self.loss_chasing_deposits:
            return replace(watch, deposits_since_empty=chase)
        flags.append(
            Flag(
                LOSS_CHASING,
                deposit.event_id,
                {
                    "balance_emptied_at": watch.emptied_at.isoformat(),
                    "balance_emptied_by_event": watch.emptied_by,
                    "window_minutes": int(self.loss_chasing_window.total_seconds() // 60),
                    "deposits": [{"at": at.isoformat(), "amount": str(amount), "event_id": event} for at, amount, event in chase],
                },
            )
        )
        return replace(watch, emptied_at=None, emptied_by=None, deposits_since_empty=())

    def _deposited(self, watch: Watch, deposit: Activity, flags: list[Flag]) -> Watch:
        recent = (*(d for d in watch.deposits_24h if deposit.at - d[0] < DAY), (deposit.at, deposit.amount, deposit.event_id))
        total = sum((amount for _, amount, _ in recent), Decimal("0.00"))
        if total <= self.deposits_24h_amount:
            return replace(watch, deposits_24h=recent)
        flags.append(
            Flag(
                DEPOSITS_OVER_24H,
                deposit.event_id,
                {
                    "total": str(total),
                    "threshold": str(self.deposits_24h_amount),
                    "deposits": [{"at": at.isoformat(), "amount": str(amount), "event_id": event} for at, amount, event in recent],
                },
            )
        )
        return replace(watch, deposits_24h=())

    def _awarded(self, watch: Watch, award: Activity, flags: list[Flag]) -> Watch:
        day = day_key(award.at)
        if watch.award_day != day:
            watch = replace(watch, award_day=day, awards_today=(), awards_flagged=False)
        awards = (*watch.awards_today, (award.award_id or "", award.promo_id or "", award.event_id))
        if len(awards) <= self.awards_per_day or watch.awards_flagged:
            return replace(watch, awards_today=awards)
        flags.append(
            Flag(
                AWARDS_PER_DAY,
                award.event_id,
                {
                    "day": day[1:],
                    "threshold": self.awards_per_day,
                    "promotions": sorted({promo for _, promo, _ in awards}),
                    "awards": [{"award_id": award_id, "promo_id": promo, "event_id": event} for award_id, promo, event in awards],
                },
            )
        )
        return replace(watch, awards_today=awards, awards_flagged=True)
