"""The game API's bodies, camelCase exactly as seed 001's OpenAPI and TypeScript types.

Additive fields (seed 001 §1.3 allows them): ``requestId``, ``funding``, ``awardId``, ``maxWinReached``
on a spin, ``type`` on a win, ``freeSpinAwards`` on the session and the state.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, pre_dump, validate, validates_schema

from app.schemas.games import GameMaintenanceSchema
from app.schemas.fields import Instant, IntegerRows, Integers, Money, Pattern
from domain.money import parse_amount
from domain.errors import ValidationFailed
from domain.slot.definition import SlotGame
from domain.results import GameState, SettledSpin

UUID_TEXT = Pattern(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", error="must be a UUID")


class BetAmount(fields.Field):
    """``"1.00"``: a decimal string with two places. Anything else is ``INVALID_BET_FORMAT``."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        try:
            return parse_amount(value, "betAmount")
        except ValidationFailed:
            raise ValidationError("must be a decimal string with two places, such as \"1.00\"") from None


class SpinRequestSchema(Schema):
    betAmount = BetAmount(metadata={"type": "string", "pattern": r"^\d+\.\d{2}$", "example": "1.00",
                                    "description": "required for a cash spin; for an award's spin, the award's bet or left out"})
    currency = fields.String(validate=validate.Length(min=2, max=3), metadata={"example": "CAD", "description": "the session's currency: the player's, or GC in a gold-coins session"})
    awardId = fields.String(validate=UUID_TEXT, metadata={"description": "spend one free spin of this promotional award"})

    @validates_schema
    def _cash_spin_needs_a_bet(self, data: dict[str, Any], **_: Any) -> None:
        if "awardId" not in data:
            missing = [name for name in ("betAmount", "currency") if name not in data]
            if missing:
                raise ValidationError({name: ["Missing data for required field."] for name in missing})


class BonusSpinRequestSchema(Schema):
    blockId = fields.String(required=True, validate=validate.Length(min=1, max=64))


class SpinHeadersSchema(Schema):
    request_id = fields.String(
        data_key="X-Request-Id", required=True, validate=Pattern(r"^[\x21-\x7e]{1,128}$", error="must be 1-128 printable ASCII characters"),
        metadata={"description": "the client's idempotency key for this spin: the same id always returns the same spin"},
    )

    class Meta:
        unknown = "exclude"


class ConfigArgsSchema(Schema):
    token = fields.String(validate=validate.Length(min=1, max=128), metadata={"description": "the session token, as seed 001 passes it; the Authorization header works too"})


# -- responses ---------------------------------------------------------------------------------


class GridPositionSchema(Schema):
    col = fields.Integer(required=True)
    row = fields.Integer(required=True)


class GridPositions(fields.List):
    """A win's cells, ``(col, row)`` pairs, as ``GridPosition`` objects, written out in one step instead of
    a nested schema per cell."""

    def __init__(self, **kwargs: Any):
        super().__init__(fields.Nested(GridPositionSchema), **kwargs)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> list[dict[str, int]] | None:
        return None if value is None else [{"col": int(col), "row": int(row)} for col, row in value]


class WinResultSchema(Schema):
    paylineIndex = fields.Integer(required=True, attribute="payline_index")
    symbolId = fields.Integer(required=True, attribute="symbol_id")
    count = fields.Integer(required=True)
    multiplier = Money(required=True)
    winAmount = Money(required=True, attribute="win_amount")
    positions = GridPositions(required=True)
    type = fields.String(required=True, metadata={"enum": ["line", "scatter"]})


class BalanceSnapshotSchema(Schema):
    before = Money(required=True)
    after = Money(required=True)


class BonusDataSchema(Schema):
    type = fields.String(required=True)
    freeSpinsAwarded = fields.Integer(required=True, attribute="free_spins_awarded")
    initialMultiplier = Money(required=True, attribute="initial_multiplier")
    blockId = fields.String(required=True, attribute="block_id")


class FreeSpinsInfoSchema(Schema):
    blockId = fields.String(required=True, attribute="block_id")
    spinNumber = fields.Integer(required=True, attribute="spin_number")
    totalSpins = fields.Integer(required=True, attribute="total_spins")
    spinsRemaining = fields.Integer(required=True, attribute="spins_remaining")
    multiplier = Money(required=True)
    multiplierApplied = Money(required=True, attribute="multiplier_applied")
    blockTotalWin = Money(required=True, attribute="block_total_win")
    retriggerOccurred = fields.Boolean(required=True, attribute="retrigger_occurred")
    retriggerSpinsAdded = fields.Integer(required=True, attribute="retrigger_spins_added")


