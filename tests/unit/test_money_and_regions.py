from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from domain.errors import ValidationFailed
from domain.money import format_amount, parse_amount
from domain.regions import CANADIAN_SUBDIVISIONS, check_player_region, minimum_age, region_allowed
from domain.windows import add_months, day_end, week_end


def test_a_two_decimal_string_parses_to_an_exact_decimal():
    assert parse_amount("1.10", "bet") == Decimal("1.10")
    assert format_amount(Decimal("3")) == "3.00"


@pytest.mark.parametrize("bad", [1.1, 1, "1.1", "1.100", "-1.00", "1e2", "NaN", "", " 1.00", "01.00", None])
def test_anything_but_a_two_decimal_string_is_refused_naming_the_field(bad):
    with pytest.raises(ValidationFailed) as refused:
        parse_amount(bad, "bet_per_spin")
    assert refused.value.field == "bet_per_spin"
    assert "bet_per_spin" in refused.value.message


@pytest.mark.parametrize("region", ["CA-AB", "CA-MB", "CA-QC"])
def test_alberta_manitoba_and_quebec_allow_play_from_18(region):
    assert minimum_age(region) == 18


@pytest.mark.parametrize("region", sorted(CANADIAN_SUBDIVISIONS - {"CA-AB", "CA-MB", "CA-QC"}))
def test_every_other_canadian_province_and_territory_requires_19(region):
    assert minimum_age(region) == 19


def test_a_region_outside_the_table_requires_18():
    assert minimum_age("GB-ENG") == 18


def test_a_country_code_allows_all_of_its_subdivisions():
    assert region_allowed("CA-ON", ["CA"])
    assert region_allowed("CA-ON", ["CA-ON"])
    assert not region_allowed("CA-QC", ["CA-ON", "US"])


@pytest.mark.parametrize("bad", ["CA", "ca-on", "CA-XX", "CANADA", "", 7])
def test_a_player_region_must_be_a_real_iso_3166_2_subdivision(bad):
    with pytest.raises(ValidationFailed) as refused:
        check_player_region(bad)
    assert refused.value.field == "region"


def test_a_utc_week_ends_on_the_next_monday_at_midnight():
    wednesday = datetime(2026, 11, 18, 10, 0, tzinfo=timezone.utc)
    assert week_end(wednesday) == datetime(2026, 11, 23, tzinfo=timezone.utc)
    sunday_night = datetime(2026, 11, 22, 23, 59, tzinfo=timezone.utc)
    assert week_end(sunday_night) == datetime(2026, 11, 23, tzinfo=timezone.utc)
    assert day_end(wednesday) == datetime(2026, 11, 19, tzinfo=timezone.utc)


def test_adding_months_clamps_to_the_end_of_a_shorter_month():
    assert add_months(datetime(2026, 8, 31, tzinfo=timezone.utc), 6) == datetime(2027, 2, 28, tzinfo=timezone.utc)
    assert add_months(datetime(2026, 1, 15, tzinfo=timezone.utc), 60).date() == date(2031, 1, 15)
