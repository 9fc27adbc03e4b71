"""Regions (ISO 3166) and the minimum gambling age of each.

A region is an ISO 3166-1 alpha-2 country (``GB``) or an ISO 3166-2 subdivision (``CA-ON``), in capitals. Which
codes exist is data that changes (ISO publishes amendments): the Application is handed a ``RegionCodes`` catalogue
(``app.regions``, over a maintained ISO 3166 package) rather than the domain keeping a list of its own.
"""

from __future__ import annotations

import re
from typing import Protocol

from domain.errors import ValidationFailed

_SUBDIVISION = re.compile(r"^[A-Z]{2}-[A-Z0-9]{1,3}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")

DEFAULT_MINIMUM_AGE = 18
# Canada: 19 everywhere except Alberta, Manitoba and Quebec, where it is 18; a player known only to be in Canada
# is held to 19, the higher age.
MINIMUM_AGE_BY_REGION = {
    "CA": 19,
    "CA-AB": 18,
    "CA-BC": 19,
    "CA-MB": 18,
    "CA-NB": 19,
    "CA-NL": 19,
    "CA-NS": 19,
    "CA-NT": 19,
    "CA-NU": 19,
    "CA-ON": 19,
    "CA-PE": 19,
    "CA-QC": 18,
    "CA-SK": 19,
    "CA-YT": 19,
}


class RegionCodes(Protocol):
    """The ISO 3166 codes that exist."""

    def is_country(self, code: str) -> bool: ...

    def is_subdivision(self, code: str) -> bool: ...


def check_region(region: object, codes: RegionCodes, field: str) -> str:
    """A country (``GB``) or a subdivision (``CA-ON``) that ISO 3166 has."""
    if not isinstance(region, str) or not (_COUNTRY.fullmatch(region) or _SUBDIVISION.fullmatch(region)):
        raise ValidationFailed(
            f'{field} must be an ISO 3166-1 country code ("GB") or an ISO 3166-2 subdivision code ("CA-ON"), in capitals',
            field=field,
        )
    known = codes.is_country(region) if _COUNTRY.fullmatch(region) else codes.is_subdivision(region)
    if not known:
        kind = "country" if _COUNTRY.fullmatch(region) else "subdivision"
        raise ValidationFailed(f"{field}: {region!r} is not an ISO 3166 {kind} code", field=field)
    return region


def region_allowed(region: str, allowed: list[str]) -> bool:
    """A promotion allowing a country allows each of its subdivisions; one allowing a subdivision, only it."""
    country = region.split("-", 1)[0]
    return region in allowed or country in allowed


def minimum_age(region: str) -> int:
    return MINIMUM_AGE_BY_REGION.get(region, DEFAULT_MINIMUM_AGE)
