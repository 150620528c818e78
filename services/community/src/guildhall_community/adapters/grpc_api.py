"""The gRPC face of the community service: thin handlers over :class:`CommunityApp`.

The kit's interceptor has already verified the token, applied the deadline
and checked the request against its protovalidate rules; domain errors it
maps to statuses. Each handler here only:

1. takes the caller's principal, refusing the kinds the method is not open
   to *before any lookup* (partner users may call GetPinhole, GetSpace,
   CheckAccess and ListSpaces; service principals CheckAccess and ListSpaces);
2. converts the request to domain values and calls the application;
3. converts the result to the response message.
"""

from __future__ import annotations

from typing import Any

from guildhall.community.v1 import community_pb2 as pb
from guildhall.community.v1 import community_pb2_grpc
from guildhall_community.application import CommunityApp, MemberView
from guildhall_community.domain import Principal, PrincipalKind, effective_state, visible_grants
from guildhall_kit.auth import Principal as KitPrincipal
from guildhall_kit.auth import PrincipalKind as KitKind
from guildhall_kit.auth import require_principal
from guildhall_kit.errors import InvalidArgument, PermissionDenied

from . import convert as m

Ctx = Any  # grpc.aio.ServicerContext; unused by the handlers

_KIND_IN = {
    pb.PRINCIPAL_KIND_EMPLOYEE: PrincipalKind.EMPLOYEE,
    pb.PRINCIPAL_KIND_PARTNER_USER: PrincipalKind.PARTNER,
}


def to_domain(kit: KitPrincipal) -> Principal:
    """The domain's principal for an authenticated person (employee or partner user)."""
    kind = PrincipalKind.EMPLOYEE if kit.is_employee else PrincipalKind.PARTNER
    return Principal(kit.subject, kind, kit.org_id, is_home_admin=kit.is_home_admin)


def employee() -> Principal:
    """The calling employee.

    Raises:
        Unauthenticated: no token.
        PermissionDenied: a partner user or a service, whatever the request names.
    """
    return to_domain(require_principal(KitKind.EMPLOYEE))


def person() -> Principal:
    """The calling employee or partner user (services are refused)."""
    return to_domain(require_principal(KitKind.EMPLOYEE, KitKind.PARTNER))


def subject_of(request_principal: pb.Principal) -> Principal:
    """The principal a CheckAccess or ListSpaces request asks about, if the caller may ask.

    People may ask about themselves (the same person, org, kind and admin
    flag as their token); home admins and service principals (other
    Guildhall services deciding for a partner's request) about anyone.

    Raises:
        Unauthenticated: no token.
        PermissionDenied: someone else's access, asked by a person who is not a home admin.
        InvalidArgument: ``principal.home_admin`` set for a partner user.
    """
    caller = require_principal()
    kind = _KIND_IN.get(request_principal.kind)
    if kind is None:
        raise InvalidArgument("principal.kind", "not a valid value")
    if kind is PrincipalKind.PARTNER and request_principal.home_admin:
        raise InvalidArgument("principal.home_admin", "partner users are never home admins")
    subject = Principal(
        request_principal.person_id,
        kind,
        request_principal.org_id,
        is_home_admin=request_principal.home_admin,
    )
    if caller.is_service or caller.is_home_admin:
        return subject
    if subject != to_domain(caller):
        raise PermissionDenied("you may only ask about your own access")
    return subject


def _my(view: MemberView) -> pb.Membership | None:
    if (
        view.membership is None
        or view.community.role_of(view.membership.person_id, view.membership) is None
    ):
        return None
    return m.membership_message(view.community, view.membership)


