"""Use cases of partner OAuth clients: register, list, rotate, revoke, and the token grant.

Who may do what (one funnel, :meth:`ClientService._access`):

=====================================  =============================================
a partner org's admin (a partner       everything for its own org's clients
person with the ``admin`` role)
a home admin                           list, read and revoke any partner org's
                                       clients (to cut a leaked one off), never
                                       create or rotate (never sees a secret)
anyone else, and any partner system    the org's clients do not exist for them:
                                       NOT_FOUND, the same answer as a missing org
=====================================  =============================================

Secrets are hashed and checked off the event loop (Argon2id is CPU-bound by
design). The token grant answers an unknown client, a revoked one and a
wrong secret alike, in about the same time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from guildhall_gateway.auth import Caller
from guildhall_gateway.auth.client_store import ClientStore
from guildhall_gateway.auth.client_tokens import ClientTokens
from guildhall_gateway.auth.clients import (
    OAuthClient,
    canonical_scopes,
    hash_secret,
    new_client_id,
    new_secret,
    secret_matches,
)
from guildhall_kit.clock import now_ms
from guildhall_kit.errors import FailedPrecondition, InvalidArgument, NotFound, ResourceExhausted

# Checked when the client id is unknown, so a miss costs what a wrong secret costs.
_DUMMY_HASH = hash_secret("ghcs_not-a-client-secret")


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A successful token grant (RFC 6749 §5.1)."""

    access_token: str
    expires_in: int
    scope: str


class GrantError(Exception):
    """A refused token request; ``error`` is the RFC 6749 §5.2 code."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


class ClientService:
    """Partner OAuth clients: management and the client-credentials grant."""

    def __init__(
        self,
        store: ClientStore,
        tokens: ClientTokens,
        *,
        home_org_id: str,
        max_active_per_org: int,
        clock: Callable[[], datetime] = now_ms,
    ) -> None:
        self._store = store
        self._tokens = tokens
        self._home_org_id = home_org_id
        self._max_active = max_active_per_org
        self._clock = clock

    # --- management --------------------------------------------------------------

    async def create(
        self, caller: Caller, org_id: str, *, name: str, scopes: frozenset[str]
    ) -> tuple[OAuthClient, str]:
        """Register a client of ``org_id``; returns it and its secret (shown this once).

        Raises:
            NotFound: the caller is not the org's admin.
            InvalidArgument: ``name`` blank or too long, ``scopes`` not allowed.
            ResourceExhausted: the org already has its maximum of active clients.
        """
        self._access(caller, org_id, manage=True)
        name = name.strip()
        if not 1 <= len(name) <= 100:
            raise InvalidArgument("name", "must be 1-100 characters")
        try:
            granted = canonical_scopes(scopes)
        except ValueError as exc:
            raise InvalidArgument("scopes", str(exc)) from None
        # Not atomic with the insert: two concurrent creations may both pass at the
        # limit and end one over it. The limit bounds abuse, it is not an invariant.
        if await self._store.count_active(org_id) >= self._max_active:
            raise ResourceExhausted(f"an org may have at most {self._max_active} active clients")
        secret = new_secret()
        client = OAuthClient(
            client_id=new_client_id(),
            org_id=org_id,
            name=name,
            scopes=granted,
            secret_hash=await asyncio.to_thread(hash_secret, secret),
            generation=1,
            created_by=caller.principal.subject,
            created_at=self._clock(),
        )
        await self._store.insert(client)
        return client, secret

    async def list_clients(self, caller: Caller, org_id: str) -> list[OAuthClient]:
        """The org's clients, newest first, revoked ones included.

        Raises:
            NotFound: the caller may not see them.
        """
        self._access(caller, org_id, manage=False)
        return await self._store.list_for_org(org_id)

    async def get(self, caller: Caller, org_id: str, client_id: str) -> OAuthClient:
        """One client of the org.

        Raises:
            NotFound: no such client in that org, or the caller may not see it.
        """
        self._access(caller, org_id, manage=False)
        return await self._client_of(org_id, client_id)

    async def rotate(self, caller: Caller, org_id: str, client_id: str) -> tuple[OAuthClient, str]:
        """Give the client a new secret (returned this once); the old one and every
        token issued under it stop working at once.

        Raises:
            NotFound: no such client in that org, or the caller is not the org's admin.
            FailedPrecondition: the client is revoked, or was rotated concurrently.
        """
        self._access(caller, org_id, manage=True)
        client = await self._client_of(org_id, client_id)
        if not client.active:
            raise FailedPrecondition("the client is revoked")
        secret = new_secret()
        secret_hash = await asyncio.to_thread(hash_secret, secret)
        rotated = await self._store.rotate(
            client_id, generation=client.generation, secret_hash=secret_hash, at=self._clock()
        )
        if rotated is None:
            raise FailedPrecondition("the client was revoked or rotated meanwhile; try again")
        return rotated, secret

    async def revoke(self, caller: Caller, org_id: str, client_id: str) -> OAuthClient:
        """Revoke the client: its secret and every token issued to it stop working at
        once. Revoking a revoked client changes nothing.

        Raises:
            NotFound: no such client in that org, or the caller may not revoke it.
        """
        self._access(caller, org_id, manage=False)
        await self._client_of(org_id, client_id)
        revoked = await self._store.revoke(client_id, by=caller.principal.subject, at=self._clock())
        if revoked is None:
            raise NotFound("client", client_id)
        return revoked

    def _access(self, caller: Caller, org_id: str, *, manage: bool) -> None:
        """The one access funnel of client management (table in the module doc)."""
        principal = caller.principal
        own_admin = (
            caller.client_id is None
            and principal.is_partner
            and principal.is_org_admin
            and principal.org_id == org_id
        )
        home_admin = caller.client_id is None and principal.is_home_admin and not manage
        if org_id == self._home_org_id or not (own_admin or home_admin):
            raise NotFound("org", org_id)

    async def _client_of(self, org_id: str, client_id: str) -> OAuthClient:
        client = await self._store.get(client_id)
        if client is None or client.org_id != org_id:
            raise NotFound("client", client_id)
        return client

    # --- the token grant and per-request check -----------------------------------

    async def grant(self, client_id: str, secret: str, scope: str | None) -> IssuedToken:
        """Client credentials grant (RFC 6749 §4.4) for an authenticated client.

        Raises:
            GrantError: ``invalid_client`` (unknown, revoked or wrong secret — one
                answer for all three), ``invalid_scope`` (more than the client has).
        """
        client = await self._store.get(client_id) if len(client_id) <= 64 else None
        stored_hash = client.secret_hash if client is not None else _DUMMY_HASH
        matches = await asyncio.to_thread(secret_matches, stored_hash, secret)
        if client is None or not matches or not client.active:
            raise GrantError("invalid_client", "client authentication failed")
        scopes = client.granted_scopes(scope)
        if scopes is None:
            raise GrantError("invalid_scope", f"the client may ask for: {' '.join(client.scopes)}")
        token = self._tokens.issue(client, scopes)
        return IssuedToken(token, self._tokens.ttl_s, " ".join(scopes))

    async def still_good(self, client_id: str, org_id: str, generation: int) -> bool:
        """Whether a token issued to ``client_id`` at ``generation`` may still be used."""
        client = await self._store.get(client_id)
        return client is not None and client.org_id == org_id and client.accepts(generation)
