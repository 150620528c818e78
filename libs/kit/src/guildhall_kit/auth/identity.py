"""Tokens a service signs itself: for its own calls, and for a principal it vouches for.

When a service acts on its own behalf (a consumer re-checking a person's
access before delivering a notification, a timer escalating a question), it
calls other services with a token of kind ``service`` signed by its own key
(:class:`ServiceIdentity`). The gateway, having authenticated a person or a
partner system at the edge, calls the services with a short-lived token for
that principal signed by its own key (:class:`PrincipalSigner`). Every service
verifies both like any token, against the configured key set, so the principal
always arrives signed, never as a bare header.

The key comes from ``GUILDHALL_SIGNING_KEY_FILE`` / ``GUILDHALL_SIGNING_KEY_ID``;
for local development, the dev key pair under ``.local/dev-keys`` — refused in
a production deployment.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from guildhall_kit.auth.devkeys import ensure_dev_keys
from guildhall_kit.auth.principal import Principal, PrincipalKind
from guildhall_kit.auth.tokens import KeySet, mint_token
from guildhall_kit.settings import ConfigError, ServiceSettings


def signing_key(settings: ServiceSettings) -> tuple[bytes, str]:
    """The PEM private key and ``kid`` this service signs with.

    Raises:
        ConfigError: no key is configured in a production deployment (the dev key
            would be used), or a key file is set without its ``kid``.
        OSError: the configured key file cannot be read.
    """
    if settings.signing_key_file is None:
        if settings.is_production:
            raise ConfigError(["GUILDHALL_SIGNING_KEY_FILE is required in a production deployment"])
        keys = ensure_dev_keys()
        return keys.private_key_pem, keys.kid
    if not settings.signing_key_id:
        raise ConfigError(["GUILDHALL_SIGNING_KEY_ID is required with GUILDHALL_SIGNING_KEY_FILE"])
    return settings.signing_key_file.read_bytes(), settings.signing_key_id


def trusted_keys(settings: ServiceSettings) -> KeySet:
    """The public keys this deployment's tokens may be signed with.

    ``GUILDHALL_JWT_JWKS_FILE``, or the dev key set outside production.

    Raises:
        ConfigError: no key set is configured in a production deployment.
        OSError, ValueError: the key set file cannot be read or is not a key set.
    """
    if settings.jwt_jwks_file is None:
        if settings.is_production:
            raise ConfigError(["GUILDHALL_JWT_JWKS_FILE is required in a production deployment"])
        return KeySet.from_file(ensure_dev_keys().jwks_path)
    return KeySet.from_file(settings.jwt_jwks_file)


@dataclass(frozen=True)
class PrincipalSigner:
    """Signs short-lived access tokens for principals this service vouches for.

    The tokens carry the standard claims of :mod:`guildhall_kit.auth.tokens`
    (``sub``, ``kind``, ``org``, ``roles``) with this deployment's issuer and
    audience, so every service verifies them as it verifies any token.
    """

    private_key_pem: bytes
    kid: str
    issuer: str
    audience: str

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> PrincipalSigner:
        """The signer configured in ``settings``; see :func:`signing_key` for what it raises."""
        pem, kid = signing_key(settings)
        return cls(pem, kid, settings.jwt_issuer, settings.jwt_audience)

    def sign(
        self,
        principal: Principal,
        *,
        ttl_s: int,
        extra_claims: Mapping[str, Any] | None = None,
    ) -> str:
        """A token for ``principal`` valid ``ttl_s`` seconds from now.

        ``extra_claims`` travel beside the standard ones (for example the OAuth
        client a partner system called with); they may not replace them.
        """
        return mint_token(
            self.private_key_pem,
            kid=self.kid,
            subject=principal.subject,
            kind=principal.kind,
            org_id=principal.org_id,
            roles=sorted(principal.roles),
            issuer=self.issuer,
            audience=self.audience,
            ttl_s=ttl_s,
            extra_claims=extra_claims,
        )


@dataclass
class ServiceIdentity:
    """Mints and caches this service's bearer token; re-mints it before it expires."""

    private_key_pem: bytes
    kid: str
    service_name: str
    home_org_id: str
    issuer: str
    audience: str
    ttl_s: int = 600
    _token: str = ""
    _expires: float = 0.0

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> ServiceIdentity:
        """The identity configured in ``settings`` (the dev key when none is set).

        Raises:
            ConfigError: no signing key in a production deployment.
            OSError: the configured key file cannot be read.
        """
        pem, kid = signing_key(settings)
        return cls(
            private_key_pem=pem,
            kid=kid,
            service_name=settings.service_name,
            home_org_id=settings.home_org_id,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
        )

    def token(self) -> str:
        """A valid service token (cached; a new one when less than a minute is left)."""
        now = time.time()
        if not self._token or now > self._expires - 60:
            signer = PrincipalSigner(self.private_key_pem, self.kid, self.issuer, self.audience)
            self._token = signer.sign(
                Principal(
                    subject=self.service_name,
                    kind=PrincipalKind.SERVICE,
                    org_id=self.home_org_id,
                ),
                ttl_s=self.ttl_s,
            )
            self._expires = now + self.ttl_s
        return self._token

    def authorization(self) -> str:
        """The ``authorization`` metadata value carrying :meth:`token`."""
        return f"Bearer {self.token()}"
