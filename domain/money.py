"""Money: ``Decimal`` amounts carried as strings with exactly two decimals."""

from __future__ import annotations

import re
from decimal import Decimal

from domain.errors import ValidationFailed

CENT = Decimal("0.01")
_AMOUNT = re.compile(r"^(0|[1-9][0-9]{0,11})\.[0-9]{2}$")

# ISO 4217 currencies with two minor units that the service accepts.
CURRENCIES = frozenset({"AUD", "BRL", "CAD", "CHF", "DKK", "EUR", "GBP", "MXN", "NOK", "NZD", "PLN", "SEK", "USD", "ZAR"})


def parse_amount(text: object, field: str) -> Decimal:
    """Parses a money string such as ``"1.10"``; anything else names ``field`` in the error."""
    if not isinstance(text, str):
        raise ValidationFailed(f'{field} must be a decimal string such as "1.00", not a JSON number', field=field)
    if not _AMOUNT.fullmatch(text):
        raise ValidationFailed(f'{field} must be a decimal string with exactly two decimals, such as "1.00"', field=field)
    return Decimal(text)


def format_amount(amount: Decimal) -> str:
    return str(amount.quantize(CENT))


def check_currency(code: object, field: str = "currency") -> str:
    if not isinstance(code, str) or code not in CURRENCIES:
        raise ValidationFailed(f"{field} must be one of {', '.join(sorted(CURRENCIES))}", field=field)
    return code


# Gold coins: the social-casino play currency. Counted as money is (two decimals, ``Decimal``), but no ISO
# currency and never convertible to cash, so never summed with money.
COIN_CURRENCY = "GC"
MAX_COINS = Decimal("999999999999.99")


def check_coins(value: object, field: str) -> Decimal:
    """A positive amount of coins, two decimals at most."""
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValidationFailed(f'{field} must be a decimal string of coins such as "500.00"', field=field)
    if value <= 0:
        raise ValidationFailed(f"{field} must be greater than zero", field=field)
    if value != value.quantize(CENT) or value > MAX_COINS:
        raise ValidationFailed(f"{field} must have two decimals at most and be at most {MAX_COINS}", field=field)
    return value
