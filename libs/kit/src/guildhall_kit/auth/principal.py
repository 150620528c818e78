"""Who is calling, carried in a context variable for the duration of one RPC."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from guildhall_kit.errors import PermissionDenied, Unauthenticated


class PrincipalKind(enum.StrEnum):
    """The two kinds of people who call Guildhall."""

    EMPLOYEE = "employee"
    PARTNER = "partner"
    SERVICE = "service"
    """Another Guildhall service acting on its own behalf (relays, consumers, seeding)."""


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller.

    ``subject`` is the person id (or service name), ``org_id`` the organisation
    the person belongs to (the home enterprise for employees). ``roles`` holds
    platform roles: ``admin`` makes the person an admin of their own org (a home
    administrator for an employee, the partner org's administrator for a partner).
    """

    subject: str
    kind: PrincipalKind
    org_id: str
    roles: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_partner(self) -> bool:
        return self.kind is PrincipalKind.PARTNER

    @property
    def is_employee(self) -> bool:
        return self.kind is PrincipalKind.EMPLOYEE

    @property
    def is_home_admin(self) -> bool:
        return self.kind is PrincipalKind.EMPLOYEE and "admin" in self.roles

    @property
    def is_org_admin(self) -> bool:
        """An admin of the principal's own org: the home org for an employee (a home
        admin), the partner org for a partner person (who manages its OAuth clients)."""
        return self.kind is not PrincipalKind.SERVICE and "admin" in self.roles

    @property
    def is_service(self) -> bool:
        return self.kind is PrincipalKind.SERVICE


_current: ContextVar[Principal | None] = ContextVar("guildhall_principal", default=None)


def current_principal() -> Principal | None:
    """The principal of the RPC being served, or None for an anonymous call."""
    return _current.get()


def require_principal(*allowed: PrincipalKind) -> Principal:
    """The current principal, checked against ``allowed`` kinds (any kind if empty).

    Raises:
        Unauthenticated: no principal is set.
        PermissionDenied: the principal's kind is not allowed. The message does
            not mention any object, so nothing about existence leaks.
    """
    principal = _current.get()
    if principal is None:
        raise Unauthenticated("an access token is required")
    if allowed and principal.kind not in allowed:
        raise PermissionDenied(f"{principal.kind.value} principals may not call this method")
    return principal


@contextmanager
def principal_scope(principal: Principal | None) -> Iterator[None]:
    """Run a block as ``principal`` (the interceptor uses this; so can tests and consumers)."""
    token = _current.set(principal)
    try:
        yield
    finally:
        _current.reset(token)
