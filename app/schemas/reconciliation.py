"""Reconciliation reports and the liability report (finance, snake_case)."""

from __future__ import annotations

from marshmallow import Schema, fields

from app.schemas.fields import Instant, Money


class CheckSchema(Schema):
    name = fields.String(required=True)
    expected = fields.String(required=True, metadata={"description": "from the events"})
    actual = fields.String(required=True, metadata={"description": "from the projection"})
    drift = fields.String(required=True, metadata={"description": "actual - expected"})
    drift_pct = fields.String(required=True, metadata={"description": "|drift| / |expected| × 100"})
    alert = fields.Boolean(required=True, metadata={"description": "drift_pct is above DRIFT_ALERT_PCT"})


class DiscrepancySchema(Schema):
    entity = fields.String(required=True, metadata={"enum": ["player", "award", "promotion"]})
    id = fields.String(required=True)
    field = fields.String(required=True)
    expected = fields.String(required=True)
    actual = fields.String(required=True)


class RunSchema(Schema):
    run_id = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": ["ok", "drift"]})
    started_at = Instant(required=True)
    finished_at = Instant(required=True)
    as_of = Instant(required=True, metadata={"description": "the instant expiry and liability were evaluated at"})
    threshold_pct = fields.String(required=True)
    positions = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True,
                            metadata={"description": "the event position each view was compared at"})
    events_read = fields.Integer(required=True, metadata={"description": "the events the checks are made of (players', awards' and promotions' money and spins)"})
    events_total = fields.Integer(metadata={"description": "every event in the store up to the highest position compared, read or not (absent from runs recorded before it was reported)"})
    seconds = fields.Float(required=True)
    checks = fields.List(fields.Nested(CheckSchema), required=True)
    discrepancies = fields.List(fields.Nested(DiscrepancySchema), required=True)


class RunRequestSchema(Schema):
    as_of = Instant(load_default=None, allow_none=True, metadata={"description": "evaluate expiry and liability at this instant (default: now)"})


class LiabilityLineSchema(Schema):
    promo_id = fields.String(required=True)
    name = fields.String(required=True, allow_none=True)
    currency = fields.String(required=True, allow_none=True)
    spins_awarded = fields.Integer(required=True)
    spins_used = fields.Integer(required=True)
    spins_expired = fields.Integer(required=True)
    spins_cancelled = fields.Integer(required=True)
    budget_left = fields.Integer(required=True, allow_none=True)
    liability = Money(required=True, metadata={"description": "unplayed spins × bet per spin, as of now (0.00 for GOLD_COINS)"})
    wins_paid = Money(required=True)
    award_type = fields.String(required=True)
    budget_coins = Money(required=True, allow_none=True, metadata={"description": "GOLD_COINS: the budget, in coins"})
    coins_reserved = Money(required=True, allow_none=True, metadata={"description": "GOLD_COINS: the coins awarded"})
    budget_coins_left = Money(required=True, allow_none=True)


class CoinFiguresSchema(Schema):
    awarded = Money(required=True, metadata={"description": "coins awarded by GOLD_COINS promotions (not money)"})
    balances = Money(required=True, metadata={"description": "coins held in players' coin balances (not money, never convertible)"})


class LiabilityReportSchema(Schema):
    as_of = Instant(required=True)
    position = fields.Integer(required=True, metadata={"description": "the event position the promotions view has reached"})
    data = fields.List(fields.Nested(LiabilityLineSchema), required=True, metadata={"description": "a smoke test's promotions are left out"})
    coins = fields.Nested(CoinFiguresSchema, required=True, metadata={"description": "gold coins, never summed with money (API 1.6)"})
