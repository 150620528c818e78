"""The gRPC face of the profile service: ``guildhall.profile.v1.ProfileService``.

Thin by design. The kit's interceptor has already authenticated the caller,
validated the request against its protovalidate rules and set the deadline;
it also maps domain errors to status codes. Each method here checks which
kind of principal may call it (:class:`~guildhall_profile.application.access.Gate`,
before any lookup), reads people only through
:class:`~guildhall_profile.application.access.PeopleAccess`, calls one use case
and shapes the response.
"""

from __future__ import annotations

from typing import Any

import grpc

from guildhall.profile.v1 import profile_pb2, profile_pb2_grpc
from guildhall_kit.auth import Principal
from guildhall_kit.errors import NotFound
from guildhall_profile.adapters.convert import (
    ORG_KINDS_BY_PROTO,
    ORG_STATES_BY_PROTO,
    card_message,
    expert_message,
    org_message,
    person_message,
)
from guildhall_profile.application.access import Gate, PeopleAccess
from guildhall_profile.application.directory import Directory
from guildhall_profile.application.orgs import Orgs
from guildhall_profile.application.people import People
from guildhall_profile.domain.model import Person

Context = grpc.aio.ServicerContext[Any, Any]


def _authorization(context: Context) -> str | None:
    for key, value in context.invocation_metadata() or ():
        if key == "authorization" and isinstance(value, str):
            return value
    return None


