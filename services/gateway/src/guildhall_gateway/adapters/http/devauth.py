"""An authenticator over the kit's token verifier (dev issuer tokens and tests).

It accepts exactly what every service accepts (a JWT signed by a key of the
configured key set) and forwards the same token to the services, which
verify it again themselves. The OIDC / client-credentials authenticator of
guildhall_gateway.auth replaces it where configured.
"""

from __future__ import annotations

from guildhall_gateway.auth import Caller
from guildhall_kit.auth import TokenVerifier
from guildhall_kit.errors import Unauthenticated


class TokenAuthenticator:
    """``Authorization: Bearer <jwt>`` verified against the configured key set."""

    def __init__(self, verifier: TokenVerifier) -> None:
        self._verifier = verifier

    async def authenticate(self, authorization: str | None) -> Caller:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("authorization must be 'Bearer <token>'")
        principal = self._verifier.verify(token.strip())
        if principal.is_service:
            raise Unauthenticated("service tokens are not accepted at the gateway")
        return Caller(principal=principal, authorization=f"Bearer {token.strip()}")
