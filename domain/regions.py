"""Regions (ISO 3166) and the minimum gambling age of each."""

from __future__ import annotations

import re

from domain.errors import ValidationFailed

_SUBDIVISION = re.compile(r"^[A-Z]{2}-[A-Z0-9]{1,3}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")

CANADIAN_SUBDIVISIONS = frozenset(
    {"CA-AB", "CA-BC", "CA-MB", "CA-NB", "CA-NL", "CA-NS", "CA-NT", "CA-NU", "CA-ON", "CA-PE", "CA-QC", "CA-SK", "CA-YT"}
)

DEFAULT_MINIMUM_AGE = 18
# Canada: 19 everywhere except Alberta, Manitoba and Quebec, where it is 18.
MINIMUM_AGE_BY_REGION = {code: 19 for code in CANADIAN_SUBDIVISIONS} | {"CA-AB": 18, "CA-MB": 18, "CA-QC": 18}


def check_player_region(region: object, field: str = "region") -> str:
    """A player's region is an ISO 3166-2 subdivision such as ``CA-ON``."""
    if not isinstance(region, str) or not _SUBDIVISION.fullmatch(region):
        raise ValidationFailed(f"{field} must be an ISO 3166-2 subdivision code such as \"CA-ON\"", field=field)
    if region.startswith("CA-") and region not in CANADIAN_SUBDIVISIONS:
        raise ValidationFailed(f"{field} {region!r} is not a Canadian province or territory", field=field)
    return region


def check_allowed_region(region: object, field: str = "allowed_regions") -> str:
    """A promotion may allow a whole country (``CA``) or one subdivision (``CA-ON``)."""
    if not isinstance(region, str) or not (_COUNTRY.fullmatch(region) or _SUBDIVISION.fullmatch(region)):
        raise ValidationFailed(f"{field} entries must be ISO 3166-1 (\"CA\") or ISO 3166-2 (\"CA-ON\") codes", field=field)
    return region


def region_allowed(region: str, allowed: list[str]) -> bool:
    country = region.split("-", 1)[0]
    return region in allowed or country in allowed


def minimum_age(region: str) -> int:
    return MINIMUM_AGE_BY_REGION.get(region, DEFAULT_MINIMUM_AGE)
