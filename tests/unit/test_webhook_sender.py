"""The sender's own rules: no private addresses unless allowed, and a backoff that doubles, jitters and caps."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from app.webhooks.sender import Backoff, Connections, NotAllowed


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/hook", "http://localhost:9/hook", "http://10.1.2.3/hook",
                                 "http://169.254.169.254/latest/meta-data", "http://[::1]:9/hook", "http://0.0.0.0/hook"])
def test_an_endpoint_on_a_private_or_special_address_is_refused_before_any_connection(url):
    with pytest.raises(NotAllowed, match="not a public address"):
        Connections(1.0).post(url, b"{}", {})


def test_a_private_endpoint_is_reached_when_allowed():
    with pytest.raises(ConnectionRefusedError):  # the discard port: nothing listens, but it was tried
        Connections(1.0, allow_private=True).post("http://127.0.0.1:9/hook", b"{}", {})


def test_the_backoff_doubles_from_its_base_with_jitter_up_to_its_cap():
    backoff, rng = Backoff(base_seconds=10, most_seconds=3600), random.Random(1)
    for attempts, nominal in [(1, 10), (2, 20), (3, 40), (9, 2560), (10, 3600), (40, 3600)]:
        delays = [backoff.delay(attempts, rng) for _ in range(200)]
        assert all(timedelta(seconds=nominal * 0.5) <= d <= timedelta(seconds=nominal * 1.5) for d in delays)
        assert max(delays) - min(delays) > timedelta(seconds=nominal * 0.5)  # spread: retries do not march in step
