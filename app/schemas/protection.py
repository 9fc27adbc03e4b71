"""Schemas of player protection: deposit and loss limits, cooling-off, and risk reviews."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.schemas.fields import Instant, Money, Pattern, Text
from domain.limits import LIMITS
from domain.player import COOLING_OFF_PERIODS
from domain.risk import CLEARED, DECISIONS, KEPT_PAUSED, OPEN, RULES

REVIEW_STATUSES = (OPEN, KEPT_PAUSED, CLEARED)

_WINDOWS = {"daily": "UTC day", "weekly": "ISO week (from Monday 00:00 UTC)", "monthly": "calendar month (UTC)"}


def _limit_field(name: str, **kwargs: object) -> Money:
    kind, period = name.split("_")
    what = "deposits" if kind == "deposit" else "net loss of cash play (bets less wins)"
    return Money(allow_none=True, metadata={"description": f"{what} per {_WINDOWS[period]}, in the player's currency; null: none"}, **kwargs)


LimitsRequestSchema = Schema.from_dict({name: _limit_field(name) for name in LIMITS}, name="LimitsRequest")
LimitValuesSchema = Schema.from_dict({name: _limit_field(name, required=True) for name in LIMITS}, name="LimitValues")


class PendingLimitSchema(Schema):
    limit = fields.String(required=True, metadata={"enum": list(LIMITS)})
    value = Money(allow_none=True, required=True, metadata={"description": "null: the limit is removed"})
    effective_at = Instant(required=True, metadata={"description": "when it takes the place of the limit in force"})


class LimitUseSchema(Schema):
    value = Money(allow_none=True, required=True, metadata={"description": "the limit in force; null: none"})
    used = Money(required=True, metadata={"description": "deposited, or net lost, in the current window"})
    remaining = Money(allow_none=True, required=True)
    window_ends_at = Instant(required=True)


class PlayerLimitsSchema(Schema):
    player_id = fields.String(required=True)
    currency = fields.String(required=True)
    limits = fields.Nested(LimitValuesSchema, required=True, metadata={"description": "the limits in force"})
    pending = fields.List(fields.Nested(PendingLimitSchema), required=True, metadata={"description": "higher limits and removals waiting their 24 hours"})
    used = fields.Dict(keys=fields.String(), values=fields.Nested(LimitUseSchema), required=True, metadata={"description": "each limit's current window"})


class CoolingOffRequestSchema(Schema):
    period = fields.String(required=True, validate=validate.OneOf(list(COOLING_OFF_PERIODS)))


class CoolingOffSchema(Schema):
    player_id = fields.String(required=True)
    period = fields.String(required=True)
    cooling_off_until = Instant(required=True)


class ReviewSchema(Schema):
    review_id = fields.String(required=True)
    player_id = fields.String(required=True)
    rule = fields.String(required=True, metadata={"enum": list(RULES)})
    evidence = fields.Dict(required=True, metadata={"description": "the events that raised it, as the rule saw them"})
    raised_at = Instant(required=True)
    status = fields.String(required=True, metadata={"enum": list(REVIEW_STATUSES)})
    decision = fields.String(allow_none=True, required=True, metadata={"enum": list(DECISIONS)})
    note = fields.String(allow_none=True, required=True)
    decided_by = fields.String(allow_none=True, required=True, metadata={"description": "the name of the API key that decided"})
    decided_at = Instant(allow_none=True, required=True)


class ReviewListArgsSchema(Schema):
    status = fields.String(validate=validate.OneOf(list(REVIEW_STATUSES)))
    after = fields.String(validate=Pattern(r"^[0-9]{1,18}$", error="must be the next_cursor of a previous page"),
                          metadata={"description": "next_cursor of the previous page"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class ReviewDecisionSchema(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(list(DECISIONS)))
    note = Text(2000, required=True, metadata={"description": "why: kept with the decision"})
