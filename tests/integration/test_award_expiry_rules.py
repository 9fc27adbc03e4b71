"""The expiry job's use case on PostgreSQL: an award past its instant with spins left is recorded
expired once, with its forfeited count; one about to expire is noticed once."""

from datetime import timedelta
from uuid import UUID

import pytest

from tests.support import adult, award_request, terms, unique


@pytest.fixture
def granted(ledger, clock):
    player_id, promo_id = unique("player"), unique("promo")
    ledger.register_player(player_id, adult())
    ledger.define_promotion(promo_id, terms(budget_spins=100))
    outcome = ledger.award_free_spins(award_request(player_id, promo_id, award_value=7))
    return ledger.get_award(UUID(outcome.receipt.award_id))


def recorded(ledger, award_id, name):
    return [e for e in ledger.events.get(award_id) if type(e).__name__ == name]


def test_an_award_past_its_instant_is_recorded_expired_once_with_its_unplayed_spins(ledger, granted, clock):
    award_id = UUID(granted.award_id)
    clock.set(granted.expires_at - timedelta(seconds=1))
    assert ledger.expire_awards([award_id]) == (0, 0)  # a second early: nothing
    clock.set(granted.expires_at)
    assert ledger.expire_awards([award_id]) == (1, 0)
    assert ledger.expire_awards([award_id]) == (0, 0)  # once
    (expired,) = recorded(ledger, award_id, "AwardExpired")
    assert expired.spins_forfeited == 7 and expired.expired_at == granted.expires_at
    status = ledger.get_award(award_id)
    assert status.status == "expired" and status.spins_forfeited == 7 and status.spins_remaining == 0


def test_a_cancelled_award_is_never_recorded_expired(ledger, granted, clock):
    award_id = UUID(granted.award_id)
    ledger.cancel_award(award_id, "withdrawn")
    clock.set(granted.expires_at + timedelta(days=1))
    assert ledger.expire_awards([award_id]) == (0, 0)
    assert recorded(ledger, award_id, "AwardExpired") == []


def test_an_award_about_to_expire_is_noticed_once_then_expired(ledger, granted, clock):
    notice, award_id = timedelta(hours=24), UUID(granted.award_id)
    clock.set(granted.expires_at - notice - timedelta(seconds=1))
    assert ledger.expire_awards([award_id], notice) == (0, 0)
    clock.set(granted.expires_at - notice)
    assert ledger.expire_awards([award_id], notice) == (0, 1)
    assert ledger.expire_awards([award_id], notice) == (0, 0)
    (soon,) = recorded(ledger, award_id, "AwardExpiringSoon")
    assert soon.spins_left == 7 and soon.expires_at == granted.expires_at
    clock.set(granted.expires_at)
    assert ledger.expire_awards([award_id], notice) == (1, 0)
