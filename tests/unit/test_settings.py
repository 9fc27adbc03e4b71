"""Settings from the environment: defaults, and a clear error naming the variable for a value it cannot use."""

from __future__ import annotations

import pytest

from app.config import ConfigError, Settings


def test_read_wait_seconds_defaults_to_a_quarter_second_and_may_be_zero():
    assert Settings.from_env({}).read_wait_seconds == 0.25
    assert Settings.from_env({"READ_WAIT_SECONDS": "0"}).read_wait_seconds == 0


@pytest.mark.parametrize("raw", ["-1", "61", "soon"])
def test_an_unusable_read_wait_is_refused_naming_the_variable(raw):
    with pytest.raises(ConfigError, match="READ_WAIT_SECONDS"):
        Settings.from_env({"READ_WAIT_SECONDS": raw})


@pytest.mark.parametrize("raw", ["0", "3601"])
def test_a_poll_interval_must_be_positive_and_at_most_an_hour(raw):
    with pytest.raises(ConfigError, match="PROJECTION_POLL_SECONDS must be more than 0 and at most 3600"):
        Settings.from_env({"PROJECTION_POLL_SECONDS": raw})


def test_the_raw_audit_bodies_are_kept_ninety_days_unless_told_otherwise():
    assert Settings.from_env({}).audit_raw_retention_days == 90
    assert Settings.from_env({"AUDIT_RAW_RETENTION_DAYS": "30"}).audit_raw_retention_days == 30


@pytest.mark.parametrize("raw", ["0", "-5", "ninety", "1.5", "367"])
def test_an_unusable_audit_retention_is_refused_naming_the_variable(raw):
    with pytest.raises(ConfigError, match="^AUDIT_RAW_RETENTION_DAYS must"):
        Settings.from_env({"AUDIT_RAW_RETENTION_DAYS": raw})


def test_the_audit_purge_runs_at_half_past_three_utc_unless_told_otherwise():
    assert Settings.from_env({}).audit_purge_cron == "30 3 * * *"
    assert Settings.from_env({"AUDIT_PURGE_CRON": "0 4 * * 0"}).audit_purge_cron == "0 4 * * 0"
    with pytest.raises(ConfigError, match="^AUDIT_PURGE_CRON must be a crontab expression"):
        Settings.from_env({"AUDIT_PURGE_CRON": "every night"})
    with pytest.raises(ConfigError, match="^RECONCILE_CRON must be a crontab expression such as '0 2 \\* \\* \\*'"):
        Settings.from_env({"RECONCILE_CRON": "61 2 * * *"})


def test_the_console_settings_are_read_and_a_short_signing_key_is_refused():
    settings = Settings.from_env({"CONSOLE_SECRET_KEY": "k" * 32, "CONSOLE_SESSION_MINUTES": "60", "CONSOLE_COOKIE_SECURE": "true"})
    assert (settings.console_secret_key, settings.console_session_minutes, settings.console_cookie_secure) == ("k" * 32, 60, True)
    defaults = Settings.from_env({})
    assert (defaults.console_secret_key, defaults.console_session_minutes, defaults.console_cookie_secure) == (None, 480, False)
    with pytest.raises(ConfigError, match="CONSOLE_SECRET_KEY must be at least 32 characters"):
        Settings.from_env({"CONSOLE_SECRET_KEY": "short"})
    with pytest.raises(ConfigError, match="CONSOLE_SESSION_MINUTES must be at most 1440"):
        Settings.from_env({"CONSOLE_SESSION_MINUTES": "2000"})
