"""Fields with the wire rules of DESIGN §4: money as two-decimal strings, UTC instants, strict integers."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from marshmallow import ValidationError, fields, validate

from app.timefmt import format_instant
from domain.errors import ValidationFailed
from domain.money import format_amount, parse_amount

EXTERNAL_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class Pattern(validate.Regexp):
    """A regular expression the whole value must match: ``re.fullmatch``, so that, unlike ``match`` with a
    closing ``$``, a value with a trailing newline does not pass. The OpenAPI document shows the pattern."""

    def __call__(self, value: Any) -> Any:
        if not isinstance(value, str) or self.regex.fullmatch(value) is None:
            raise ValidationError(self.error.format(input=value, regex=self.regex.pattern))
        return value


class Money(fields.Field):
    """A decimal string with exactly two decimals (``"1.10"``); a JSON number is refused."""

    def _serialize(self, value: Decimal | None, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else format_amount(value)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        try:
            amount = parse_amount(value, attr or "amount")
        except ValidationFailed as error:
            raise ValidationError(error.message.removeprefix(f"{attr} ")) from None
        if amount <= 0:
            raise ValidationError("must be greater than zero")
        return amount


class SpinsOrCoins(fields.Field):
    """A count of spins (a JSON integer) or an amount of gold coins (a two-decimal string such as ``"500.00"``);
    which one the award type asks for is the domain's to check. A JSON float is neither."""

    def __init__(self, *, most_spins: int, **kwargs: Any):
        metadata = {"oneOf": [{"type": "integer", "minimum": 1, "maximum": most_spins}, {"type": "string", "pattern": r"^\d+\.\d{2}$"}],
                    **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)
        self.most_spins = most_spins

    def _serialize(self, value: int | Decimal | None, attr: str | None, obj: Any, **kwargs: Any) -> int | str | None:
        return format_amount(value) if isinstance(value, Decimal) else value

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int | Decimal:
        if isinstance(value, str):
            return Money()._deserialize(value, attr, data)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError('must be a JSON integer of spins, or a decimal string of coins such as "500.00"')
        if not 1 <= value <= self.most_spins:
            raise ValidationError(f"must be from 1 to {self.most_spins} spins")
        return value


class Instant(fields.DateTime):
    """ISO-8601 with an explicit offset on input; UTC with milliseconds and ``Z`` on output."""

    def __init__(self, **kwargs: Any):
        super().__init__(format="iso", **kwargs)

    def _serialize(self, value: datetime | None, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else format_instant(value)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        if not isinstance(value, str) or len(value) > 40:
            raise ValidationError("must be an ISO-8601 date-time string such as 2026-01-01T00:00:00Z")
        parsed = super()._deserialize(value, attr, data, **kwargs)
        if parsed.tzinfo is None or parsed.utcoffset() is None:
            raise ValidationError("must carry a UTC offset, such as 2026-01-01T00:00:00Z")
        try:
            return parsed.astimezone(timezone.utc)
        except OverflowError:
            raise ValidationError("is outside the range of supported date-times") from None


class StrictInteger(fields.Integer):
    """A JSON integer: no strings, floats or booleans."""

    def __init__(self, **kwargs: Any):
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError("must be a JSON integer")
        return super()._deserialize(value, attr, data, **kwargs)


class StrictBoolean(fields.Boolean):
    """A JSON true or false: no strings or numbers."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise ValidationError("must be a JSON true or false")
        return value


class Text(fields.String):
    """Free text: printable, bounded."""

    def __init__(self, max_length: int, **kwargs: Any):
        super().__init__(validate=validate.Length(min=1, max=max_length), **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if _CONTROL.search(text):
            raise ValidationError("must not contain control characters")
        return text


def external_id(**kwargs: Any) -> fields.String:
    """An id chosen by the caller (player, promotion): letters, digits and ``. _ : -``, at most 64."""
    return fields.String(
        validate=Pattern(EXTERNAL_ID_PATTERN, error="must be 1-64 letters, digits or . _ : -"), **kwargs
    )


class Integers(fields.List):
    """A list of integers (reel stops, a payline), written out in one step instead of an item at a time
    through ``fields.Integer``: a spin's response holds dozens. The OpenAPI document still shows an array of
    integers."""

    def __init__(self, **kwargs: Any):
        super().__init__(fields.Integer(), **kwargs)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> list[int] | None:
        return None if value is None else [int(item) for item in value]


class IntegerRows(fields.List):
    """A list of lists of integers (a grid of symbols, the paylines), written out in one step."""

    def __init__(self, **kwargs: Any):
        super().__init__(Integers(), **kwargs)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> list[list[int]] | None:
        return None if value is None else [self.inner._serialize(row, attr, obj) for row in value]
