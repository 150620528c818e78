"""A service's own identity: short-lived service tokens it signs for its calls.

When a service acts on its own behalf (a consumer re-checking a person's
access before delivering a notification, a timer escalating a question), it
calls other services with a token of kind ``service`` signed by its own key.
Every service verifies it like any token, against the configured key set, so
the principal always arrives signed, never as a bare header.

The key comes from ``GUILDHALL_SIGNING_KEY_FILE`` / ``GUILDHALL_SIGNING_KEY_ID``;
for local development, the dev key pair under ``.local/dev-keys``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from guildhall_kit.auth.devkeys import ensure_dev_keys
from guildhall_kit.auth.principal import PrincipalKind
from guildhall_kit.auth.tokens import mint_token
from guildhall_kit.settings import ServiceSettings


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
            OSError: the configured key file cannot be read.
        """
        if settings.signing_key_file is not None:
            pem = settings.signing_key_file.read_bytes()
            kid = settings.signing_key_id
        else:
            keys = ensure_dev_keys()
            pem, kid = keys.private_key_pem, keys.kid
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
            self._token = mint_token(
                self.private_key_pem,
                kid=self.kid,
                subject=self.service_name,
                kind=PrincipalKind.SERVICE,
                org_id=self.home_org_id,
                issuer=self.issuer,
                audience=self.audience,
                ttl_s=self.ttl_s,
            )
            self._expires = now + self.ttl_s
        return self._token

    def authorization(self) -> str:
        """The ``authorization`` metadata value carrying :meth:`token`."""
        return f"Bearer {self.token()}"
