"""Deposits and withdrawals on PostgreSQL: idempotent on the transaction id, never negative."""

from decimal import Decimal

import pytest

from domain.errors import IdempotencyKeyReused, InsufficientFunds, PlayerNotFound, PlayerSelfExcluded, ValidationFailed
from domain.requests import FundsRequest
from tests.support import adult, unique


def funds(player_id, kind="deposit", amount="100.00", transaction_id=None, currency="CAD"):
    return FundsRequest(player_id, kind, transaction_id or unique("tx"), Decimal(amount), currency)


@pytest.fixture
def player_id(ledger):
    player_id = unique("player")
    ledger.register_player(player_id, adult())
    return player_id


def test_a_deposit_credits_the_balance_and_says_what_it_is(ledger, player_id):
    outcome = ledger.move_funds(funds(player_id, amount="125.40"))
    assert not outcome.replayed
    assert outcome.receipt.balance == Decimal("125.40") and outcome.receipt.kind == "deposit"
    assert ledger.get_player(player_id).balance == Decimal("125.40")


def test_a_replayed_deposit_returns_the_original_receipt_and_credits_nothing(ledger, player_id, clock):
    request = funds(player_id, amount="10.00")
    first = ledger.move_funds(request)
    ledger.move_funds(funds(player_id, amount="5.00"))
    clock.advance(days=40)
    again = ledger.move_funds(request)
    assert again.replayed and again.receipt == first.receipt
    assert ledger.get_player(player_id).balance == Decimal("15.00")


def test_the_same_transaction_id_with_another_amount_is_refused(ledger, player_id):
    ledger.move_funds(funds(player_id, amount="10.00", transaction_id="tx-1"))
    with pytest.raises(IdempotencyKeyReused) as refused:
        ledger.move_funds(funds(player_id, amount="11.00", transaction_id="tx-1"))
    assert refused.value.field == "transaction_id"
    with pytest.raises(IdempotencyKeyReused):
        ledger.move_funds(funds(player_id, kind="withdrawal", amount="10.00", transaction_id="tx-1"))
    assert ledger.get_player(player_id).balance == Decimal("10.00")


def test_a_withdrawal_beyond_the_balance_is_refused_and_the_id_stays_free(ledger, player_id):
    ledger.move_funds(funds(player_id, amount="20.00"))
    with pytest.raises(InsufficientFunds):
        ledger.move_funds(funds(player_id, kind="withdrawal", amount="20.01", transaction_id="w-1"))
    outcome = ledger.move_funds(funds(player_id, kind="withdrawal", amount="20.00", transaction_id="w-1"))
    assert outcome.receipt.balance == Decimal("0.00") and not outcome.replayed


def test_money_in_another_currency_than_the_players_is_refused(ledger, player_id):
    with pytest.raises(ValidationFailed) as refused:
        ledger.move_funds(funds(player_id, currency="EUR"))
    assert refused.value.field == "currency"


def test_a_self_excluded_player_cannot_deposit_but_can_withdraw(ledger, player_id):
    ledger.move_funds(funds(player_id, amount="30.00"))
    ledger.start_self_exclusion(player_id, "6m")
    with pytest.raises(PlayerSelfExcluded):
        ledger.move_funds(funds(player_id))
    assert ledger.move_funds(funds(player_id, kind="withdrawal", amount="30.00")).receipt.balance == Decimal("0.00")


def test_money_for_an_unknown_player_is_refused(ledger):
    with pytest.raises(PlayerNotFound):
        ledger.move_funds(funds("nobody"))


@pytest.mark.parametrize("amount", ["0.00", "-1.00"])
def test_a_zero_or_negative_amount_is_refused(amount):
    with pytest.raises(ValidationFailed) as refused:
        funds("p", amount=amount)
    assert refused.value.field == "amount"
