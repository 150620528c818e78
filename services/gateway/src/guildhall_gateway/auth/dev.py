"""The local development issuer: tokens signed by the dev key, for ``make run`` only.

``make token`` (guildhall_kit.auth.devtoken) and bench/demo.py mint tokens with
issuer ``GUILDHALL_JWT_ISSUER`` (``guildhall-dev``) signed by the dev key pair
under .local/dev-keys. The gateway accepts them only when
``GUILDHALL_DEV_ISSUER_ENABLED`` is set, which the settings refuse in the
production deployment (``GUILDHALL_DEPLOYMENT=production``) — so a production
gateway fails at boot rather than trust a key that sits on developers' disks.
"""

from __future__ import annotations

from guildhall_gateway.settings import GatewaySettings
from guildhall_kit.auth import TokenVerifier, trusted_keys
from guildhall_kit.settings import ConfigError


def dev_verifier(settings: GatewaySettings) -> TokenVerifier | None:
    """The dev issuer's verifier when it is enabled, else None.

    Raises:
        ConfigError: enabled in a production deployment (the settings already
            refuse it; checked again so no other path can build one).
    """
    if not settings.dev_issuer_enabled:
        return None
    if settings.is_production:
        raise ConfigError(["GUILDHALL_DEV_ISSUER_ENABLED must be off in a production deployment"])
    return TokenVerifier(
        trusted_keys(settings),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        home_org_id=settings.home_org_id,
    )
