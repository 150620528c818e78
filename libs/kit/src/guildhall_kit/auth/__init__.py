"""Principals and access-token verification.

A :class:`Principal` is who is calling: an employee of the home enterprise or a
user of a partner organisation. Services receive it from the ``authorization``
metadata (a JWT signed by a key in the configured key set), verified by the
server interceptor, and read it from :func:`current_principal`.
"""

from guildhall_kit.auth.identity import (
    PrincipalSigner,
    ServiceIdentity,
    signing_key,
    trusted_keys,
)
from guildhall_kit.auth.principal import (
    Principal,
    PrincipalKind,
    current_principal,
    principal_scope,
    require_principal,
)
from guildhall_kit.auth.tokens import KeySet, TokenVerifier, mint_token

__all__ = [
    "KeySet",
    "Principal",
    "PrincipalKind",
    "PrincipalSigner",
    "ServiceIdentity",
    "TokenVerifier",
    "current_principal",
    "mint_token",
    "principal_scope",
    "require_principal",
    "signing_key",
    "trusted_keys",
]
