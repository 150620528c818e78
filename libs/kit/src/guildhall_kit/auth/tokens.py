"""JWT access tokens: verification against a key set, and minting (dev and tests).

Tokens are signed with EdDSA (Ed25519) or RS256 by a key whose ``kid`` is in
the configured JSON Web Key Set. Claims:

=========  ===============================================================
``sub``    person id (or service name)
``kind``   ``employee`` | ``partner`` | ``service``
``org``    organisation id
``roles``  list of platform roles, e.g. ``["admin"]`` (optional)
``iss``    must equal the configured issuer
``aud``    must contain the configured audience
``exp``    required; expired tokens are rejected
=========  ===============================================================

One rule about who is an employee holds in every service, here: a token of
kind ``employee`` must name the home organisation (``GUILDHALL_HOME_ORG_ID``).
Any other org with that kind is refused as UNAUTHENTICATED before a handler
runs, so no service can treat a partner's person as an employee.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from jwt import PyJWK

from guildhall_kit.auth.principal import Principal, PrincipalKind
from guildhall_kit.errors import Unauthenticated

ALGORITHMS = ["EdDSA", "RS256"]


@dataclass(frozen=True)
class KeySet:
    """Public keys that may sign tokens, by key id."""

    keys: dict[str, PyJWK]

    @classmethod
    def from_jwks(cls, jwks: dict[str, Any]) -> KeySet:
        keys: dict[str, PyJWK] = {}
        for raw in jwks.get("keys", []):
            kid = raw.get("kid")
            if not kid:
                raise ValueError("every key in the key set needs a 'kid'")
            keys[kid] = PyJWK(raw)
        if not keys:
            raise ValueError("the key set has no keys")
        return cls(keys)

    @classmethod
    def from_file(cls, path: Path) -> KeySet:
        """Load a JWKS JSON file. Raises OSError / ValueError naming the problem."""
        return cls.from_jwks(json.loads(path.read_text()))


class TokenVerifier:
    """Verifies bearer tokens and turns them into principals."""

    def __init__(
        self,
        keys: KeySet,
        *,
        issuer: str,
        audience: str,
        home_org_id: str,
        leeway_s: int = 30,
    ) -> None:
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._home_org_id = home_org_id
        self._leeway = leeway_s

    def verify(self, token: str) -> Principal:
        """The principal named by a valid token.

        Raises:
            Unauthenticated: bad signature, unknown key, wrong issuer or
                audience, expired, or malformed claims. The message says which
                check failed but never echoes the token.
        """
        return principal_from_claims(self.verify_claims(token), home_org_id=self._home_org_id)

    def verify_claims(self, token: str) -> dict[str, Any]:
        """The claims of a token whose signature, issuer, audience and expiry check out.

        For a caller that needs claims beyond the principal's (the gateway's
        client-credentials tokens carry the client and its scopes).

        Raises:
            Unauthenticated: as :meth:`verify`, except that the principal claims
                (``kind``, ``org``, ``roles``) are not looked at.
        """
        try:
            header = jwt.get_unverified_header(token)
            key = self._keys.keys.get(str(header.get("kid", "")))
            if key is None:
                raise Unauthenticated("token signed by an unknown key")
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=ALGORITHMS,
                issuer=self._issuer,
                audience=self._audience,
                leeway=self._leeway,
                options={"require": ["exp", "sub", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"invalid token: {type(exc).__name__}") from None
        return claims


def principal_from_claims(claims: dict[str, Any], *, home_org_id: str) -> Principal:
    """Map verified claims to a principal.

    Raises:
        Unauthenticated: a claim is missing or malformed, or an ``employee``
            token names an org other than ``home_org_id``.
    """
    try:
        kind = PrincipalKind(claims.get("kind", ""))
    except ValueError:
        raise Unauthenticated("token has no valid 'kind' claim") from None
    sub, org = claims.get("sub"), claims.get("org")
    if not isinstance(sub, str) or not sub or not isinstance(org, str) or not org:
        raise Unauthenticated("token needs non-empty 'sub' and 'org' claims")
    roles = claims.get("roles", [])
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise Unauthenticated("'roles' claim must be a list of strings")
    if kind is PrincipalKind.EMPLOYEE and org != home_org_id:
        raise Unauthenticated("an employee token must name the home organisation")
    return Principal(subject=sub, kind=kind, org_id=org, roles=frozenset(roles))


def mint_token(
    private_key_pem: bytes,
    *,
    kid: str,
    subject: str,
    kind: PrincipalKind,
    org_id: str,
    roles: list[str] | None = None,
    issuer: str = "guildhall-dev",
    audience: str = "guildhall",
    ttl_s: int = 3600,
    extra_claims: Mapping[str, Any] | None = None,
) -> str:
    """Sign a token with an Ed25519 or RSA private key (PEM).

    ``extra_claims`` are added beside the standard ones and may not replace
    them (a ``ValueError`` says which); verifiers ignore claims they do not know.
    """
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": subject,
        "kind": kind.value,
        "org": org_id,
        "roles": sorted(roles or []),
        "iss": issuer,
        "aud": audience,
        "iat": now,
        "exp": now + ttl_s,
    }
    if extra_claims:
        clash = sorted(set(extra_claims) & set(claims))
        if clash:
            raise ValueError(f"extra claims may not replace {', '.join(clash)}")
        claims.update(extra_claims)
    algorithm = "EdDSA" if b"BEGIN PRIVATE KEY" in private_key_pem else "RS256"
    return jwt.encode(claims, private_key_pem, algorithm=algorithm, headers={"kid": kid})
