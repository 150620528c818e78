"""Who is calling the gateway: the seam between authentication and the HTTP API.

The HTTP routes only ever see a :class:`Caller`. How one is obtained — a
bearer JWT from the enterprise's OpenID Connect provider, a partner system's
client-credentials token, or the local development issuer — is the business
of an :class:`Authenticator`, chosen once at start-up.

Services never receive the external token: every call the gateway makes on a
caller's behalf carries :meth:`Caller.service_authorization`, a short-lived
token the services verify themselves (signed, never a bare header).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from guildhall_kit.auth import Principal


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated caller of the HTTP API.

    ``client_id`` is set when a partner *system* called with a client-credentials
    token; ``scopes`` are what that token allows (``pinholes:read``,
    ``pinholes:write``); a person signed in interactively has every scope their
    principal allows, shown as the empty set with ``client_id`` None.
    """

    principal: Principal
    authorization: str
    """The ``authorization`` value to send to the services for this caller."""
    client_id: str | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)

    def service_authorization(self) -> str:
        """The metadata value to forward to Guildhall services."""
        return self.authorization


class Authenticator(Protocol):
    """Turns an ``Authorization`` header into a :class:`Caller`."""

    async def authenticate(self, authorization: str | None) -> Caller:
        """The caller the header names.

        Raises:
            guildhall_kit.errors.Unauthenticated: no header, a wrong scheme, or a
                token that does not verify (the message never echoes the token).
        """
        ...
