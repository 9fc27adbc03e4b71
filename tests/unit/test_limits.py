from datetime import datetime, timedelta, timezone
from decimal import Decimal

from domain.limits import RAISE_DELAY, LimitChange, PendingLimit, add_to_tally, breach, cash_loss, changes_for, in_force

NOW = datetime(2026, 11, 30, 23, 0, tzinfo=timezone.utc)  # a Monday, the last day of a month


def test_a_tally_keeps_only_the_windows_of_its_latest_entry():
    tally = add_to_tally({}, Decimal("10.00"), NOW)
    assert tally == {"D2026-11-30": Decimal("10.00"), "W2026-49": Decimal("10.00"), "M2026-11": Decimal("10.00")}
    next_day = add_to_tally(tally, Decimal("5.00"), NOW + timedelta(hours=2))  # 1 December: the same week
    assert next_day == {"D2026-12-01": Decimal("5.00"), "W2026-49": Decimal("15.00"), "M2026-12": Decimal("5.00")}


def test_the_net_loss_counts_cash_play_only():
    cash_lost = {"funding": "cash", "award_id": None, "debited": Decimal("1.00"), "total_win": Decimal("0.00")}
    cash_won = {**cash_lost, "total_win": Decimal("2.50")}
    bonus_of_cash = {"funding": "bonus", "award_id": None, "debited": Decimal("0.00"), "total_win": Decimal("4.00")}
    bonus_of_award = {**bonus_of_cash, "award_id": "a"}
    promotional = {"funding": "award", "award_id": "a", "debited": Decimal("0.00"), "total_win": Decimal("3.00")}
    assert [cash_loss(s) for s in (cash_lost, cash_won, bonus_of_cash, bonus_of_award, promotional)] == [
        Decimal("1.00"), Decimal("-1.50"), Decimal("-4.00"), Decimal("0.00"), Decimal("0.00")]


def test_stricter_applies_now_and_looser_waits_a_day():
    limits = {"deposit_daily": Decimal("50.00")}
    assert changes_for({"deposit_daily": Decimal("40.00")}, limits, {}, NOW) == [LimitChange("deposit_daily", Decimal("40.00"), NOW)]
    assert changes_for({"loss_daily": Decimal("40.00")}, limits, {}, NOW) == [LimitChange("loss_daily", Decimal("40.00"), NOW)]
    assert changes_for({"deposit_daily": Decimal("60.00")}, limits, {}, NOW) == [LimitChange("deposit_daily", Decimal("60.00"), NOW + RAISE_DELAY)]
    assert changes_for({"deposit_daily": None}, limits, {}, NOW) == [LimitChange("deposit_daily", None, NOW + RAISE_DELAY)]
    assert changes_for({"deposit_daily": Decimal("50.00"), "loss_weekly": None}, limits, {}, NOW) == []  # nothing changes


def test_a_pending_change_takes_effect_at_its_instant():
    pending = {"deposit_daily": PendingLimit("deposit_daily", None, NOW + RAISE_DELAY)}
    limits = {"deposit_daily": Decimal("50.00")}
    assert in_force(limits, pending, NOW + RAISE_DELAY - timedelta(microseconds=1)) == limits
    assert in_force(limits, pending, NOW + RAISE_DELAY) == {}


def test_a_breach_names_the_limits_passed_and_the_latest_end_of_their_windows():
    tally = add_to_tally({}, Decimal("90.00"), NOW)
    limits = {"deposit_daily": Decimal("100.00"), "deposit_monthly": Decimal("95.00"), "deposit_weekly": Decimal("500.00")}
    assert breach(limits, ("deposit_daily", "deposit_weekly", "deposit_monthly"), tally, Decimal("5.00"), NOW) is None
    passed = breach(limits, ("deposit_daily", "deposit_weekly", "deposit_monthly"), tally, Decimal("10.01"), NOW)
    assert passed is not None and passed.limits == ("deposit_daily", "deposit_monthly")
    assert passed.until == datetime(2026, 12, 1, tzinfo=timezone.utc)
