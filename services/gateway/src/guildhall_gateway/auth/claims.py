"""Which claims of an OpenID Connect token say who the person is (pure, no I/O).

Enterprises name things differently: one provider puts the Guildhall person id
in ``sub``, another in ``preferred_username`` or a custom claim; roles may sit
in ``roles`` or, in Keycloak, in ``realm_access.roles``. :class:`ClaimMapping`
is the typed form of the ``GUILDHALL_OIDC_CLAIM_*`` settings and turns the
verified claims of a token into a :class:`~guildhall_kit.auth.Principal`.

Guildhall knows one role, ``admin``, and it means "admin of one's own org":
for an employee a home admin, for a partner person the admin of that partner
org (who may create its OAuth clients). The provider roles listed in
``GUILDHALL_OIDC_ADMIN_ROLES`` map to it; every other provider role is dropped,
so nothing the provider happens to send becomes a Guildhall permission.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from guildhall_kit.auth import Principal, PrincipalKind
from guildhall_kit.errors import Unauthenticated

ADMIN_ROLE = "admin"
"""The one Guildhall role a provider can grant: admin of the person's own org."""

# The id rule every contract applies (protos/guildhall/rules/v1): a person or org id
# the services would refuse is refused here, before any call is made.
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_PERSON_KINDS = {PrincipalKind.EMPLOYEE.value, PrincipalKind.PARTNER.value}


def claim_at(claims: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted ``path`` (``realm_access.roles``), or None when absent.

    A claim whose own name contains a dot is found too: the whole path is
    tried as one name before it is split.
    """
    if path in claims:
        return claims[path]
    node: Any = claims
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


@dataclass(frozen=True, slots=True)
class ClaimMapping:
    """How the provider's claims map to a Guildhall principal."""

    person: str = "sub"
    """Claim with the person id."""
    org: str = "org"
    """Claim with the org id."""
    kind: str = ""
    """Claim with ``employee`` / ``partner``; empty derives the kind from the org."""
    roles: str = "roles"
    """Claim with the provider roles (list, or space-separated string); empty: none."""
    admin_roles: frozenset[str] = frozenset({ADMIN_ROLE})
    """Provider roles that grant Guildhall's ``admin``."""

    @staticmethod
    def split(raw: str) -> frozenset[str]:
        """A comma-separated setting as a set, blanks dropped."""
        return frozenset(part.strip() for part in raw.split(",") if part.strip())

    def principal(self, claims: Mapping[str, Any], *, home_org_id: str) -> Principal:
        """The person the verified ``claims`` name.

        Raises:
            Unauthenticated: a mapped claim is missing or malformed, an id does not
                fit Guildhall's id rule, the kind claim says something other than
                ``employee``/``partner``, or an employee is not of the home org
                (the kit's rule, applied here as in every service).
        """
        person = claim_at(claims, self.person)
        org = claim_at(claims, self.org)
        if not isinstance(person, str) or not _ID.match(person):
            raise Unauthenticated(f"token claim {self.person!r} is not a Guildhall person id")
        if not isinstance(org, str) or not _ID.match(org):
            raise Unauthenticated(f"token claim {self.org!r} is not a Guildhall org id")
        if self.kind:
            raw_kind = claim_at(claims, self.kind)
            if raw_kind not in _PERSON_KINDS:
                raise Unauthenticated(f"token claim {self.kind!r} must be employee or partner")
            kind = PrincipalKind(raw_kind)
        else:
            kind = PrincipalKind.EMPLOYEE if org == home_org_id else PrincipalKind.PARTNER
        if kind is PrincipalKind.EMPLOYEE and org != home_org_id:
            raise Unauthenticated("an employee token must name the home organisation")
        if kind is PrincipalKind.PARTNER and org == home_org_id:
            raise Unauthenticated("a partner token must not name the home organisation")
        roles = frozenset({ADMIN_ROLE}) if self.provider_roles(claims) & self.admin_roles else None
        return Principal(subject=person, kind=kind, org_id=org, roles=roles or frozenset())

    def provider_roles(self, claims: Mapping[str, Any]) -> frozenset[str]:
        """The roles the provider sent, as strings (malformed entries ignored)."""
        if not self.roles:
            return frozenset()
        raw = claim_at(claims, self.roles)
        if isinstance(raw, str):
            return frozenset(raw.split())
        if isinstance(raw, list):
            return frozenset(r for r in raw if isinstance(r, str))
        return frozenset()
