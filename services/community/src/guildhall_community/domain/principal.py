"""Who is asking, as the community domain sees it.

The domain keeps its own small principal type so it depends on nothing but the
standard library (and the kit's error classes). The adapter converts the kit's
authenticated principal (``guildhall_kit.auth.Principal``) into this one at the
edge of each RPC; the ``kind`` values are the same strings (``"employee"``,
``"partner"``). Service principals are not people and never reach the domain:
the adapter rejects them, or acts on behalf of the person a request names.

Facts about a principal that the token does not carry (whether their partner
organisation is suspended, their membership in a community) are passed to the
domain as data (:class:`guildhall_community.domain.access.AccessFacts`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from guildhall_kit.errors import PermissionDenied


class PrincipalKind(enum.StrEnum):
    """The two kinds of people who use Guildhall."""

    EMPLOYEE = "employee"
    """A person of the home enterprise."""
    PARTNER = "partner"
    """A user of a partner organisation (vendor, supplier, customer)."""


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated person.

    ``subject`` is the person id; ``org_id`` the organisation they belong to
    (the home enterprise for every employee). ``is_home_admin`` marks a home
    administrator; only employees can be one.

    Raises:
        ValueError: on construction, for an empty subject or org, or a partner
            flagged as home admin (a programming error in the adapter).
    """

    subject: str
    kind: PrincipalKind
    org_id: str
    is_home_admin: bool = False

    def __post_init__(self) -> None:
        if not self.subject or not self.org_id:
            raise ValueError("a principal needs a subject and an org_id")
        if self.is_home_admin and self.kind is not PrincipalKind.EMPLOYEE:
            raise ValueError("only employees can be home administrators")

    @property
    def is_employee(self) -> bool:
        return self.kind is PrincipalKind.EMPLOYEE

    @property
    def is_partner(self) -> bool:
        return self.kind is PrincipalKind.PARTNER


def require_employee(principal: Principal) -> None:
    """Refuse a partner principal before any object is looked up.

    Every community-service method that changes state, and every method about
    communities and memberships, is employee-only. Calling it as a partner is
    PERMISSION_DENIED whatever the ids in the request, so the answer says
    nothing about whether those objects exist.

    Raises:
        PermissionDenied: ``principal`` is a partner user.
    """
    if not principal.is_employee:
        raise PermissionDenied("partner users may not call this method")
