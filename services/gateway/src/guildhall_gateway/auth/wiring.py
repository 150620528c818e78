"""Builds the gateway's authentication from its settings: one call in ``build``.

:func:`build_auth` returns the :class:`GatewayAuthenticator` the HTTP API
authenticates every request with, the :class:`ClientService` behind
``/oauth/token`` and the client management routes (guildhall_gateway.auth.routes,
mounted by the API application), the indexes of the ``oauth_clients``
collection, and what runs beside the service (the OIDC key warm-up) or stops
with it (the HTTP client to the provider).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import httpx2
from pymongo.asynchronous.database import AsyncDatabase

from guildhall_gateway.auth.authenticator import GatewayAuthenticator
from guildhall_gateway.auth.claims import ClaimMapping
from guildhall_gateway.auth.client_service import ClientService
from guildhall_gateway.auth.client_store import ClientStore, indexes
from guildhall_gateway.auth.client_tokens import ClientTokens
from guildhall_gateway.auth.dev import dev_verifier
from guildhall_gateway.auth.oidc import OidcConfig, OidcKeys, OidcVerifier
from guildhall_gateway.settings import GatewaySettings
from guildhall_kit.auth import PrincipalSigner, signing_key, trusted_keys
from guildhall_kit.mongo import Document, IndexSpec
from guildhall_kit.settings import ConfigError


@dataclass
class AuthParts:
    """Authentication, ready to be wired into the service."""

    authenticator: GatewayAuthenticator
    clients: ClientService
    indexes: Sequence[IndexSpec]
    background: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    on_stop: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    oidc: OidcVerifier | None = None
    oidc_keys: OidcKeys | None = None


def oidc_verifier(
    settings: GatewaySettings, http: httpx2.AsyncClient
) -> tuple[OidcVerifier, OidcKeys]:
    """The OIDC verifier the settings describe (``settings.oidc_enabled`` must hold)."""
    algorithms = tuple(settings.oidc_algorithms.split(","))
    keys = OidcKeys(
        OidcConfig(
            issuer=settings.oidc_issuer,
            discovery_url=settings.oidc_discovery,
            algorithms=algorithms,
            refresh_s=settings.oidc_jwks_refresh_seconds,
            min_refetch_s=settings.oidc_jwks_min_refetch_seconds,
        ),
        http,
    )
    mapping = ClaimMapping(
        person=settings.oidc_claim_person,
        org=settings.oidc_claim_org,
        kind=settings.oidc_claim_kind,
        roles=settings.oidc_claim_roles,
        admin_roles=ClaimMapping.split(settings.oidc_admin_roles),
    )
    verifier = OidcVerifier(
        keys,
        issuer=settings.oidc_issuer,
        audience=settings.oidc_audience,
        algorithms=algorithms,
        leeway_s=settings.oidc_leeway_seconds,
        mapping=mapping,
        home_org_id=settings.home_org_id,
    )
    return verifier, keys


def build_auth(
    settings: GatewaySettings,
    db: AsyncDatabase[Document],
    writer: AsyncDatabase[Document],
) -> AuthParts:
    """Authentication for ``settings``.

    Raises:
        ConfigError: issuers that would be confused with one another, a dev
            issuer or dev key in a production deployment, or no way to sign in.
        OSError, ValueError: a configured key file cannot be read.
    """
    issuers = [settings.oauth_issuer, settings.jwt_issuer]
    if settings.oidc_enabled:
        issuers.append(settings.oidc_issuer)
    if len(set(issuers)) != len(issuers):
        raise ConfigError(
            [
                "GUILDHALL_OAUTH_ISSUER, GUILDHALL_JWT_ISSUER and GUILDHALL_OIDC_ISSUER "
                "must all differ (the issuer picks how a token is verified)"
            ]
        )
    if settings.is_production and not settings.oidc_enabled:
        raise ConfigError(["GUILDHALL_OIDC_ISSUER is required in a production deployment"])
    pem, kid = signing_key(settings)
    internal = PrincipalSigner(pem, kid, settings.jwt_issuer, settings.jwt_audience)
    external = PrincipalSigner(pem, kid, settings.oauth_issuer, settings.oauth_audience)
    tokens = ClientTokens(
        external,
        trusted_keys(settings),
        home_org_id=settings.home_org_id,
        ttl_s=settings.oauth_token_ttl_seconds,
    )
    clients = ClientService(
        ClientStore(db, writer),
        tokens,
        home_org_id=settings.home_org_id,
        max_active_per_org=settings.oauth_max_clients_per_org,
    )
    parts_stop: list[Callable[[], Awaitable[None]]] = []
    background: list[Callable[[], Awaitable[None]]] = []
    oidc: OidcVerifier | None = None
    keys: OidcKeys | None = None
    if settings.oidc_enabled:
        http = httpx2.AsyncClient(
            timeout=settings.oidc_http_timeout_seconds, follow_redirects=False
        )
        oidc, keys = oidc_verifier(settings, http)
        background.append(keys.warm_up)
        parts_stop.append(http.aclose)
    authenticator = GatewayAuthenticator(
        signer=internal,
        internal_ttl_s=settings.internal_token_ttl_seconds,
        oidc=oidc,
        clients=tokens,
        client_check=clients.still_good,
        dev=dev_verifier(settings),
        dev_issuer=settings.jwt_issuer,
        home_org_id=settings.home_org_id,
    )
    return AuthParts(
        authenticator=authenticator,
        clients=clients,
        indexes=indexes(),
        background=background,
        on_stop=parts_stop,
        oidc=oidc,
        oidc_keys=keys,
    )
