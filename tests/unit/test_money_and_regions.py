from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from domain.errors import ValidationFailed
from domain.money import format_amount, parse_amount
from app.regions import Iso3166
from domain.regions import MINIMUM_AGE_BY_REGION, check_region, minimum_age, region_allowed
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


CANADA = sorted(code for code in MINIMUM_AGE_BY_REGION if code.startswith("CA-"))


@pytest.mark.parametrize("region", [code for code in CANADA if code not in ("CA-AB", "CA-MB", "CA-QC")])
def test_every_other_canadian_province_and_territory_requires_19(region):
    assert minimum_age(region) == 19


def test_the_age_table_names_each_of_canadas_provinces_and_territories_as_iso_3166_has_them():
    import pycountry

    assert CANADA == sorted(s.code for s in pycountry.subdivisions.get(country_code="CA"))
    assert minimum_age("CA") == 19  # in Canada, province unknown: the higher age


@pytest.mark.parametrize("region", ["GB", "GB-ENG", "US-NY", "DE"])
def test_a_region_outside_the_table_requires_18(region):
    assert minimum_age(region) == 18


def test_a_country_code_allows_all_of_its_subdivisions():
    assert region_allowed("CA-ON", ["CA"])
    assert region_allowed("CA-ON", ["CA-ON"])
    assert not region_allowed("CA-QC", ["CA-ON", "US"])


@pytest.mark.parametrize("region", ["GB", "CA-ON", "US-NY", "CA", "GB-SCT", "FR-75C"])
def test_a_region_is_an_iso_3166_country_or_subdivision(region):
    assert check_region(region, Iso3166(), "region") == region


@pytest.mark.parametrize("bad", ["ZZ-99", "XX", "ca-on", "gb", "CA-XX", "CANADA", "UK", "", " GB", 7, None])
@pytest.mark.parametrize("field", ["region", "allowed_regions"])
def test_a_code_iso_3166_does_not_have_is_refused_naming_the_field(bad, field):
    with pytest.raises(ValidationFailed) as refused:
        check_region(bad, Iso3166(), field)
    assert refused.value.field == field and field in refused.value.message


def test_a_utc_week_ends_on_the_next_monday_at_midnight():
    wednesday = datetime(2026, 11, 18, 10, 0, tzinfo=timezone.utc)
    assert week_end(wednesday) == datetime(2026, 11, 23, tzinfo=timezone.utc)
    sunday_night = datetime(2026, 11, 22, 23, 59, tzinfo=timezone.utc)
    assert week_end(sunday_night) == datetime(2026, 11, 23, tzinfo=timezone.utc)
    assert day_end(wednesday) == datetime(2026, 11, 19, tzinfo=timezone.utc)


def test_adding_months_clamps_to_the_end_of_a_shorter_month():
    assert add_months(datetime(2026, 8, 31, tzinfo=timezone.utc), 6) == datetime(2027, 2, 28, tzinfo=timezone.utc)
    assert add_months(datetime(2026, 1, 15, tzinfo=timezone.utc), 60).date() == date(2031, 1, 15)


def test_the_readmes_age_table_is_the_one_the_rules_apply():
    import re
    from pathlib import Path

    readme = Path(__file__).resolve().parents[2].joinpath("README.md").read_text()
    table = readme[readme.index("| region | minimum age |"):].split("\n\n", 1)[0]
    stated = {}
    for row in table.splitlines()[2:]:
        codes, age = row.strip("|").split("|")
        if "every other" not in codes:
            for code in re.findall(r"`([A-Z]{2}(?:-[A-Z0-9]{1,3})?)`", codes):
                stated[code] = int(age.split(",")[0])
    assert stated == MINIMUM_AGE_BY_REGION
