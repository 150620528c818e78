"""Communities, memberships and roles, join requests."""

from __future__ import annotations

from guildhall_gateway.adapters.http.operations import Operation
from guildhall_gateway.adapters.services import Rpc

PAGE = ("page_size", "page_token")
C = "/v1/communities/{community_id}"


def _c(method: str) -> Rpc:
    return Rpc("community", method)


OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "createCommunity",
        "POST",
        "/v1/communities",
        _c("CreateCommunity"),
        "Create a community with the caller as its owner",
        "communities",
        body=("name", "description", "visibility", "tags"),
        status=201,
        etag="community.version",
    ),
    Operation(
        "listCommunities",
        "GET",
        "/v1/communities",
        _c("ListCommunities"),
        "The communities the caller can see, by name",
        "communities",
        query=("name_prefix", "visibility", "include_archived", *PAGE),
    ),
    Operation(
        "getCommunity",
        "GET",
        C,
        _c("GetCommunity"),
        "A community and the caller's membership in it",
        "communities",
        etag="community.version",
    ),
    Operation(
        "updateCommunity",
        "PATCH",
        C,
        _c("UpdateCommunity"),
        "Change a community's name, description or visibility",
        "communities",
        body=("name", "description", "visibility"),
        if_match="expected_version",
        etag="community.version",
    ),
    Operation(
        "archiveCommunity",
        "POST",
        C + "/archive",
        _c("ArchiveCommunity"),
        "Archive a community for good (its pinholes close)",
        "communities",
        etag="community.version",
    ),
    Operation(
        "listMyCommunities",
        "GET",
        "/v1/me/communities",
        _c("ListMyCommunities"),
        "The communities the caller belongs to, with their role",
        "me",
        query=PAGE,
    ),
    Operation(
        "joinCommunity",
        "POST",
        C + "/join",
        _c("JoinCommunity"),
        "Join an open community",
        "memberships",
    ),
    Operation(
        "leaveCommunity",
        "POST",
        C + "/leave",
        _c("LeaveCommunity"),
        "Leave a community",
        "memberships",
    ),
    Operation(
        "listMembers",
        "GET",
        C + "/members",
        _c("ListMembers"),
        "A community's members, oldest first",
        "memberships",
        query=("role", *PAGE),
    ),
    Operation(
        "inviteMember",
        "POST",
        C + "/members",
        _c("InviteMember"),
        "Add an employee as member or moderator",
        "memberships",
        body=("person_id", "role"),
        status=201,
    ),
    Operation(
        "removeMember",
        "DELETE",
        C + "/members/{person_id}",
        _c("RemoveMember"),
        "Remove a member",
        "memberships",
    ),
    Operation(
        "changeRole",
        "PUT",
        C + "/members/{person_id}/role",
        _c("ChangeRole"),
        "Change a member's role",
        "memberships",
        body=("role",),
    ),
    Operation(
        "requestMembership",
        "POST",
        C + "/join-requests",
        _c("RequestMembership"),
        "Ask to join a private community",
        "join-requests",
        body=("message",),
        status=201,
    ),
    Operation(
        "listJoinRequests",
        "GET",
        C + "/join-requests",
        _c("ListJoinRequests"),
        "A community's join requests, oldest first",
        "join-requests",
        query=("state", *PAGE),
    ),
    Operation(
        "approveJoinRequest",
        "POST",
        C + "/join-requests/{person_id}/approve",
        _c("ApproveJoinRequest"),
        "Approve a pending join request",
        "join-requests",
    ),
    Operation(
        "rejectJoinRequest",
        "POST",
        C + "/join-requests/{person_id}/reject",
        _c("RejectJoinRequest"),
        "Reject a pending join request",
        "join-requests",
        body=("reason",),
    ),
)
