"""Deposits, withdrawals and game sessions (DESIGN §5, snake_case)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.schemas.fields import Instant, Money, Pattern, external_id
from domain.results import FundsReceipt

TRANSACTION_ID = Pattern(r"^[\x21-\x7e]{1,128}$", error="must be 1-128 printable ASCII characters without spaces")


class FundsRequestSchema(Schema):
    transaction_id = fields.String(required=True, validate=TRANSACTION_ID, metadata={"example": "psp-7f3a-0001"})
    amount = Money(required=True, metadata={"example": "50.00"})
    currency = fields.String(required=True, validate=Pattern(r"^[A-Z]{3}$", error="must be an ISO 4217 code such as CAD"), metadata={"example": "CAD"})


class FundsReceiptSchema(Schema):
    transaction_id = fields.String(required=True)
    player_id = fields.String(required=True)
    type = fields.String(required=True, attribute="kind", metadata={"enum": ["deposit", "withdrawal"]})
    amount = Money(required=True)
    currency = fields.String(required=True)
    balance = Money(required=True, metadata={"description": "the player's cash balance right after this transaction"})
    event_id = fields.String(required=True)
    server_time = Instant(required=True)


class TransactionSchema(Schema):
    """A deposit or withdrawal looked up by its transaction id."""

    transaction_id = fields.String(required=True)
    player_id = fields.String(required=True)
    type = fields.String(required=True, attribute="kind", metadata={"enum": ["deposit", "withdrawal"]})
    direction = fields.Method("_direction", required=True, metadata={"enum": ["credit", "debit"]})
    amount = Money(required=True)
    currency = fields.String(required=True)
    balance_after = Money(required=True, attribute="balance", metadata={"description": "the player's cash balance right after it"})
    event_id = fields.String(required=True)
    occurred_at = Instant(required=True, attribute="server_time")

    @staticmethod
    def _direction(receipt: FundsReceipt) -> str:
        return "credit" if receipt.kind == "deposit" else "debit"


class SessionRequestSchema(Schema):
    player_id = external_id(required=True, metadata={"example": "player-a7f3b2"})
    currency = fields.String(validate=validate.Length(min=2, max=3), metadata={
        "example": "GC", "description": "the player's currency (the default), or GC to play in gold coins (API 1.6)"})


class SessionSchema(Schema):
    token = fields.String(required=True, metadata={"description": "the game API's bearer token; shown once, stored only as a digest"})
    expires_at = Instant(required=True)
    currency = fields.String(required=True, metadata={"description": "what the session plays in: the player's currency, or GC (gold coins)"})
