"""The ISO 3166 codes that exist, from ``pycountry`` (a maintained copy of ISO 3166-1 and 3166-2, from Debian's
iso-codes): the catalogue the Application checks regions against (``domain.regions.RegionCodes``)."""

from __future__ import annotations

import pycountry


class Iso3166:
    def is_country(self, code: str) -> bool:
        return pycountry.countries.get(alpha_2=code) is not None

    def is_subdivision(self, code: str) -> bool:
        # pycountry matches codes whatever their case: the domain has already required capitals.
        return pycountry.subdivisions.get(code=code) is not None
