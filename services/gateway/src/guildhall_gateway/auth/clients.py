"""OAuth 2.0 clients of partner systems: the aggregate and its rules (no I/O).

A partner org's admin registers a client for its org; the client then obtains
short-lived access tokens with the client-credentials grant (RFC 6749 §4.4)
and calls the API as its org, within its scopes:

- ``pinholes:read``  read what the org's pinholes hold;
- ``pinholes:write`` post, comment and react there as well (always with read).

The secret is random (256 bits), shown once at creation or rotation, and only
its Argon2id hash is stored. Rotation replaces the secret and bumps the
client's ``generation``: tokens issued under an older generation stop working
at once, like those of a revoked client (the gateway checks both on every
request). For a rotation without downtime, create a second client, switch the
system over, then revoke the first.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from guildhall_kit.clock import new_id

SCOPE_READ = "pinholes:read"
SCOPE_WRITE = "pinholes:write"
SCOPES = (SCOPE_READ, SCOPE_WRITE)
"""Every scope a client may hold, in canonical order."""

CLIENT_ID_PREFIX = "client-"
SECRET_PREFIX = "ghcs_"  # noqa: S105 - a prefix that marks secrets, not a secret
"""Marks a Guildhall client secret, so secret scanners can recognise a leaked one."""

# OWASP's Argon2id baseline (m=19 MiB, t=2, p=1): ~20 ms per check on one core. A
# secret is checked once per token request, and tokens live minutes.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)


def canonical_scopes(requested: frozenset[str]) -> tuple[str, ...]:
    """``requested`` in canonical order.

    Raises:
        ValueError: an unknown scope, none at all, or write without read.
    """
    unknown = sorted(requested - set(SCOPES))
    if unknown:
        raise ValueError(f"unknown scope {unknown[0]!r}; allowed: {' '.join(SCOPES)}")
    if SCOPE_READ not in requested:
        raise ValueError(f"{SCOPE_READ!r} is required")
    return tuple(s for s in SCOPES if s in requested)


def new_client_id() -> str:
    """A fresh client id (fits the contracts' id rule: lowercase ULID with a prefix)."""
    return f"{CLIENT_ID_PREFIX}{new_id()}"


def new_secret() -> str:
    """A fresh client secret: 32 random bytes, URL-safe base64, with a recognisable prefix."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    """The Argon2id hash (PHC string, salt included) stored for ``secret``. CPU-bound."""
    return _HASHER.hash(secret)


def secret_matches(stored_hash: str, secret: str) -> bool:
    """Whether ``secret`` is the one ``stored_hash`` was made from. CPU-bound."""
    try:
        return _HASHER.verify(stored_hash, secret)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True, slots=True)
class OAuthClient:
    """One registered client of a partner org."""

    client_id: str
    org_id: str
    name: str
    scopes: tuple[str, ...]
    secret_hash: str
    generation: int
    """Bumped by every rotation; a token carries the generation it was issued under."""
    created_by: str
    created_at: datetime
    rotated_at: datetime | None = None
    revoked_at: datetime | None = None
    revoked_by: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def accepts(self, generation: int) -> bool:
        """Whether a token issued under ``generation`` is still good."""
        return self.active and generation == self.generation

    def rotated(self, secret_hash: str, at: datetime) -> OAuthClient:
        """This client with a new secret; tokens of earlier generations stop working."""
        return replace(self, secret_hash=secret_hash, generation=self.generation + 1, rotated_at=at)

    def granted_scopes(self, requested: str | None) -> tuple[str, ...] | None:
        """The scopes a token request gets (RFC 6749 §3.3), None when it asks for more.

        No ``scope`` parameter means every scope of the client. Read comes with
        every grant: a token is "read" or "read and write", like a client.
        """
        if requested is None or not requested.strip():
            return self.scopes
        wanted = frozenset(requested.split())
        if not wanted <= set(self.scopes):
            return None
        return tuple(s for s in SCOPES if s in wanted | {SCOPE_READ})