class BlockSummarySchema(Schema):
    blockId = fields.String(required=True, attribute="block_id")
    totalSpinsPlayed = fields.Integer(required=True, attribute="total_spins_played")
    totalWin = Money(required=True, attribute="total_win")
    triggeringBet = Money(required=True, attribute="triggering_bet")
    winMultiple = Money(required=True, attribute="win_multiple")


class SpinMetadataSchema(Schema):
    rngVersion = fields.String(required=True, attribute="rng_version")
    gameVersion = fields.String(required=True, attribute="game_version")
    processingMs = fields.Integer(required=True, attribute="processing_ms")


class SpinResponseSchema(Schema):
    spinId = fields.String(required=True, attribute="spin_id")
    timestamp = Instant(required=True, attribute="settled_at")
    roundId = fields.String(required=True, attribute="round_id")
    requestId = fields.String(required=True, attribute="request_id")
    reelStops = Integers(required=True, attribute="reel_stops")
    visibleGrid = IntegerRows(required=True, attribute="grid")
    wins = fields.List(fields.Nested(WinResultSchema), required=True)
    totalWin = Money(required=True, attribute="total_win")
    betAmount = Money(required=True, attribute="bet")
    currency = fields.String(required=True)
    balance = fields.Nested(BalanceSnapshotSchema, required=True)
    scatterCount = fields.Integer(required=True, attribute="scatter_count")
    bonusTriggered = fields.Boolean(required=True, attribute="bonus_triggered")
    bonusData = fields.Nested(BonusDataSchema, required=True, allow_none=True, attribute="bonus_data")
    freeSpins = fields.Nested(FreeSpinsInfoSchema, required=True, allow_none=True, attribute="free_spins")
    blockSummary = fields.Nested(BlockSummarySchema, required=True, allow_none=True, attribute="block_summary")
    state = fields.String(required=True, metadata={"enum": ["idle", "bonus", "bonus_complete", "suspended"]})
    funding = fields.String(required=True, metadata={"enum": ["cash", "coins", "award", "bonus"]})
    awardId = fields.String(required=True, allow_none=True, attribute="award_id")
    maxWinReached = fields.Boolean(required=True, attribute="max_win_reached")
    metadata = fields.Nested(SpinMetadataSchema, required=True)

    @pre_dump
    def _flatten(self, view: SettledSpin, **_: Any) -> dict[str, Any]:
        record = view.record
        return {
            **record,
            "settled_at": view.settled_at,
            "balance": {"before": record["balance_before"], "after": record["balance_after"]},
            "metadata": {**record, "processing_ms": view.processing_ms},
        }


class FreeSpinAwardSchema(Schema):
    awardId = fields.String(required=True, attribute="award_id")
    promoId = fields.String(required=True, attribute="promo_id")
    gameId = fields.String(required=True, attribute="game_code")
    spinsAwarded = fields.Integer(required=True, attribute="spins_awarded")
    spinsRemaining = fields.Integer(required=True, attribute="spins_remaining")
    betAmount = Money(required=True, attribute="bet_per_spin")
    currency = fields.String(required=True)
    expiresAt = Instant(required=True, attribute="expires_at")


class FreeSpinsStateSchema(Schema):
    type = fields.Constant("free_spins", required=True)
    blockId = fields.String(required=True, attribute="block_id")
    spinNumber = fields.Integer(required=True, attribute="spins_played")
    totalSpins = fields.Integer(required=True, attribute="total_spins")
    spinsRemaining = fields.Integer(required=True, attribute="spins_remaining")
    multiplier = Money(required=True)
    blockTotalWin = Money(required=True, attribute="total_win")
    triggeringBet = Money(required=True, attribute="triggering_bet")
    awardId = fields.String(required=True, allow_none=True, attribute="award_id")

    @pre_dump
    def _remaining(self, block: dict[str, Any], **_: Any) -> dict[str, Any]:
        return {**block, "spins_remaining": block["total_spins"] - block["spins_played"]}


class ResumeStateSchema(Schema):
    state = fields.String(required=True)
    bonusState = fields.Nested(FreeSpinsStateSchema, required=True, allow_none=True, attribute="block")


class SessionInfoSchema(Schema):
    playerId = fields.String(required=True, attribute="player_id")
    balance = Money(required=True)
    currency = fields.String(required=True)
    resumeState = fields.Nested(ResumeStateSchema, required=True, allow_none=True, attribute="resume_state")
    freeSpinAwards = fields.List(fields.Nested(FreeSpinAwardSchema), required=True, attribute="free_spin_awards")


class GridSchema(Schema):
    columns = fields.Integer(required=True)
    rows = fields.Integer(required=True)
    reelSizes = Integers(required=True)


class SymbolSchema(Schema):
    id = fields.Integer(required=True)
    key = fields.String(required=True)
    type = fields.String(required=True)
    name = fields.String(required=True)


