"""API keys: held as SHA-256 digests, configurable by digest alone."""

from __future__ import annotations

import hashlib

import pytest

from app.auth import Keyring
from app.config import ConfigError


def test_a_key_configured_by_its_digest_authenticates_the_key_itself():
    digest = hashlib.sha256(b"crm-live-key").hexdigest()
    keyring = Keyring.from_config({f"sha256:{digest}": {"name": "crm", "scopes": ["awards:write"]}})
    found = keyring.authenticate("crm-live-key")
    assert found is not None and found.name == "crm" and found.scopes == {"awards:write"}
    assert keyring.authenticate(f"sha256:{digest}") is None  # the digest is not a key


def test_a_plain_key_is_held_only_as_its_digest():
    keyring = Keyring.from_config({"plain-key": ["finance"]})
    (key,) = keyring._keys
    assert key.digest == hashlib.sha256(b"plain-key").digest() and "plain-key" not in repr(key)


@pytest.mark.parametrize("bad", ["sha256:abc", "sha256:" + "zz" * 32, "sha256:" + "ab" * 33])
def test_a_malformed_digest_is_a_configuration_error_naming_the_variable(bad):
    with pytest.raises(ConfigError, match="SPINLEDGER_API_KEYS"):
        Keyring.from_config({bad: ["finance"]})
