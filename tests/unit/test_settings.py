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
