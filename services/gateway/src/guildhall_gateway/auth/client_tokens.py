"""Access tokens the gateway issues to partner systems (client credentials).

A token is a JWT signed with the gateway's own key (``GUILDHALL_SIGNING_KEY_*``)
for the gateway's external audience (``GUILDHALL_OAUTH_AUDIENCE``), never the
services' audience, so it is useless anywhere but at the gateway's front door.
Beside the principal claims of every Guildhall token (``sub`` = the client id,
``kind`` = ``partner``, ``org``) it carries ``client_id``, ``scope``
(space-separated, RFC 8693 style), ``gen`` (the client's secret generation)
and a ``jti``.

It is verified against the same key set the services trust
(``GUILDHALL_JWT_JWKS_FILE``), which holds the gateway's public keys, so a
rotation of the gateway's key follows the services' procedure: publish the new
public key, switch the signer, drop the old key after the longest token life.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from guildhall_gateway.auth.clients import SCOPES, OAuthClient
from guildhall_kit.auth import KeySet, Principal, PrincipalKind, PrincipalSigner, TokenVerifier
from guildhall_kit.errors import Unauthenticated


@dataclass(frozen=True, slots=True)
class ClientToken:
    """What a verified client token says."""

    principal: Principal
    client_id: str
    scopes: frozenset[str]
    generation: int
    expires_at: int
    """``exp``, seconds since the epoch."""


class ClientTokens:
    """Issues and verifies client-credentials access tokens."""

    def __init__(
        self,
        signer: PrincipalSigner,
        keys: KeySet,
        *,
        home_org_id: str,
        ttl_s: int,
        leeway_s: int = 5,
    ) -> None:
        """``signer`` carries the external issuer and audience; ``keys`` the public keys."""
        self._signer = signer
        self._verifier = TokenVerifier(
            keys,
            issuer=signer.issuer,
            audience=signer.audience,
            home_org_id=home_org_id,
            leeway_s=leeway_s,
        )
        self.ttl_s = ttl_s
        self.issuer = signer.issuer

    def issue(self, client: OAuthClient, scopes: tuple[str, ...]) -> str:
        """A token for ``client`` with ``scopes`` (already checked against the client)."""
        principal = Principal(
            subject=client.client_id, kind=PrincipalKind.PARTNER, org_id=client.org_id
        )
        extra: dict[str, Any] = {
            "client_id": client.client_id,
            "scope": " ".join(scopes),
            "gen": client.generation,
            "jti": secrets.token_urlsafe(12),
        }
        return self._signer.sign(principal, ttl_s=self.ttl_s, extra_claims=extra)

    def verify(self, token: str) -> ClientToken:
        """The client a valid token was issued to (not yet checked against the store).

        Raises:
            Unauthenticated: the signature, issuer, audience or expiry fail, or
                the claims are not those of a client token.
        """
        claims = self._verifier.verify_claims(token)
        client_id, scope = claims.get("client_id"), claims.get("scope")
        generation = claims.get("gen")
        if (
            claims.get("kind") != PrincipalKind.PARTNER.value
            or not isinstance(client_id, str)
            or client_id != claims.get("sub")
            or not isinstance(scope, str)
            or not isinstance(generation, int)
            or isinstance(generation, bool)
        ):
            raise Unauthenticated("invalid token: not a client token")
        scopes = frozenset(scope.split())
        if not scopes or not scopes <= set(SCOPES):
            raise Unauthenticated("invalid token: unknown scope")
        org = claims.get("org")
        if not isinstance(org, str) or not org:
            raise Unauthenticated("invalid token: no org")
        principal = Principal(subject=client_id, kind=PrincipalKind.PARTNER, org_id=org)
        return ClientToken(principal, client_id, scopes, generation, int(claims["exp"]))
