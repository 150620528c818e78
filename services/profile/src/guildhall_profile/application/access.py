"""Who may call what, and the one funnel through which people are read.

Method-level checks run first, before any lookup, so a refusal says nothing
about the objects named in the request (PERMISSION_DENIED):

- ``Gate.home_admin``: RegisterOrg, SuspendOrg, ReinstateOrg, CreatePerson, UpdatePerson
- ``Gate.employee_or_service``: full profiles, lists, the org chart, the directory
- ``Gate.employee``: SetDeclaredExpertise (a person acting on their own profile)
- ``Gate.person``: GetMyProfile, UpdateMyProfile (a person's own record)
- ``Gate.anyone``: GetPersonCard(s), GetOrg (partners see less, see below)

Service identities (other Guildhall services) read like employees and never
write. An employee token naming another org than the home org never gets
here: the kit's token verifier refuses it (UNAUTHENTICATED) in every service.

:class:`PeopleAccess` is the only way a handler turns person ids into people
a caller may see (STYLE.md habit 4). For employees and services that is
everyone who exists; for a partner user it is the rule of
:mod:`guildhall_profile.domain.visibility`, with the pinholes the partner
can see asked from the community service on every call (exact revocation)
and the hosts and authors of those pinholes from this service's read model.
Whatever a partner may not see is left out exactly like a missing id.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from guildhall_kit.auth import Principal, PrincipalKind, require_principal
from guildhall_kit.clients import Action, CommunityAccessClient
from guildhall_kit.errors import NotFound, PermissionDenied
from guildhall_profile.domain.model import OrgKind, Person
from guildhall_profile.domain.visibility import (
    Participation,
    PartnerScope,
    VisiblePinhole,
    needs_participation,
    partner_visible,
)

if TYPE_CHECKING:
    from guildhall_profile.adapters.repository import ProfileRepository


class Gate:
    """The method-level checks. Each raises Unauthenticated (no token) or
    PermissionDenied (a principal of another kind), naming no object."""

    @staticmethod
    def home_admin() -> Principal:
        """The caller, a home admin."""
        principal = require_principal(PrincipalKind.EMPLOYEE)
        if not principal.is_home_admin:
            raise PermissionDenied("only home administrators may call this method")
        return principal

    @staticmethod
    def employee_or_service() -> Principal:
        """The caller, an employee or a Guildhall service."""
        return require_principal(PrincipalKind.EMPLOYEE, PrincipalKind.SERVICE)

    @staticmethod
    def employee() -> Principal:
        """The caller, an employee (acting as a person)."""
        return require_principal(PrincipalKind.EMPLOYEE)

    @staticmethod
    def anyone() -> Principal:
        """The caller, whoever they are (employee, partner user or service)."""
        return require_principal()

    @staticmethod
    def person() -> Principal:
        """The caller, an employee or a partner user (a person, not a service)."""
        return require_principal(PrincipalKind.EMPLOYEE, PrincipalKind.PARTNER)


class PeopleAccess:
    """The funnel for every read of people a partner could reach."""

    def __init__(self, repo: ProfileRepository, community: CommunityAccessClient) -> None:
        self._repo = repo
        self._community = community

    async def check_partner_org(self, principal: Principal) -> None:
        """Refuse a partner user whose organisation is unknown, not a partner, or suspended.

        Profile owns organisations, so this is read from its own database and
        is exact: a suspension refuses the very next call.

        Raises:
            PermissionDenied: the organisation may not use Guildhall (nothing
                about any requested object is revealed).
        """
        if not principal.is_partner:
            return
        org = await self._repo.get_org(principal.org_id)
        if org is None or org.kind is OrgKind.HOME or not org.is_active:
            raise PermissionDenied("your organisation may not use Guildhall")

    async def partner_scope(
        self, principal: Principal, *, authorization: str | None, time_left: float | None
    ) -> PartnerScope:
        """What the partner user can see right now (their org checked, pinholes asked).

        The community service answers from current state with the caller's own
        token forwarded; nothing of its answer is cached, so a revoked grant or
        a closed pinhole counts from the very next request (ADR 0005).

        Raises:
            PermissionDenied: as :meth:`check_partner_org`.
            Unavailable: the community service did not answer (fails closed).
        """
        await self.check_partner_org(principal)
        spaces = await self._community.list_spaces(
            principal, Action.READ, authorization=authorization, time_left=time_left
        )
        pinholes = tuple(
            VisiblePinhole(s.space_id, s.community_id) for s in spaces if s.is_pinhole and s.is_open
        )
        return PartnerScope(principal.subject, principal.org_id, pinholes)

    async def visible(
        self,
        principal: Principal,
        person_ids: Sequence[str],
        *,
        authorization: str | None,
        time_left: float | None,
    ) -> list[Person]:
        """The people of ``person_ids`` the caller may see, in request order.

        Missing and invisible ids are left out alike. For a partner user the
        decision is taken before anything is read about the people asked
        for, the same way whether they exist or not.

        Raises:
            PermissionDenied: a partner user of a suspended or unknown org.
            Unavailable: the community service did not answer (partners only).
        """
        scope = None
        if principal.is_partner:
            scope = await self.partner_scope(
                principal, authorization=authorization, time_left=time_left
            )
        found = await self._repo.get_people(person_ids)
        ordered = [found[pid] for pid in dict.fromkeys(person_ids) if pid in found]
        if scope is None:
            return ordered
        ask = needs_participation(scope, ordered)
        participation = Participation()
        if ask:
            participation = Participation(
                hosts=frozenset(await self._repo.hosts_among(scope.community_ids, ask)),
                authors=frozenset(await self._repo.authors_among(scope.space_ids, ask)),
            )
        return partner_visible(scope, ordered, participation)

    async def one(
        self,
        principal: Principal,
        person_id: str,
        *,
        authorization: str | None,
        time_left: float | None,
    ) -> Person:
        """The person, if the caller may see them.

        Raises:
            NotFound: missing or not visible to the caller (indistinguishable).
            PermissionDenied, Unavailable: as :meth:`visible`.
        """
        people = await self.visible(
            principal, [person_id], authorization=authorization, time_left=time_left
        )
        if not people:
            raise NotFound("person", person_id)
        return people[0]