class PayTableEntrySchema(Schema):
    symbolId = fields.Integer(required=True)
    payouts = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    type = fields.String(required=True, metadata={"enum": ["line", "scatter"], "description": "scatter pays anywhere on the grid"})


class BetConfigSchema(Schema):
    currency = fields.String(required=True)
    minBet = Money(required=True)
    maxBet = Money(required=True)
    defaultBet = Money(required=True)
    coinValues = fields.List(Money(), required=True)
    linesCount = fields.Integer(required=True)
    linesFixed = fields.Boolean(required=True)


class BonusConfigSchema(Schema):
    scatterSymbolId = fields.Integer(required=True)
    triggerCount = fields.Integer(required=True)
    freeSpinsByCount = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    freeSpinsMultiplier = Money(required=True)
    retriggerEnabled = fields.Boolean(required=True)
    retriggerSpins = fields.Integer(required=True)


class GameConfigResponseSchema(Schema):
    gameId = fields.String(required=True)
    gameVersion = fields.String(required=True)
    gameName = fields.String(required=True)
    grid = fields.Nested(GridSchema, required=True)
    paylines = IntegerRows(required=True)
    symbols = fields.List(fields.Nested(SymbolSchema), required=True)
    payTable = fields.List(fields.Nested(PayTableEntrySchema), required=True)
    betConfig = fields.Nested(BetConfigSchema, required=True)
    bonusConfig = fields.Nested(BonusConfigSchema, required=True)
    session = fields.Nested(SessionInfoSchema, required=True)
    rtp = fields.String(required=True)
    volatility = fields.String(required=True)
    maxWin = fields.String(required=True, metadata={"description": "the most a round pays, as a multiple of its total bet"})
    maintenance = fields.Nested(GameMaintenanceSchema, allow_none=True, required=True, metadata={
        "description": "set while the game is under maintenance and the player finishes a block in play (other calls answer 503)"})


class GameStateResponseSchema(Schema):
    sessionId = fields.String(required=True, attribute="session_id")
    state = fields.String(required=True, metadata={"enum": ["idle", "bonus"]})
    balance = Money(required=True)
    currency = fields.String(required=True)
    pendingSpin = fields.Nested(SpinResponseSchema, required=True, allow_none=True, attribute="last_spin")
    bonusState = fields.Nested(FreeSpinsStateSchema, required=True, allow_none=True, attribute="block")
    freeSpinAwards = fields.List(fields.Nested(FreeSpinAwardSchema), required=True, attribute="free_spin_awards")


class PendingSpinResponseSchema(Schema):
    pendingSpin = fields.Nested(SpinResponseSchema, required=True, allow_none=True, attribute="last_spin")


def game_config(game: SlotGame, state: GameState) -> dict[str, Any]:
    """The config document: the game's certified data and the player's session."""
    pay_table = [
        {"symbolId": symbol, "payouts": {str(n): f"{m}.00" for n, m in sorted(pays.items())}, "type": "line"}
        for symbol, pays in sorted(game.line_pays.items())
    ]
    pay_table.append({"symbolId": game.scatter, "payouts": {str(n): f"{m}.00" for n, m in sorted(game.scatter_pays.items())}, "type": "scatter"})
    rules = game.free_spins
    return {
        "gameId": game.code,
        "gameVersion": game.version,
        "gameName": game.name,
        "grid": {"columns": game.reels, "rows": game.rows, "reelSizes": list(game.reel_sizes)},
        "paylines": [list(line) for line in game.paylines],
        "symbols": [vars(symbol) for symbol in game.symbols],
        "payTable": pay_table,
        "betConfig": {
            "currency": state.currency, "minBet": game.min_bet, "maxBet": game.max_bet, "defaultBet": game.default_bet,
            "coinValues": list(game.coin_values), "linesCount": game.lines, "linesFixed": True,
        },
        "bonusConfig": {
            "scatterSymbolId": game.scatter, "triggerCount": rules.trigger_count,
            "freeSpinsByCount": {str(n): spins for n, spins in sorted(rules.spins_by_scatter_count.items())},
            "freeSpinsMultiplier": rules.multiplier, "retriggerEnabled": rules.retrigger_spins > 0, "retriggerSpins": rules.retrigger_spins,
        },
        "session": {
            "player_id": state.player_id, "balance": state.balance, "currency": state.currency,
            "resume_state": {"state": state.state, "block": state.block} if state.block else None,
            "free_spin_awards": state.free_spin_awards,
        },
        "rtp": game.rtp,
        "volatility": game.volatility,
        "maxWin": f"{game.max_win_multiple}.00",
        "maintenance": {"message": state.maintenance.message, "until": state.maintenance.until} if state.maintenance else None,
    }
