"""Bearer JWTs from the enterprise's OpenID Connect provider.

:class:`OidcKeys` reads the provider's discovery document once and keeps its
JSON Web Key Set, refetched

- when it is older than ``refresh_s`` (the provider rotated its keys long ago),
- when a token names a ``kid`` the cached set lacks (the provider has just
  rotated) — at most once per ``min_refetch_s``, so a flood of tokens with
  made-up ``kid`` values costs the provider one request per period, not one per
  token.

Concurrent requests share one fetch. A failed fetch keeps the keys already
known (an outage of the provider does not sign everyone out); with no key at
all the request fails as UNAVAILABLE, not as a bad token.

:class:`OidcVerifier` checks a token with PyJWT against those keys: signature
with a pinned algorithm list (the token's own ``alg`` header only selects among
them), ``iss``, ``aud``, ``exp``/``nbf``/``iat`` with a clock-skew leeway, then
maps the claims to a principal (:mod:`.claims`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx2
import jwt
from jwt import PyJWK

from guildhall_gateway.auth.claims import ClaimMapping
from guildhall_kit.auth import Principal
from guildhall_kit.errors import Unauthenticated, Unavailable
from guildhall_kit.logging import get_logger

_log = get_logger(__name__)

_MAX_DOCUMENT_BYTES = 512 * 1024
"""A discovery document or key set larger than this is refused (they are a few KB)."""


class ProviderError(Exception):
    """The provider answered something unusable (the message says what)."""


@dataclass(frozen=True, slots=True)
class OidcConfig:
    """Where the provider is and how its key set is cached."""

    issuer: str
    discovery_url: str
    algorithms: tuple[str, ...]
    refresh_s: float = 3600.0
    min_refetch_s: float = 30.0


class OidcKeys:
    """The provider's signing keys by ``kid``, fetched and cached (see the module doc)."""

    def __init__(
        self,
        config: OidcConfig,
        http: httpx2.AsyncClient,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = config
        self._http = http
        self._clock = clock
        self._jwks_uri: str | None = None
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at: float | None = None
        """When the cached set was last fetched successfully."""
        self._attempted_at: float | None = None
        """When a fetch was last started, successful or not (the refetch rate limit)."""
        self._lock = asyncio.Lock()
        self.fetches = 0
        """Key-set fetches started so far (for tests and metrics)."""

    @property
    def kids(self) -> frozenset[str]:
        """The key ids currently cached."""
        return frozenset(self._keys)

    async def key(self, kid: str) -> PyJWK:
        """The key with ``kid``, fetching the key set when it is stale or lacks it.

        Raises:
            Unauthenticated: the provider has no such key (after a refetch, or
                while refetches are rate-limited).
            Unavailable: no key set could be fetched yet.
        """
        now = self._clock()
        stale = self._fetched_at is None or now - self._fetched_at >= self._config.refresh_s
        if stale or kid not in self._keys:
            await self._refetch(kid)
        found = self._keys.get(kid)
        if found is None:
            if not self._keys:
                raise Unavailable("the identity provider's keys cannot be fetched")
            raise Unauthenticated("token signed by an unknown key")
        return found

    async def warm_up(self) -> None:
        """Fetch the discovery document and key set now (start-up); failures are logged."""
        async with self._lock:
            await self._fetch_logged()

    async def _refetch(self, kid: str) -> None:
        async with self._lock:
            # Another request may have fetched while this one waited for the lock.
            now = self._clock()
            fresh = self._fetched_at is not None and now - self._fetched_at < self._config.refresh_s
            if kid in self._keys and fresh:
                return
            # One attempt per period whatever the reason (unknown kid, stale set,
            # provider down): tokens with made-up kids cannot make us hammer it.
            if (
                self._attempted_at is not None
                and now - self._attempted_at < self._config.min_refetch_s
            ):
                return
            await self._fetch_logged()

    async def _fetch_logged(self) -> None:
        self._attempted_at = self._clock()
        self.fetches += 1
        try:
            keys = await self._fetch()
        except (httpx2.HTTPError, ProviderError, ValueError) as exc:
            # The discovery document may have moved the key set; look again next time.
            self._jwks_uri = None
            _log.warning(
                "identity provider key set not fetched; keeping the cached keys",
                issuer=self._config.issuer,
                error=f"{type(exc).__name__}: {exc}",
                cached_kids=sorted(self._keys),
            )
            return
        added = sorted(set(keys) - set(self._keys))
        removed = sorted(set(self._keys) - set(keys))
        self._keys = keys
        self._fetched_at = self._clock()
        if added or removed:
            _log.info(
                "identity provider key set updated",
                issuer=self._config.issuer,
                added=added,
                removed=removed,
            )

    async def _fetch(self) -> dict[str, PyJWK]:
        if self._jwks_uri is None:
            document = await self._get_json(self._config.discovery_url)
            if document.get("issuer") != self._config.issuer:
                # OpenID Connect Discovery 1.0 §4.3: the document must name the issuer
                # it was fetched for, or an attacker's document could swap the keys.
                raise ProviderError(
                    f"discovery document names issuer {document.get('issuer')!r}, "
                    f"expected {self._config.issuer!r}"
                )
            jwks_uri = document.get("jwks_uri")
            if not isinstance(jwks_uri, str) or not jwks_uri:
                raise ProviderError("discovery document has no jwks_uri")
            self._jwks_uri = jwks_uri
        return signing_keys(await self._get_json(self._jwks_uri), self._config.algorithms)

    async def _get_json(self, url: str) -> dict[str, Any]:
        reply = await self._http.get(url, headers={"accept": "application/json"})
        reply.raise_for_status()
        if len(reply.content) > _MAX_DOCUMENT_BYTES:
            raise ProviderError(f"{url} answered {len(reply.content)} bytes")
        body = reply.json()
        if not isinstance(body, dict):
            raise ProviderError(f"{url} did not answer a JSON object")
        return body


def signing_keys(jwks: Mapping[str, Any], algorithms: Sequence[str]) -> dict[str, PyJWK]:
    """The signature keys of a JWKS usable with ``algorithms``, by ``kid``.

    Encryption keys (``use: enc``), keys without a ``kid``, keys whose ``alg``
    is not one of ``algorithms`` and keys PyJWT cannot load are skipped: a
    provider publishing one odd key must not take the others down.

    Raises:
        ProviderError: the document is not a key set.
    """
    raw_keys = jwks.get("keys")
    if not isinstance(raw_keys, list):
        raise ProviderError("the key set has no 'keys' list")
    keys: dict[str, PyJWK] = {}
    for raw in raw_keys:
        if not isinstance(raw, dict):
            continue
        kid, use, alg = raw.get("kid"), raw.get("use", "sig"), raw.get("alg")
        if not isinstance(kid, str) or not kid or use != "sig":
            continue
        if alg is not None and alg not in algorithms:
            continue
        try:
            keys[kid] = PyJWK(raw)
        except jwt.PyJWTError:
            continue
    return keys


class OidcVerifier:
    """Verifies the provider's access tokens and maps them to principals."""

    def __init__(
        self,
        keys: OidcKeys,
        *,
        issuer: str,
        audience: str,
        algorithms: Sequence[str],
        leeway_s: float,
        mapping: ClaimMapping,
        home_org_id: str,
    ) -> None:
        self.issuer = issuer
        self._keys = keys
        self._audience = audience
        self._algorithms = list(algorithms)
        self._leeway = leeway_s
        self._mapping = mapping
        self._home_org_id = home_org_id

    async def verify(self, token: str) -> tuple[Principal, int]:
        """The principal a valid token names, and the token's ``exp``.

        Raises:
            Unauthenticated: malformed, an algorithm not pinned, an unknown key,
                a bad signature, wrong issuer or audience, expired or not yet
                valid, or claims the mapping refuses. The message names the
                check, never the token.
            Unavailable: the provider's keys cannot be fetched at all.
        """
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthenticated("invalid token: not a JWT") from None
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in self._algorithms:
            raise Unauthenticated("invalid token: algorithm not accepted")
        if not isinstance(kid, str) or not kid:
            raise Unauthenticated("invalid token: no key id")
        key = await self._keys.key(kid)
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=self._algorithms,
                issuer=self.issuer,
                audience=self._audience,
                leeway=self._leeway,
                options={"require": ["exp", "iat", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"invalid token: {type(exc).__name__}") from None
        return self._mapping.principal(claims, home_org_id=self._home_org_id), int(claims["exp"])
