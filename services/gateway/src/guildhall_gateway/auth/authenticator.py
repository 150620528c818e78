"""The gateway's :class:`~guildhall_gateway.auth.Authenticator`: bearer token in, Caller out.

Three kinds of bearer token reach the gateway, told apart by their ``iss``
claim (read unverified only to choose the verifier; each verifier then checks
the issuer itself along with everything else):

============================  ==============================================
the OIDC provider's issuer    employees and partner people (:mod:`.oidc`)
``GUILDHALL_OAUTH_ISSUER``    partner systems, client credentials
                              (:mod:`.client_tokens`); the client must still
                              be active and at the token's secret generation
                              — read from the store on every request, so a
                              revocation or rotation holds at once on every
                              gateway replica
the dev issuer (when on)      ``make token`` / bench/demo.py tokens, signed by
                              the local dev key (:mod:`.dev`)
============================  ==============================================

Any other issuer is refused. For a verified caller the gateway signs a
short-lived token for the services (kit :class:`PrincipalSigner`); a caller's
verification and that token are cached per bearer token until either nears
its expiry, so a busy caller costs one dictionary look-up (plus, for a
partner system, the client read).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import jwt

from guildhall_gateway.auth import Caller
from guildhall_gateway.auth.client_tokens import ClientTokens
from guildhall_gateway.auth.oidc import OidcVerifier
from guildhall_kit.auth import Principal, PrincipalSigner, TokenVerifier
from guildhall_kit.auth.tokens import principal_from_claims
from guildhall_kit.errors import Unauthenticated

ClientCheck = Callable[[str, str, int], Awaitable[bool]]
"""``(client_id, org_id, generation) -> still good?`` (the store, for client tokens)."""

CACHE_SIZE = 10_000
"""Callers kept verified; the least recently used one leaves first."""

_REMINT_MARGIN_S = 60
"""A cached caller whose service token has less than this left is verified afresh."""


@dataclass(frozen=True, slots=True)
class _Entry:
    caller: Caller
    valid_until: float
    """Wall-clock seconds after which the entry is not used."""
    client_generation: int | None


class GatewayAuthenticator:
    """Authenticates ``Authorization: Bearer`` headers (see the module doc)."""

    def __init__(
        self,
        *,
        signer: PrincipalSigner,
        internal_ttl_s: int,
        oidc: OidcVerifier | None = None,
        clients: ClientTokens | None = None,
        client_check: ClientCheck | None = None,
        dev: TokenVerifier | None = None,
        dev_issuer: str = "",
        home_org_id: str = "home",
        clock: Callable[[], float] = time.time,
    ) -> None:
        if (clients is None) != (client_check is None):
            raise ValueError("client tokens need a client check, and the other way round")
        self._signer = signer
        self._internal_ttl = internal_ttl_s
        self._oidc = oidc
        self._clients = clients
        self._client_check = client_check
        self._dev = dev
        self._dev_issuer = dev_issuer
        self._home_org_id = home_org_id
        self._clock = clock
        self._cache: OrderedDict[str, _Entry] = OrderedDict()

    async def authenticate(self, authorization: str | None) -> Caller:
        """The caller an ``Authorization`` header names.

        Raises:
            Unauthenticated: no header, not ``Bearer``, a token of an unknown
                issuer or one that does not verify, or a client token whose
                client was revoked or rotated since.
            Unavailable: the OIDC provider's keys cannot be fetched at all.
        """
        token = bearer_token(authorization)
        now = self._clock()
        entry = self._cache.get(token)
        if entry is not None and now < entry.valid_until:
            self._cache.move_to_end(token)
            if entry.client_generation is not None and entry.caller.client_id is not None:
                await self._check_client(
                    entry.caller.client_id, entry.caller.principal, entry.client_generation
                )
            return entry.caller
        if entry is not None:
            del self._cache[token]
        entry = await self._verify(token, now)
        self._cache[token] = entry
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return entry.caller

    async def _verify(self, token: str, now: float) -> _Entry:
        issuer = unverified_issuer(token)
        if self._oidc is not None and issuer == self._oidc.issuer:
            principal, expires = await self._oidc.verify(token)
            return self._entry(principal, expires, now)
        if self._clients is not None and issuer == self._clients.issuer:
            verified = self._clients.verify(token)
            await self._check_client(verified.client_id, verified.principal, verified.generation)
            extra = {"client_id": verified.client_id, "scope": " ".join(sorted(verified.scopes))}
            return self._entry(
                verified.principal,
                verified.expires_at,
                now,
                client_id=verified.client_id,
                scopes=verified.scopes,
                extra=extra,
                generation=verified.generation,
            )
        if self._dev is not None and issuer == self._dev_issuer:
            claims = self._dev.verify_claims(token)
            principal = principal_from_claims(claims, home_org_id=self._home_org_id)
            return self._entry(principal, int(claims["exp"]), now)
        raise Unauthenticated("token from an issuer this gateway does not accept")

    def _entry(
        self,
        principal: Principal,
        expires_at: int,
        now: float,
        *,
        client_id: str | None = None,
        scopes: frozenset[str] = frozenset(),
        extra: dict[str, Any] | None = None,
        generation: int | None = None,
    ) -> _Entry:
        internal = self._signer.sign(principal, ttl_s=self._internal_ttl, extra_claims=extra)
        caller = Caller(
            principal=principal,
            authorization=f"Bearer {internal}",
            client_id=client_id,
            scopes=scopes,
        )
        valid_until = min(float(expires_at), now + self._internal_ttl - _REMINT_MARGIN_S)
        return _Entry(caller, valid_until, generation)

    async def _check_client(self, client_id: str, principal: Principal, generation: int) -> None:
        assert self._client_check is not None
        if not await self._client_check(client_id, principal.org_id, generation):
            raise Unauthenticated("the client was revoked or its secret rotated")


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` value.

    Raises:
        Unauthenticated: missing, another scheme, or an empty or oversized token.
    """
    scheme, _, token = (authorization or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("authorization must be 'Bearer <token>'")
    if len(token) > 16_384:
        raise Unauthenticated("invalid token: too long")
    return token


def unverified_issuer(token: str) -> str:
    """The ``iss`` a token claims, unverified: only to pick the verifier that checks it.

    Raises:
        Unauthenticated: not a JWT, or no issuer.
    """
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise Unauthenticated("invalid token: not a JWT") from None
    issuer = claims.get("iss")
    if not isinstance(issuer, str) or not issuer:
        raise Unauthenticated("invalid token: no issuer")
    return issuer