class CommunityServicer(community_pb2_grpc.CommunityServiceServicer):
    """Every CommunityService RPC (see the module docstring)."""

    def __init__(self, app: CommunityApp) -> None:
        self.app = app

    # ------------------------------------------------------------ communities

    async def CreateCommunity(
        self, request: pb.CreateCommunityRequest, context: Ctx
    ) -> pb.CreateCommunityResponse:
        record = await self.app.communities.create(
            employee(),
            name=request.name,
            description=request.description,
            visibility=m.visibility_in(request.visibility, "visibility"),
            tags=list(request.tags),
        )
        return pb.CreateCommunityResponse(
            community=m.community_message(record.community, record.member_count)
        )

    async def GetCommunity(
        self, request: pb.GetCommunityRequest, context: Ctx
    ) -> pb.GetCommunityResponse:
        view = await self.app.communities.get(employee(), request.community_id)
        return pb.GetCommunityResponse(
            community=m.community_message(view.community, view.record.member_count),
            my_membership=_my(view),
        )

    async def ListCommunities(
        self, request: pb.ListCommunitiesRequest, context: Ctx
    ) -> pb.ListCommunitiesResponse:
        page = await self.app.communities.directory(
            employee(),
            prefix=request.name_prefix,
            visibility=(
                None
                if request.visibility == pb.COMMUNITY_VISIBILITY_UNSPECIFIED
                else m.visibility_in(request.visibility, "visibility")
            ),
            include_archived=request.include_archived,
            size=request.page_size,
            token=request.page_token,
        )
        return pb.ListCommunitiesResponse(
            communities=[m.community_message(r.community, r.member_count) for r in page.items],
            next_page_token=page.next_token,
        )

    async def UpdateCommunity(
        self, request: pb.UpdateCommunityRequest, context: Ctx
    ) -> pb.UpdateCommunityResponse:
        record = await self.app.communities.update(
            employee(),
            request.community_id,
            name=request.name if request.HasField("name") else None,
            description=request.description if request.HasField("description") else None,
            visibility=(
                m.visibility_in(request.visibility, "visibility")
                if request.HasField("visibility")
                else None
            ),
            expected_version=(
                request.expected_version if request.HasField("expected_version") else None
            ),
        )
        return pb.UpdateCommunityResponse(
            community=m.community_message(record.community, record.member_count)
        )

    async def ArchiveCommunity(
        self, request: pb.ArchiveCommunityRequest, context: Ctx
    ) -> pb.ArchiveCommunityResponse:
        record = await self.app.communities.archive(employee(), request.community_id)
        return pb.ArchiveCommunityResponse(
            community=m.community_message(record.community, record.member_count)
        )

    # -------------------------------------------------------------- membership

    async def JoinCommunity(
        self, request: pb.JoinCommunityRequest, context: Ctx
    ) -> pb.JoinCommunityResponse:
        view = await self.app.memberships.join(employee(), request.community_id)
        return pb.JoinCommunityResponse(membership=_my(view))

    async def RequestMembership(
        self, request: pb.RequestMembershipRequest, context: Ctx
    ) -> pb.RequestMembershipResponse:
        view = await self.app.memberships.request(employee(), request.community_id, request.message)
        membership = view.membership
        if membership is None or membership.request is None:
            return pb.RequestMembershipResponse()
        return pb.RequestMembershipResponse(
            join_request=m.join_request_message(membership, membership.request)
        )

    async def ListJoinRequests(
        self, request: pb.ListJoinRequestsRequest, context: Ctx
    ) -> pb.ListJoinRequestsResponse:
        page = await self.app.memberships.join_requests(
            employee(),
            request.community_id,
            state=m.join_request_state_in(request.state),
            size=request.page_size,
            token=request.page_token,
        )
        return pb.ListJoinRequestsResponse(
            join_requests=[
                m.join_request_message(ms, ms.request) for ms in page.items if ms.request
            ],
            next_page_token=page.next_token,
        )

    async def ApproveJoinRequest(
        self, request: pb.ApproveJoinRequestRequest, context: Ctx
    ) -> pb.ApproveJoinRequestResponse:
        view = await self.app.memberships.approve(
            employee(), request.community_id, request.person_id
        )
        return pb.ApproveJoinRequestResponse(membership=_my(view))

    async def RejectJoinRequest(
        self, request: pb.RejectJoinRequestRequest, context: Ctx
    ) -> pb.RejectJoinRequestResponse:
        view = await self.app.memberships.reject(
            employee(), request.community_id, request.person_id, request.reason
        )
        membership = view.membership
        if membership is None or membership.request is None:
            return pb.RejectJoinRequestResponse()
        return pb.RejectJoinRequestResponse(
            join_request=m.join_request_message(membership, membership.request)
        )

    async def InviteMember(
        self, request: pb.InviteMemberRequest, context: Ctx
    ) -> pb.InviteMemberResponse:
        view = await self.app.memberships.invite(
            employee(),
            request.community_id,
            request.person_id,
            m.role_in(request.role, "role"),
        )
        return pb.InviteMemberResponse(membership=_my(view))

    async def LeaveCommunity(
        self, request: pb.LeaveCommunityRequest, context: Ctx
    ) -> pb.LeaveCommunityResponse:
        await self.app.memberships.leave(employee(), request.community_id)
        return pb.LeaveCommunityResponse()

    async def RemoveMember(
        self, request: pb.RemoveMemberRequest, context: Ctx
    ) -> pb.RemoveMemberResponse:
        await self.app.memberships.remove(employee(), request.community_id, request.person_id)
        return pb.RemoveMemberResponse()

    async def ChangeRole(
        self, request: pb.ChangeRoleRequest, context: Ctx
    ) -> pb.ChangeRoleResponse:
        view = await self.app.memberships.change_role(
            employee(), request.community_id, request.person_id, m.role_in(request.role, "role")
        )
        return pb.ChangeRoleResponse(membership=_my(view))

    async def ListMembers(
        self, request: pb.ListMembersRequest, context: Ctx
    ) -> pb.ListMembersResponse:
        community, page = await self.app.memberships.members(
            employee(),
            request.community_id,
            role=(None if request.role == pb.ROLE_UNSPECIFIED else m.role_in(request.role, "role")),
            size=request.page_size,
            token=request.page_token,
        )
        return pb.ListMembersResponse(
            memberships=[m.membership_message(community, ms) for ms in page.items],
            next_page_token=page.next_token,
        )

    async def ListMyCommunities(
        self, request: pb.ListMyCommunitiesRequest, context: Ctx
    ) -> pb.ListMyCommunitiesResponse:
        page = await self.app.memberships.mine(
            employee(), size=request.page_size, token=request.page_token
        )
        return pb.ListMyCommunitiesResponse(
            communities=[
                pb.MyCommunity(
                    community=m.community_message(v.community, v.record.member_count),
                    membership=_my(v),
                )
                for v in page.items
            ],
            next_page_token=page.next_token,
        )

    # ----------------------------------------------------------------- pinholes

    async def ProposePinhole(
        self, request: pb.ProposePinholeRequest, context: Ctx
    ) -> pb.ProposePinholeResponse:
        principal = employee()
        pinhole = await self.app.pinholes.propose(
            principal,
            request.community_id,
            title=request.title,
            purpose=request.purpose,
            expires_at=(
                m.datetime_in(request.expires_at) if request.HasField("expires_at") else None
            ),
        )
        return pb.ProposePinholeResponse(
            pinhole=m.pinhole_message(pinhole, visible_grants(principal, pinhole))
        )

    async def OpenPinhole(
        self, request: pb.OpenPinholeRequest, context: Ctx
    ) -> pb.OpenPinholeResponse:
        principal = employee()
        pinhole, _ = await self.app.pinholes.open(principal, request.pinhole_id)
        return pb.OpenPinholeResponse(
            pinhole=m.pinhole_message(pinhole, visible_grants(principal, pinhole))
        )

    async def GrantPinhole(
        self, request: pb.GrantPinholeRequest, context: Ctx
    ) -> pb.GrantPinholeResponse:
        principal = employee()
        pinhole, _ = await self.app.pinholes.grant(
            principal,
            request.pinhole_id,
            request.org_id,
            m.grant_level_in(request.level, "level"),
        )
        return pb.GrantPinholeResponse(
            pinhole=m.pinhole_message(pinhole, visible_grants(principal, pinhole))
        )

    async def RevokeGrant(
        self, request: pb.RevokeGrantRequest, context: Ctx
    ) -> pb.RevokeGrantResponse:
        principal = employee()
        pinhole, _ = await self.app.pinholes.revoke(principal, request.pinhole_id, request.org_id)
        return pb.RevokeGrantResponse(
            pinhole=m.pinhole_message(pinhole, visible_grants(principal, pinhole))
        )

    async def ClosePinhole(
        self, request: pb.ClosePinholeRequest, context: Ctx
    ) -> pb.ClosePinholeResponse:
        principal = employee()
        pinhole, _ = await self.app.pinholes.close(principal, request.pinhole_id)
        return pb.ClosePinholeResponse(
            pinhole=m.pinhole_message(pinhole, visible_grants(principal, pinhole))
        )

    async def GetPinhole(
        self, request: pb.GetPinholeRequest, context: Ctx
    ) -> pb.GetPinholeResponse:
        principal = person()
        pinhole, community = await self.app.access.get_pinhole(principal, request.pinhole_id)
        state = effective_state(pinhole, community, self.app.now())
        return pb.GetPinholeResponse(
            pinhole=m.pinhole_message(pinhole, visible_grants(principal, pinhole), state)
        )

    async def ListPinholes(
        self, request: pb.ListPinholesRequest, context: Ctx
    ) -> pb.ListPinholesResponse:
        principal = employee()
        community, page = await self.app.pinholes.of_community(
            principal,
            request.community_id,
            state=m.pinhole_state_in(request.state),
            size=request.page_size,
            token=request.page_token,
        )
        now = self.app.now()
        return pb.ListPinholesResponse(
            pinholes=[
                m.pinhole_message(
                    p, visible_grants(principal, p), effective_state(p, community, now)
                )
                for p in page.items
            ],
            next_page_token=page.next_token,
        )

    # ------------------------------------------------------------ the decision

    async def GetSpace(self, request: pb.GetSpaceRequest, context: Ctx) -> pb.GetSpaceResponse:
        space = await self.app.access.get_space(person(), request.space_id)
        return pb.GetSpaceResponse(space=m.space_message(space, self.app.now()))

    async def CheckAccess(
        self, request: pb.CheckAccessRequest, context: Ctx
    ) -> pb.CheckAccessResponse:
        subject = subject_of(request.principal)
        allowed = await self.app.access.check(
            subject, request.space_id, m.action_in(request.action, "action")
        )
        return pb.CheckAccessResponse(allowed=allowed)

    async def ListSpaces(
        self, request: pb.ListSpacesRequest, context: Ctx
    ) -> pb.ListSpacesResponse:
        subject = subject_of(request.principal)
        now = self.app.now()
        page = await self.app.access.list_spaces(
            subject,
            m.action_in(request.action, "action"),
            size=request.page_size,
            token=request.page_token,
        )
        return pb.ListSpacesResponse(
            spaces=[
                pb.SpaceAccess(
                    space=m.space_message(a.space, now),
                    allowed_actions=m.actions_message(a.actions),
                )
                for a in page.items
            ],
            next_page_token=page.next_token,
        )
