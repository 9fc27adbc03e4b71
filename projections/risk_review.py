"""Risk review, run in the worker: a follower of the store that judges each player event by the rules of
``domain.risk`` and raises their flags on the player's stream (``RiskFlagRaised``), and the list of reviews those
flags opened, with their decisions (``ReviewDecided``), for compliance.

What the rules keep of each player (``risk_watch``) is written with the batch's position, in one transaction:
each event is judged once. A flag is recorded on the player before that transaction commits; judged again after
a crash, the same event raises the same review id, which the player records once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from domain.ids import event_id_text
from domain.player import Player
from domain.risk import Activity, RiskRules, Watch, review_id_for
from domain.slot.rounds import CASH
from projections.view import BatchProjection, View

# Records a flag on the player's stream: (player stream, review id, rule, evidence) -> recorded now.
RaiseFlag = Callable[[UUID, UUID, str, dict[str, Any]], bool]
JUDGED = (Player.FundsDeposited, Player.SpinSettled, Player.AwardReceived, Player.GoldCoinsReceived)
LISTED = (Player.RiskFlagRaised, Player.ReviewDecided)


def activity_of(event: Any) -> Activity | None:
    event_id = event_id_text(str(event.originator_id), event.originator_version)
    if isinstance(event, Player.FundsDeposited):
        return Activity("deposit", event_id, event.timestamp, amount=event.amount)
    if isinstance(event, Player.SpinSettled) and event.spin["funding"] == CASH:
        return Activity("cash_play", event_id, event.timestamp, balance_after=event.spin["balance_after"])
    if isinstance(event, (Player.AwardReceived, Player.GoldCoinsReceived)):  # an award of coins is an award all the same
        return Activity("award", event_id, event.timestamp, award_id=event.award_id, promo_id=event.promo_id)
    return None


class RiskReviewView(View):
    name = "risk_review"
    tables = ("risk_watch", "risk_reviews")
    indexes = ("risk_reviews_listed", "risk_reviews_player")

    def __init__(self, *args: Any, rules: RiskRules | None = None, raise_flag: RaiseFlag | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.rules, self.raise_flag = rules, raise_flag  # none: a view read for its position only (its lag)

    def write(self, cursor: Cursor[DictRow], events: list[Any], positions: list[int]) -> None:
        if self.rules is None or self.raise_flag is None:
            raise RuntimeError("the risk review judges events only with its rules and a way to raise their flags")
        streams = list({event.originator_id for event in events if isinstance(event, JUDGED)})
        watches = (
            {
                row["stream_id"]: Watch.from_json(row["state"])
                for row in cursor.execute(f"SELECT stream_id, state FROM {self.table('risk_watch')} WHERE stream_id = ANY(%s)", [streams])
            }
            if streams
            else {}
        )
        changed: set[UUID] = set()
        for event, position in zip(events, positions, strict=True):
            if isinstance(event, Player.RiskFlagRaised):
                cursor.execute(
                    f"INSERT INTO {self.table('risk_reviews')} (review_id, stream_id, player_id, rule, evidence, raised_at, position, status)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, 'open') ON CONFLICT (review_id) DO NOTHING",
                    [event.review_id, event.originator_id, event.player_id, event.rule, Jsonb(event.evidence), event.timestamp, position],
                )
            elif isinstance(event, Player.ReviewDecided):
                cursor.execute(
                    f"UPDATE {self.table('risk_reviews')} SET status = %s, decision = %s, note = %s, decided_by = %s, decided_at = %s"
                    " WHERE review_id = %s",
                    [
                        "cleared" if event.decision == "clear" else "kept_paused",
                        event.decision,
                        event.note,
                        event.decided_by,
                        event.timestamp,
                        event.review_id,
                    ],
                )
            elif (activity := activity_of(event)) is not None:
                watch, flags = self.rules.judge(watches.get(event.originator_id, Watch()), activity)
                watches[event.originator_id] = watch
                changed.add(event.originator_id)
                for flag in flags:
                    self.raise_flag(event.originator_id, review_id_for(event.originator_id, flag.rule, flag.event_id), flag.rule, flag.evidence)
        if changed:
            ids = list(changed)
            cursor.execute(
                f"INSERT INTO {self.table('risk_watch')} (stream_id, state) SELECT * FROM unnest(%s::uuid[], %s::jsonb[])"
                " ON CONFLICT (stream_id) DO UPDATE SET state = EXCLUDED.state",
                [ids, [Jsonb(watches[i].as_json()) for i in ids]],
            )


class RiskReviewProjection(BatchProjection):
    name = "risk_review"
    topics = tuple(get_topic(cls) for cls in (*JUDGED, *LISTED))


REVIEW_COLUMNS = "review_id::text, player_id, rule, evidence, raised_at, status, decision, note, decided_by, decided_at, position"


class Reviews:
    """The reviews, as the risk review has applied them (its lag behind the store is in ``/readyz``)."""

    def __init__(self, datastore: Any):
        self.datastore = datastore

    def page(self, status: str | None, after: int | None, limit: int) -> tuple[list[dict[str, Any]], int | None]:
        """Newest first; the position to page on from, if there are more."""
        where = ["true"]
        params: dict[str, Any] = {"limit": limit + 1}
        if status is not None:
            where.append("status = %(status)s")
            params["status"] = status
        if after is not None:
            where.append("position < %(after)s")
            params["after"] = after
        with self.datastore.get_connection() as conn:
            rows = conn.execute(
                f"SELECT {REVIEW_COLUMNS} FROM risk_reviews WHERE {' AND '.join(where)} ORDER BY position DESC LIMIT %(limit)s",
                params,
            ).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        return rows, rows[-1]["position"] if more else None

    def find(self, review_id: str) -> dict[str, Any] | None:
        with self.datastore.get_connection() as conn:
            row: dict[str, Any] | None = conn.execute(f"SELECT {REVIEW_COLUMNS} FROM risk_reviews WHERE review_id = %s", [review_id]).fetchone()
        return row