class ProfileServicer(profile_pb2_grpc.ProfileServiceServicer):
    """Every RPC of ProfileService."""

    def __init__(
        self, orgs: Orgs, people: People, directory: Directory, access: PeopleAccess
    ) -> None:
        self._orgs = orgs
        self._persons = people
        self._directory = directory
        self._people = access
        self._gate = Gate
        self._org_names = orgs.names

    # --- helpers ------------------------------------------------------------------------------

    async def _person_messages(self, people: list[Person]) -> list[profile_pb2.Person]:
        names = await self._org_names([p.org_id for p in people])
        return [person_message(p, names[p.org_id]) for p in people]

    async def _card_messages(self, people: list[Person]) -> list[profile_pb2.PersonCard]:
        names = await self._org_names([p.org_id for p in people])
        return [card_message(p, names[p.org_id]) for p in people]

    async def _visible(
        self, principal: Principal, ids: list[str], context: Context
    ) -> list[Person]:
        return await self._people.visible(
            principal,
            ids,
            authorization=_authorization(context),
            time_left=context.time_remaining(),
        )

    async def _me(self, principal: Principal) -> Person:
        """The caller's own person record (NOT_FOUND when their token names nobody here)."""
        await self._people.check_partner_org(principal)
        person = await self._persons.find(principal.subject)
        if person is None or person.org_id != principal.org_id:
            raise NotFound("person", principal.subject)
        return person

    # --- organisations ------------------------------------------------------------------------

    async def RegisterOrg(
        self, request: profile_pb2.RegisterOrgRequest, context: Context
    ) -> profile_pb2.RegisterOrgResponse:
        actor = self._gate.home_admin()
        org = await self._orgs.register(
            actor.subject,
            org_id=request.org_id,
            kind=ORG_KINDS_BY_PROTO[request.kind],
            name=request.display_name,
        )
        return profile_pb2.RegisterOrgResponse(org=org_message(org))

    async def GetOrg(
        self, request: profile_pb2.GetOrgRequest, context: Context
    ) -> profile_pb2.GetOrgResponse:
        principal = self._gate.anyone()
        if principal.is_partner:
            await self._people.check_partner_org(principal)
            if request.org_id != principal.org_id:
                raise NotFound("org", request.org_id)
        org = await self._orgs.get(request.org_id)
        return profile_pb2.GetOrgResponse(org=org_message(org))

    async def ListOrgs(
        self, request: profile_pb2.ListOrgsRequest, context: Context
    ) -> profile_pb2.ListOrgsResponse:
        self._gate.employee_or_service()
        orgs, token = await self._orgs.list(
            kind=ORG_KINDS_BY_PROTO.get(request.kind),
            state=ORG_STATES_BY_PROTO.get(request.state),
            size=request.page_size,
            token=request.page_token,
        )
        return profile_pb2.ListOrgsResponse(
            orgs=[org_message(o) for o in orgs], next_page_token=token
        )

    async def SuspendOrg(
        self, request: profile_pb2.SuspendOrgRequest, context: Context
    ) -> profile_pb2.SuspendOrgResponse:
        actor = self._gate.home_admin()
        org = await self._orgs.suspend(actor.subject, request.org_id, request.reason)
        return profile_pb2.SuspendOrgResponse(org=org_message(org))

    async def ReinstateOrg(
        self, request: profile_pb2.ReinstateOrgRequest, context: Context
    ) -> profile_pb2.ReinstateOrgResponse:
        actor = self._gate.home_admin()
        org = await self._orgs.reinstate(actor.subject, request.org_id)
        return profile_pb2.ReinstateOrgResponse(org=org_message(org))

    # --- people -------------------------------------------------------------------------------

    async def CreatePerson(
        self, request: profile_pb2.CreatePersonRequest, context: Context
    ) -> profile_pb2.CreatePersonResponse:
        actor = self._gate.home_admin()
        person = await self._persons.create(
            actor.subject,
            person_id=request.person_id,
            org_id=request.org_id,
            display_name=request.display_name,
            email=request.email,
            title=request.title,
            department=request.department,
            location=request.location,
            manager_id=request.manager_id,
            languages=list(request.languages),
        )
        (message,) = await self._person_messages([person])
        return profile_pb2.CreatePersonResponse(person=message)

    async def GetPerson(
        self, request: profile_pb2.GetPersonRequest, context: Context
    ) -> profile_pb2.GetPersonResponse:
        self._gate.employee_or_service()
        person = await self._persons.get(request.person_id)
        (message,) = await self._person_messages([person])
        return profile_pb2.GetPersonResponse(person=message)

    async def BatchGetPeople(
        self, request: profile_pb2.BatchGetPeopleRequest, context: Context
    ) -> profile_pb2.BatchGetPeopleResponse:
        principal = self._gate.employee_or_service()
        people = await self._visible(principal, list(request.person_ids), context)
        return profile_pb2.BatchGetPeopleResponse(people=await self._person_messages(people))

    async def GetMyProfile(
        self, request: profile_pb2.GetMyProfileRequest, context: Context
    ) -> profile_pb2.GetMyProfileResponse:
        person = await self._me(self._gate.person())
        (message,) = await self._person_messages([person])
        return profile_pb2.GetMyProfileResponse(person=message)

    async def UpdateMyProfile(
        self, request: profile_pb2.UpdateMyProfileRequest, context: Context
    ) -> profile_pb2.UpdateMyProfileResponse:
        me = await self._me(self._gate.person())
        person = await self._persons.update_mine(
            me.person_id,
            display_name=request.display_name if request.HasField("display_name") else None,
            bio=request.bio if request.HasField("bio") else None,
            location=request.location if request.HasField("location") else None,
            languages=list(request.languages.languages) if request.HasField("languages") else None,
            expected_version=(
                request.expected_version if request.HasField("expected_version") else None
            ),
        )
        (message,) = await self._person_messages([person])
        return profile_pb2.UpdateMyProfileResponse(person=message)

    async def UpdatePerson(
        self, request: profile_pb2.UpdatePersonRequest, context: Context
    ) -> profile_pb2.UpdatePersonResponse:
        actor = self._gate.home_admin()
        person = await self._persons.update(
            actor.subject,
            request.person_id,
            title=request.title if request.HasField("title") else None,
            department=request.department if request.HasField("department") else None,
            location=request.location if request.HasField("location") else None,
            manager_id=request.manager_id if request.HasField("manager_id") else None,
            expected_version=(
                request.expected_version if request.HasField("expected_version") else None
            ),
        )
        (message,) = await self._person_messages([person])
        return profile_pb2.UpdatePersonResponse(person=message)

    async def GetPersonCard(
        self, request: profile_pb2.GetPersonCardRequest, context: Context
    ) -> profile_pb2.GetPersonCardResponse:
        principal = self._gate.anyone()
        person = await self._people.one(
            principal,
            request.person_id,
            authorization=_authorization(context),
            time_left=context.time_remaining(),
        )
        (card,) = await self._card_messages([person])
        return profile_pb2.GetPersonCardResponse(card=card)

    async def BatchGetPersonCards(
        self, request: profile_pb2.BatchGetPersonCardsRequest, context: Context
    ) -> profile_pb2.BatchGetPersonCardsResponse:
        principal = self._gate.anyone()
        people = await self._visible(principal, list(request.person_ids), context)
        return profile_pb2.BatchGetPersonCardsResponse(cards=await self._card_messages(people))

    async def ListPeopleByDepartment(
        self, request: profile_pb2.ListPeopleByDepartmentRequest, context: Context
    ) -> profile_pb2.ListPeopleByDepartmentResponse:
        self._gate.employee_or_service()
        people, token = await self._persons.by_department(
            request.department, request.page_size, request.page_token
        )
        return profile_pb2.ListPeopleByDepartmentResponse(
            people=await self._person_messages(people), next_page_token=token
        )

    async def GetManagerChain(
        self, request: profile_pb2.GetManagerChainRequest, context: Context
    ) -> profile_pb2.GetManagerChainResponse:
        self._gate.employee_or_service()
        managers = await self._persons.manager_chain(request.person_id)
        return profile_pb2.GetManagerChainResponse(managers=await self._card_messages(managers))

    async def ListDirectReports(
        self, request: profile_pb2.ListDirectReportsRequest, context: Context
    ) -> profile_pb2.ListDirectReportsResponse:
        self._gate.employee_or_service()
        reports, token = await self._persons.direct_reports(
            request.person_id, request.page_size, request.page_token
        )
        return profile_pb2.ListDirectReportsResponse(
            reports=await self._card_messages(reports), next_page_token=token
        )

    # --- expertise ----------------------------------------------------------------------------

    async def SetDeclaredExpertise(
        self, request: profile_pb2.SetDeclaredExpertiseRequest, context: Context
    ) -> profile_pb2.SetDeclaredExpertiseResponse:
        me = await self._me(self._gate.employee())
        person = await self._directory.set_declared(me.person_id, list(request.tags))
        (message,) = await self._person_messages([person])
        return profile_pb2.SetDeclaredExpertiseResponse(person=message)

    async def FindExperts(
        self, request: profile_pb2.FindExpertsRequest, context: Context
    ) -> profile_pb2.FindExpertsResponse:
        self._gate.employee_or_service()
        page, token, found = await self._directory.find_experts(
            list(request.tags), request.page_size, request.page_token
        )
        names = await self._org_names([p.org_id for p in found.values()])
        return profile_pb2.FindExpertsResponse(
            experts=[
                expert_message(m, found[m.person_id], names[found[m.person_id].org_id])
                for m in page.experts
                if m.person_id in found
            ],
            next_page_token=token,
        )
