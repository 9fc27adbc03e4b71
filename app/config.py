"""Settings: every environment variable the service reads, parsed once, with its default."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from decimal import Decimal
from dataclasses import dataclass, field

from domain.errors import ValidationFailed
from domain.money import parse_amount
from domain.risk import RiskRules
from typing import Mapping


MAX_RETENTION_DAYS = 366


class ConfigError(ValueError):
    """An environment variable holds a value the service cannot use; the message names it."""


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    api_keys: Mapping[str, object] = field(default_factory=dict)
    web_concurrency: int = 2
    web_connections: int = 1000
    db_pool_size: int = 8
    db_pool_max_overflow: int = 8
    data_dir: str = "var"
    session_ttl_seconds: int = 3600
    projection_poll_seconds: float = 1.0
    ready_max_lag_seconds: int = 300
    read_wait_seconds: float = 0.25
    reconcile_cron: str = "0 2 * * *"
    drift_alert_pct: Decimal = Decimal("0.5")
    alert_webhook_url: str | None = None
    alert_webhook_secret: str = ""
    audit_raw_retention_days: int = 90
    audit_purge_cron: str = "30 3 * * *"
    log_level: str = "INFO"
    webhook_retry_base_seconds: float = 10.0
    webhook_lease_seconds: float = 120.0
    webhook_timeout_seconds: float = 10.0
    webhook_threads_per_endpoint: int = 8
    webhook_allow_private: bool = False
    award_expiry_check_seconds: float = 60.0
    award_expiry_notice_seconds: int = 0
    campaign_chunk_size: int = 1000
    campaign_concurrency: int = 2
    campaign_processes: int = 1
    campaign_heartbeat_seconds: float = 5.0
    campaign_stalled_seconds: float = 30.0
    database_wait_seconds: float = 2.0
    risk_loss_chasing_deposits: int = 3
    risk_loss_chasing_minutes: int = 60
    risk_deposits_24h_amount: Decimal = Decimal("1000.00")
    risk_awards_per_day: int = 10
    console_secret_key: str | None = None
    console_session_minutes: int = 480
    console_cookie_secure: bool = False

    def __post_init__(self) -> None:
        if self.campaign_heartbeat_seconds >= self.campaign_stalled_seconds:
            raise ConfigError("CAMPAIGN_HEARTBEAT_SECONDS must be less than CAMPAIGN_STALLED_SECONDS: "
                              "a worker's heartbeat must come before it is taken for stopped")

    def risk_rules(self) -> RiskRules:
        return RiskRules(
            loss_chasing_deposits=self.risk_loss_chasing_deposits, loss_chasing_window=timedelta(minutes=self.risk_loss_chasing_minutes),
            deposits_24h_amount=self.risk_deposits_24h_amount, awards_per_day=self.risk_awards_per_day,
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            database_url=env.get("DATABASE_URL") or None,
            host=env.get("HOST", "127.0.0.1"),
            port=_int(env, "PORT", 8000),
            api_keys=_api_keys(env.get("SPINLEDGER_API_KEYS", "{}")),
            web_concurrency=_int(env, "WEB_CONCURRENCY", 2),
            web_connections=_int(env, "WEB_CONNECTIONS", 1000),
            db_pool_size=_int(env, "DB_POOL_SIZE", 8),
            db_pool_max_overflow=_int(env, "DB_POOL_MAX_OVERFLOW", 8),
            data_dir=env.get("SPINLEDGER_DATA_DIR", "var"),
            session_ttl_seconds=_positive(env, "SESSION_TTL_SECONDS", 3600),
            projection_poll_seconds=_seconds(env, "PROJECTION_POLL_SECONDS", 1.0),
            ready_max_lag_seconds=_positive(env, "READY_MAX_LAG_SECONDS", 300),
            read_wait_seconds=_seconds(env, "READ_WAIT_SECONDS", 0.25, zero_allowed=True, most=60),
            reconcile_cron=_cron(env, "RECONCILE_CRON", "0 2 * * *"),
            drift_alert_pct=_percent(env, "DRIFT_ALERT_PCT", Decimal("0.5")),
            alert_webhook_url=env.get("ALERT_WEBHOOK_URL") or None,
            alert_webhook_secret=env.get("ALERT_WEBHOOK_SECRET", ""),
            audit_raw_retention_days=_retention_days(env, "AUDIT_RAW_RETENTION_DAYS", 90),
            audit_purge_cron=_cron(env, "AUDIT_PURGE_CRON", "30 3 * * *"),
            log_level=_log_level(env, "LOG_LEVEL", "INFO"),
            webhook_retry_base_seconds=_seconds(env, "WEBHOOK_RETRY_BASE_SECONDS", 10.0),
            webhook_lease_seconds=_seconds(env, "WEBHOOK_LEASE_SECONDS", 120.0),
            webhook_timeout_seconds=_seconds(env, "WEBHOOK_TIMEOUT_SECONDS", 10.0, most=60),
            webhook_threads_per_endpoint=_positive(env, "WEBHOOK_THREADS_PER_ENDPOINT", 8),
            webhook_allow_private=_flag(env, "WEBHOOK_ALLOW_PRIVATE"),
            award_expiry_check_seconds=_seconds(env, "AWARD_EXPIRY_CHECK_SECONDS", 60.0),
            award_expiry_notice_seconds=_int(env, "AWARD_EXPIRY_NOTICE_SECONDS", 0),
            campaign_chunk_size=_bounded(env, "CAMPAIGN_CHUNK_SIZE", 1000, most=1000),
            campaign_concurrency=_bounded(env, "CAMPAIGN_CONCURRENCY", 2, most=32),
            campaign_processes=_bounded(env, "CAMPAIGN_PROCESSES", 1, most=32),
            campaign_heartbeat_seconds=_seconds(env, "CAMPAIGN_HEARTBEAT_SECONDS", 5.0, most=300),
            campaign_stalled_seconds=_seconds(env, "CAMPAIGN_STALLED_SECONDS", 30.0),
            database_wait_seconds=_seconds(env, "DATABASE_WAIT_SECONDS", 2.0, most=60),
            risk_loss_chasing_deposits=_bounded(env, "RISK_LOSS_CHASING_DEPOSITS", 3, most=100),
            risk_loss_chasing_minutes=_bounded(env, "RISK_LOSS_CHASING_MINUTES", 60, most=7 * 24 * 60),
            risk_deposits_24h_amount=_amount(env, "RISK_DEPOSITS_24H_AMOUNT", Decimal("1000.00")),
            risk_awards_per_day=_bounded(env, "RISK_AWARDS_PER_DAY", 10, most=10_000),
            console_secret_key=_secret(env, "CONSOLE_SECRET_KEY"),
            console_session_minutes=_bounded(env, "CONSOLE_SESSION_MINUTES", 480, most=24 * 60),
            console_cookie_secure=_flag(env, "CONSOLE_COOKIE_SECURE"),
        )


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < 0:
        raise ConfigError(f"{name} must not be negative, got {raw!r}")
    return value


def _seconds(env: Mapping[str, str], name: str, default: float, *, zero_allowed: bool = False, most: float = 3600) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {raw!r}") from None
    if not (0 <= value if zero_allowed else 0 < value) or value > most:
        raise ConfigError(f"{name} must be {'at least' if zero_allowed else 'more than'} 0 and at most {most:g}, got {raw!r}")
    return value


def _cron(env: Mapping[str, str], name: str, default: str) -> str:
    from apscheduler.triggers.cron import CronTrigger

    expression = env.get(name) or default
    try:
        CronTrigger.from_crontab(expression, timezone="UTC")
    except ValueError as error:
        raise ConfigError(f"{name} must be a crontab expression such as {default!r}: {error}") from None
    return expression


def _percent(env: Mapping[str, str], name: str, default: Decimal) -> Decimal:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = Decimal(raw)
    except ArithmeticError:
        raise ConfigError(f"{name} must be a percentage such as 0.5, got {raw!r}") from None
    if not value.is_finite() or not 0 <= value <= 100:
        raise ConfigError(f"{name} must be between 0 and 100, got {raw!r}")
    return value


def _amount(env: Mapping[str, str], name: str, default: Decimal) -> Decimal:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = parse_amount(raw, name)
    except ValidationFailed:
        raise ConfigError(f"{name} must be an amount with two decimals such as 1000.00, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be more than 0, got {raw!r}")
    return value


def _bounded(env: Mapping[str, str], name: str, default: int, *, most: int) -> int:
    value = _positive(env, name, default)
    if value > most:
        raise ConfigError(f"{name} must be at most {most}, got {value}")
    return value


def _positive(env: Mapping[str, str], name: str, default: int) -> int:
    value = _int(env, name, default)
    if value == 0:
        raise ConfigError(f"{name} must be at least 1")
    return value


def _retention_days(env: Mapping[str, str], name: str, default: int) -> int:
    """Raw bodies cannot outlive their rows, which are deleted after 12 months."""
    value = _positive(env, name, default)
    if value > MAX_RETENTION_DAYS:
        raise ConfigError(f"{name} must be at most {MAX_RETENTION_DAYS} (audit rows are deleted after 12 months), got {value}")
    return value


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{name} must be true or false, got {env.get(name)!r}")


def _secret(env: Mapping[str, str], name: str) -> str | None:
    raw = env.get(name) or None
    if raw is not None and len(raw) < 32:
        raise ConfigError(f"{name} must be at least 32 characters (it signs the console's session cookies), got {len(raw)}")
    return raw


def _log_level(env: Mapping[str, str], name: str, default: str) -> str:
    from app.logs import LEVELS

    value = (env.get(name) or default).upper()
    if value not in LEVELS:
        raise ConfigError(f"{name} must be one of {', '.join(LEVELS)}, got {env.get(name)!r}")
    return value


def _api_keys(raw: str) -> Mapping[str, object]:
    try:
        keys = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ConfigError(f"SPINLEDGER_API_KEYS is not valid JSON: {error}") from None
    if not isinstance(keys, dict):
        raise ConfigError('SPINLEDGER_API_KEYS must be a JSON object {"<key>": ["scope", ...]}')
    return keys
