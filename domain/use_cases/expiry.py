"""Use case of the worker's expiry job: record ``AwardExpired`` for awards past their instant with spins left,
and ``AwardExpiringSoon`` for those about to be, each once, without waiting for a player to try a spin."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from uuid import UUID

from domain.award import Award
from domain.clock import Clock
from domain.streams import Streams, retrying


class Expiry:
    def __init__(self, streams: Streams, clock: Clock):
        self._streams = streams
        self.clock = clock

    def expire_awards(self, award_ids: Iterable[UUID], notice: timedelta | None = None) -> tuple[int, int]:
        """Of these awards, records the expiry of those expired, and (with ``notice``) the notice of those
        expiring within it; returns how many of each were recorded. An award is saved on its own, so a
        player's spin saved meanwhile only makes this one try again."""
        expired = noticed = 0
        for award_id in award_ids:

            def attempt(award_id: UUID = award_id) -> tuple[bool, bool]:
                now = self.clock.now()
                award = self._streams.load_one(award_id)
                if not isinstance(award, Award):
                    return False, False
                did_expire = award.expire(now)
                did_notice = not did_expire and notice is not None and award.notice_expiry(now, notice)
                if did_expire or did_notice:
                    self._streams.save(award)
                return did_expire, did_notice

            did_expire, did_notice = retrying(attempt)
            expired += did_expire
            noticed += did_notice
        return expired, noticed
