"""The webhook tables: subscriptions, and the outbox of deliveries (one per matching event and subscription).

A delivery is ``pending`` until its endpoint answers 2xx (``delivered``) or it has been retried for
``RETRY_HOURS`` (``dead``, until re-driven); a deleted subscription's undelivered ones are ``cancelled``.
A sender claims due deliveries by pushing their ``next_attempt_at`` a lease ahead, so a sender killed
mid-delivery leaves them due again once the lease runs out: the same ``Webhook-Id`` is sent again, and
nothing is lost.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Sequence
from uuid import UUID, uuid4

from eventsourcing.postgres import PostgresDatastore

from domain.errors import ValidationFailed
from domain.paging import Page
from projections.webhook_outbox import CANCELLED, DEAD, DELIVERED, OUTBOX_LOCK_KEY, PENDING

STATUSES = (PENDING, DELIVERED, DEAD, CANCELLED)
RETRY_HOURS = 26  # at least a day of retries, whatever the backoff's last step
# A claimed delivery is due again after this if its sender never reports: longer than a lane's queue (64) takes
# through its 8 threads when every request times out (10 s each).
LEASE = timedelta(seconds=120)
CURSOR = re.compile(r"^(\d{1,19})-([0-9a-f]{32})$")
SUBSCRIPTION_COLUMNS = "id, url, event_types, description, key_name, created_at, deleted_at"
DELIVERY_COLUMNS = ("id, event_id, event_type, position, status, attempts, created_at, next_attempt_at, last_attempt_at, "
                    "last_status, last_error, delivered_at")


@dataclass(frozen=True)
class Claimed:
    id: UUID
    subscription_id: UUID
    url: str
    secret: str
    body: str
    attempts: int  # including the one now claimed: the claim's token (a report of an older claim is ignored)
    retrying_since: datetime  # enqueued, or re-driven


@dataclass(frozen=True)
class Outcome:
    delivery_id: UUID
    status: int | None  # the HTTP status the endpoint answered, None when it did not
    error: str | None  # why it failed; None when delivered
    next_attempt_at: datetime | None  # when to try again; None when delivered or dead
    dead: bool = False
    attempts: int = 0  # of the claim this is the outcome of


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


class WebhookStore:
    def __init__(self, datastore: PostgresDatastore, *, lease: timedelta = LEASE):
        self._datastore = datastore
        self.lease = lease

    # Subscriptions

    def subscribe(self, *, url: str, event_types: list[str], description: str | None, key_name: str | None,
                  now: datetime) -> dict[str, Any]:
        """A new subscription, for events recorded from now on; with its secret, which is shown only here."""
        secret = new_secret()
        with self._datastore.transaction(commit=True) as conn:
            # Under the outbox's lock: every batch it writes after this sees the subscription, and those it
            # wrote before end at or below the position the subscription starts after.
            conn.execute("SELECT pg_advisory_xact_lock(%s)", [OUTBOX_LOCK_KEY])
            row = conn.execute(
                f"""INSERT INTO webhook_subscriptions (id, url, event_types, description, secret, key_name, created_at, from_position)
                    VALUES (%s, %s, %s, %s, %s, %s, %s, (SELECT coalesce(max(notification_id), 0) FROM spinledger_events))
                    RETURNING {SUBSCRIPTION_COLUMNS}""",
                [uuid4(), url, sorted(set(event_types)), description, secret, key_name, now],
            ).fetchone()
        return {**row, "secret": secret}

    def subscription(self, subscription_id: UUID) -> dict[str, Any] | None:
        with self._datastore.get_connection() as conn:
            return conn.execute(f"SELECT {SUBSCRIPTION_COLUMNS} FROM webhook_subscriptions WHERE id = %s AND deleted_at IS NULL",
                                [subscription_id]).fetchone()

    def subscriptions(self, after: str | None, limit: int) -> Page[dict[str, Any]]:
        where, params = "deleted_at IS NULL", {"limit": limit + 1}
        if after is not None:
            where += " AND (created_at, id) < (%(at)s, %(id)s)"
            micros, params["id"] = _parse_cursor(after)
            params["at"] = EPOCH + timedelta(microseconds=micros)
        with self._datastore.get_connection() as conn:
            rows = conn.execute(f"SELECT {SUBSCRIPTION_COLUMNS} FROM webhook_subscriptions WHERE {where} "
                                f"ORDER BY created_at DESC, id DESC LIMIT %(limit)s", params).fetchall()
        return _page(rows, limit, lambda row: _cursor((row["created_at"] - EPOCH) // timedelta(microseconds=1), row["id"]))

    def unsubscribe(self, subscription_id: UUID, now: datetime) -> bool:
        """Stops the subscription: no new deliveries, and those not yet delivered are cancelled."""
        with self._datastore.transaction(commit=True) as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [OUTBOX_LOCK_KEY])  # no batch enqueues for it after this
            cursor.execute("UPDATE webhook_subscriptions SET deleted_at = %s WHERE id = %s AND deleted_at IS NULL", [now, subscription_id])
            if cursor.rowcount == 0:
                return False
            # Rows locked in id order, as ``report`` locks them: a sender reporting while this runs waits, never deadlocks.
            cursor.execute("""UPDATE webhook_deliveries SET status = %s WHERE id IN (
                                  SELECT id FROM webhook_deliveries WHERE subscription_id = %s AND status IN (%s, %s)
                                  ORDER BY id FOR UPDATE)""",
                           [CANCELLED, subscription_id, PENDING, DEAD])
        return True

    # Deliveries

    def deliveries(self, subscription_id: UUID, status: str | None, after: str | None, limit: int) -> Page[dict[str, Any]]:
        """Newest event first."""
        where, params = ["subscription_id = %(sub)s"], {"sub": subscription_id, "limit": limit + 1, "status": status}
        if status is not None:
            where.append("status = %(status)s")
        if after is not None:
            params["position"], params["id"] = _parse_cursor(after)
            where.append("(position, id) < (%(position)s, %(id)s)")
        with self._datastore.get_connection() as conn:
            rows = conn.execute(f"SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE {' AND '.join(where)} "
                                f"ORDER BY position DESC, id DESC LIMIT %(limit)s", params).fetchall()
        return _page(rows, limit, lambda row: _cursor(row["position"], row["id"]))

    def redeliver(self, subscription_id: UUID, delivery_ids: Sequence[UUID] | None, now: datetime) -> int:
        """Makes dead deliveries (or the given ones, delivered or dead) due now, with a fresh day of retries."""
        only = "AND id = ANY(%(ids)s)" if delivery_ids is not None else "AND status = 'dead'"
        with self._datastore.get_connection() as conn:
            return conn.execute(
                f"""UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = %(now)s, retrying_since = %(now)s, attempts = 0
                    WHERE subscription_id = %(sub)s AND status IN ('dead', 'delivered') {only}""",
                {"sub": subscription_id, "ids": list(delivery_ids or []), "now": now},
            ).rowcount

    def claim(self, now: datetime, *, per_subscription: int, room: dict[UUID, int] | None = None) -> list[Claimed]:
        """Due deliveries, at most ``per_subscription`` of each live subscription (``room[id]`` of those the
        caller is still busy with), each leased to the caller for ``lease``: a slow endpoint's backlog never
        crowds out the others'."""
        room = {sub: left for sub, left in (room or {}).items()}
        with self._datastore.transaction(commit=True) as cursor:
            # Retried past the horizon with no outcome ever reported (its senders kept dying): dead, not leased again.
            cursor.execute(
                """UPDATE webhook_deliveries SET status = 'dead', last_error = coalesce(last_error, 'no outcome was ever reported')
                   WHERE status = 'pending' AND next_attempt_at <= %(now)s AND retrying_since < %(horizon)s""",
                {"now": now, "horizon": now - timedelta(hours=RETRY_HOURS)},
            )
            cursor.execute(
                """UPDATE webhook_deliveries d SET next_attempt_at = %(lease_end)s, attempts = d.attempts + 1, last_attempt_at = %(now)s
                   FROM (SELECT due.id, s.url, s.secret FROM webhook_subscriptions s
                         LEFT JOIN unnest(%(subs)s::uuid[], %(rooms)s::int[]) AS r(sub, room) ON r.sub = s.id
                         CROSS JOIN LATERAL (
                             SELECT w.id FROM webhook_deliveries w
                             WHERE w.subscription_id = s.id AND w.status = 'pending' AND w.next_attempt_at <= %(now)s
                             ORDER BY w.next_attempt_at LIMIT coalesce(r.room, %(per)s) FOR UPDATE SKIP LOCKED) AS due
                         WHERE s.deleted_at IS NULL AND coalesce(r.room, %(per)s) > 0) AS claimed
                   WHERE d.id = claimed.id
                   RETURNING d.id, d.subscription_id, claimed.url, claimed.secret, d.body, d.attempts, d.retrying_since""",
                {"now": now, "lease_end": now + self.lease, "per": per_subscription, "subs": list(room), "rooms": list(room.values())},
            )
            return [Claimed(**row) for row in cursor.fetchall()]

    def report(self, outcomes: Sequence[Outcome], now: datetime) -> None:
        """What the claimed deliveries' attempts came to, in one statement."""
        if not outcomes:
            return
        with self._datastore.transaction(commit=True) as cursor:
            cursor.execute(
                """UPDATE webhook_deliveries d SET
                       status = CASE WHEN o.delivered THEN 'delivered' WHEN o.dead THEN 'dead' ELSE 'pending' END,
                       delivered_at = CASE WHEN o.delivered THEN %(now)s END,
                       next_attempt_at = coalesce(o.next_attempt_at, d.next_attempt_at),
                       last_status = o.status, last_error = o.error
                   FROM unnest(%(ids)s::uuid[], %(statuses)s::int[], %(errors)s::text[], %(nexts)s::timestamptz[],
                               %(delivered)s::bool[], %(dead)s::bool[], %(attempts)s::int[])
                        AS o(id, status, error, next_attempt_at, delivered, dead, attempts)
                   -- Only the latest claim's outcome: a sender that overran its lease reports too late. The rows are
                   -- locked in id order first, as ``unsubscribe`` locks them.
                   WHERE d.id = o.id AND d.status = 'pending' AND d.attempts = o.attempts
                     AND d.id IN (SELECT id FROM webhook_deliveries WHERE id = ANY(%(ids)s::uuid[]) ORDER BY id FOR UPDATE)""",
                {"now": now, "ids": [o.delivery_id for o in outcomes], "statuses": [o.status for o in outcomes],
                 "errors": [o.error for o in outcomes], "nexts": [o.next_attempt_at for o in outcomes],
                 "delivered": [o.error is None for o in outcomes], "dead": [o.dead for o in outcomes],
                 "attempts": [o.attempts for o in outcomes]},
            )


EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _cursor(number: int, row_id: UUID) -> str:
    return f"{number}-{row_id.hex}"


def _parse_cursor(cursor: str) -> tuple[Any, UUID]:
    match = CURSOR.fullmatch(cursor)
    if match is None:
        raise ValidationFailed("after is not a cursor of this list", field="after")
    return int(match[1]), UUID(match[2])


def _page(rows: list[dict[str, Any]], limit: int, cursor_of: Any) -> Page[dict[str, Any]]:
    has_more = len(rows) > limit
    data = rows[:limit]
    return Page(data=data, next_cursor=cursor_of(data[-1]) if has_more else None, has_more=has_more)
