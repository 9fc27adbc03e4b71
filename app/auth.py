"""API keys with scopes (``SPINLEDGER_API_KEYS``), held only as SHA-256 digests, compared in constant time."""

from __future__ import annotations

import functools
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any, Callable, Mapping, TypeVar

from flask import current_app, g, request
from flask_smorest import Blueprint

from app.config import ConfigError
from app.errors import ApiError

DIGEST_PREFIX = "sha256:"
API_KEY_SCHEME = "apiKey"
SESSION_SCHEME = "sessionToken"
SCOPES = frozenset({"players:write", "promotions:write", "awards:write", "awards:read", "finance", "compliance", "metrics", "games:write"})

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class ApiKey:
    name: str
    scopes: frozenset[str]
    digest: bytes


class Keyring:
    def __init__(self, keys: list[ApiKey]):
        self._keys = keys

    @classmethod
    def from_config(cls, config: Mapping[str, object]) -> Keyring:
        """``{"<key>": ["scope", ...]}`` or ``{"<key>": {"name": "...", "scopes": [...]}}``; ``<key>`` may be
        given as ``sha256:<64 hex digits>``, its digest, so that the configuration never holds the key itself."""
        keys = []
        for secret, spec in config.items():
            digest = _configured_digest(secret)
            name, scopes = f"key-{digest.hex()[:8]}", spec
            if isinstance(spec, dict):
                name, scopes = str(spec.get("name") or name), spec.get("scopes")
            if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
                raise ConfigError(f"SPINLEDGER_API_KEYS: the scopes of {name} must be a list of strings")
            unknown = set(scopes) - SCOPES
            if unknown:
                raise ConfigError(f"SPINLEDGER_API_KEYS: unknown scopes {sorted(unknown)} for {name}")
            keys.append(ApiKey(name=name, scopes=frozenset(scopes), digest=digest))
        return cls(keys)

    def authenticate(self, presented: str) -> ApiKey | None:
        return self.by_digest(_digest(presented))

    def by_digest(self, digest: bytes) -> ApiKey | None:
        """The key whose SHA-256 digest this is (the console's session holds the digest, never the key)."""
        found = None
        for key in self._keys:  # every key compared, so timing says nothing about which matched
            if hmac.compare_digest(key.digest, digest):
                found = key
        return found


def _configured_digest(secret: str) -> bytes:
    if secret.startswith(DIGEST_PREFIX):
        try:
            digest = bytes.fromhex(secret.removeprefix(DIGEST_PREFIX))
        except ValueError:
            digest = b""
        if len(digest) != hashlib.sha256().digest_size:
            raise ConfigError(f"SPINLEDGER_API_KEYS: {secret[:16]}... is not {DIGEST_PREFIX} and 64 hex digits")
        return digest
    return _digest(secret)


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def require_scope(*accepted: str) -> Callable[[F], F]:
    """The caller's API key must hold one of ``accepted``."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            token = bearer_token()
            if token is None:
                raise ApiError("UNAUTHORIZED", "send Authorization: Bearer <api key>")
            key = current_app.extensions["spinledger"].keyring.authenticate(token)
            if key is None:
                raise ApiError("UNAUTHORIZED", "unknown API key")
            if not key.scopes & set(accepted):
                raise ApiError("FORBIDDEN", f"this API key lacks the scope {' or '.join(accepted)}")
            g.api_key = key
            return view(*args, **kwargs)

        # The OpenAPI document says which key each operation takes and which scopes it accepts.
        documented = Blueprint.doc(security=[{API_KEY_SCHEME: []}], **{"x-required-scopes": list(accepted)})(wrapper)
        documented.required_scopes = accepted
        return documented  # type: ignore[no-any-return]

    return decorate
