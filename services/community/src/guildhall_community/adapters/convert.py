"""Domain values <-> ``guildhall.community.v1`` messages (responses, requests and events).

Pure functions, no I/O. Enum mappings are total: every domain value has its
protobuf value and back, which a unit test checks.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TypeVar

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from guildhall.community.v1 import community_pb2 as pb
from guildhall.community.v1 import events_pb2 as ev
from guildhall_community.domain import (
    Action,
    CloseReason,
    Community,
    CommunityCreated,
    CommunityState,
    CommunityUpdated,
    Event,
    Grant,
    GrantLevel,
    JoinPath,
    JoinRequest,
    JoinRequested,
    JoinRequestRejected,
    JoinRequestState,
    LeaveReason,
    MemberJoined,
    MemberLeft,
    Membership,
    Pinhole,
    PinholeClosed,
    PinholeGranted,
    PinholeOpened,
    PinholeProposed,
    PinholeRevoked,
    PinholeState,
    Role,
    RoleChanged,
    Space,
    SpaceKind,
    Visibility,
    effective_state,
)
from guildhall_community.domain.access import PinholeSpace
from guildhall_kit.errors import InvalidArgument

VISIBILITY = {
    Visibility.OPEN: pb.COMMUNITY_VISIBILITY_OPEN,
    Visibility.PRIVATE: pb.COMMUNITY_VISIBILITY_PRIVATE,
    Visibility.SECRET: pb.COMMUNITY_VISIBILITY_SECRET,
}
COMMUNITY_STATE = {
    CommunityState.ACTIVE: pb.COMMUNITY_STATE_ACTIVE,
    CommunityState.ARCHIVED: pb.COMMUNITY_STATE_ARCHIVED,
}
ROLE = {
    Role.MEMBER: pb.ROLE_MEMBER,
    Role.MODERATOR: pb.ROLE_MODERATOR,
    Role.OWNER: pb.ROLE_OWNER,
}
JOIN_REQUEST_STATE = {
    JoinRequestState.PENDING: pb.JOIN_REQUEST_STATE_PENDING,
    JoinRequestState.APPROVED: pb.JOIN_REQUEST_STATE_APPROVED,
    JoinRequestState.REJECTED: pb.JOIN_REQUEST_STATE_REJECTED,
}
PINHOLE_STATE = {
    PinholeState.PROPOSED: pb.PINHOLE_STATE_PROPOSED,
    PinholeState.OPEN: pb.PINHOLE_STATE_OPEN,
    PinholeState.CLOSED: pb.PINHOLE_STATE_CLOSED,
}
GRANT_LEVEL = {
    GrantLevel.VIEWER: pb.GRANT_LEVEL_VIEWER,
    GrantLevel.CONTRIBUTOR: pb.GRANT_LEVEL_CONTRIBUTOR,
}
CLOSE_REASON = {
    CloseReason.MANUAL: pb.PINHOLE_CLOSE_REASON_MANUAL,
    CloseReason.EXPIRED: pb.PINHOLE_CLOSE_REASON_EXPIRED,
    CloseReason.COMMUNITY_ARCHIVED: pb.PINHOLE_CLOSE_REASON_COMMUNITY_ARCHIVED,
}
ACTION = {
    Action.READ: pb.ACTION_READ,
    Action.POST: pb.ACTION_POST,
    Action.COMMENT: pb.ACTION_COMMENT,
    Action.MODERATE: pb.ACTION_MODERATE,
    Action.ADMINISTER: pb.ACTION_ADMINISTER,
}
SPACE_KIND = {
    SpaceKind.COMMUNITY: pb.SPACE_KIND_COMMUNITY,
    SpaceKind.PINHOLE: pb.SPACE_KIND_PINHOLE,
}
JOIN_PATH = {
    JoinPath.JOINED: ev.JOIN_PATH_JOINED,
    JoinPath.REQUEST_APPROVED: ev.JOIN_PATH_REQUEST_APPROVED,
    JoinPath.INVITED: ev.JOIN_PATH_INVITED,
}
LEAVE_REASON = {
    LeaveReason.LEFT: ev.LEAVE_REASON_LEFT,
    LeaveReason.REMOVED: ev.LEAVE_REASON_REMOVED,
}

_VISIBILITY_IN = {v: k for k, v in VISIBILITY.items()}
_ROLE_IN = {v: k for k, v in ROLE.items()}
_GRANT_LEVEL_IN = {v: k for k, v in GRANT_LEVEL.items()}
_ACTION_IN = {v: k for k, v in ACTION.items()}
_JOIN_REQUEST_STATE_IN = {v: k for k, v in JOIN_REQUEST_STATE.items()}
_PINHOLE_STATE_IN = {v: k for k, v in PINHOLE_STATE.items()}


K = TypeVar("K")
V = TypeVar("V")


def _enum_in(table: dict[V, K], value: V, field: str) -> K:
    try:
        return table[value]
    except KeyError:
        raise InvalidArgument(field, "not a valid value") from None


def visibility_in(value: pb.CommunityVisibility.ValueType, field: str) -> Visibility:
    """Raises InvalidArgument naming ``field`` for UNSPECIFIED or an unknown value."""
    return _enum_in(_VISIBILITY_IN, value, field)


def role_in(value: pb.Role.ValueType, field: str) -> Role:
    """Raises InvalidArgument naming ``field`` for UNSPECIFIED or an unknown value."""
    return _enum_in(_ROLE_IN, value, field)


def grant_level_in(value: pb.GrantLevel.ValueType, field: str) -> GrantLevel:
    """Raises InvalidArgument naming ``field`` for UNSPECIFIED or an unknown value."""
    return _enum_in(_GRANT_LEVEL_IN, value, field)


def action_in(value: pb.Action.ValueType, field: str) -> Action:
    """Raises InvalidArgument naming ``field`` for UNSPECIFIED or an unknown value."""
    return _enum_in(_ACTION_IN, value, field)


def join_request_state_in(value: pb.JoinRequestState.ValueType) -> JoinRequestState | None:
    """None for UNSPECIFIED (a filter meaning "every state")."""
    return _JOIN_REQUEST_STATE_IN.get(value)


def pinhole_state_in(value: pb.PinholeState.ValueType) -> PinholeState | None:
    """None for UNSPECIFIED (a filter meaning "every state")."""
    return _PINHOLE_STATE_IN.get(value)


def ts(value: datetime | None) -> Timestamp | None:
    """A protobuf timestamp, or None to leave the field unset."""
    if value is None:
        return None
    out = Timestamp()
    out.FromDatetime(value.astimezone(UTC))
    return out


def datetime_in(value: Timestamp) -> datetime:
    """A timezone-aware UTC datetime from a protobuf timestamp."""
    return value.ToDatetime(tzinfo=UTC)


# ---------------------------------------------------------------- responses


def community_message(community: Community, member_count: int) -> pb.Community:
    return pb.Community(
        community_id=community.id,
        main_space_id=community.id,
        name=community.name,
        description=community.description,
        visibility=VISIBILITY[community.visibility],
        state=COMMUNITY_STATE[community.state],
        tags=list(community.tags),
        member_count=member_count,
        created_by=community.created_by,
        created_at=ts(community.created_at),
        updated_at=ts(community.updated_at),
        version=community.version,
    )


def membership_message(community: Community, membership: Membership) -> pb.Membership:
    """The membership as listed; the role is the community's staff entry if there is one."""
    role = community.role_of(membership.person_id, membership) or membership.role
    return pb.Membership(
        community_id=membership.community_id,
        person_id=membership.person_id,
        role=ROLE[role],
        joined_at=ts(membership.joined_at),
        role_changed_at=ts(membership.role_changed_at),
    )


def join_request_message(membership: Membership, request: JoinRequest) -> pb.JoinRequest:
    return pb.JoinRequest(
        community_id=membership.community_id,
        person_id=membership.person_id,
        message=request.message,
        state=JOIN_REQUEST_STATE[request.state],
        requested_at=ts(request.requested_at),
        decided_by=request.decided_by or "",
        decided_at=ts(request.decided_at),
        decision_reason=request.reason,
    )


def grant_message(grant: Grant) -> pb.PinholeGrant:
    return pb.PinholeGrant(
        org_id=grant.org_id,
        level=GRANT_LEVEL[grant.level],
        granted_by=grant.granted_by,
        granted_at=ts(grant.granted_at),
    )


def pinhole_message(
    pinhole: Pinhole,
    grants: Iterable[Grant],
    state: PinholeState | None = None,
) -> pb.Pinhole:
    """The pinhole with the given ``grants`` (those the reader may see).

    ``state`` overrides the stored state with the effective one (a pinhole
    past its expiry answers CLOSED before the sweeper recorded it).
    """
    return pb.Pinhole(
        pinhole_id=pinhole.id,
        community_id=pinhole.community_id,
        title=pinhole.title,
        purpose=pinhole.purpose,
        state=PINHOLE_STATE[state or pinhole.state],
        expires_at=ts(pinhole.expires_at),
        grants=[grant_message(g) for g in grants],
        proposed_by=pinhole.proposed_by,
        proposed_at=ts(pinhole.proposed_at),
        opened_by=pinhole.opened_by or "",
        opened_at=ts(pinhole.opened_at),
        closed_by=pinhole.closed_by or "",
        closed_at=ts(pinhole.closed_at),
        close_reason=(
            pb.PINHOLE_CLOSE_REASON_UNSPECIFIED
            if pinhole.close_reason is None
            else CLOSE_REASON[pinhole.close_reason]
        ),
        version=pinhole.version,
    )


def space_message(space: Space, now: datetime) -> pb.Space:
    """The card of a space: what "visible" lets a principal know."""
    community = space.community
    message = pb.Space(
        space_id=space.space_id,
        kind=SPACE_KIND[space.kind],
        community_id=community.id,
        title=community.name,
        visibility=VISIBILITY[community.visibility],
        community_state=COMMUNITY_STATE[community.state],
    )
    if isinstance(space, PinholeSpace):
        message.title = space.pinhole.title
        message.pinhole_state = PINHOLE_STATE[effective_state(space.pinhole, community, now)]
    return message


def actions_message(actions: Iterable[Action]) -> list[pb.Action.ValueType]:
    """Allowed actions in enum order."""
    return sorted(ACTION[a] for a in actions)


# ------------------------------------------------------------------- events


def event_message(event: Event, state: object, member_count: int = 0) -> Message:  # noqa: PLR0911 - one return per event type
    """The ``guildhall.community.v1`` message of a domain event (the same name).

    ``state`` is the document the event is written with (its write's new
    state): community events carry the community as it is after the change,
    with ``member_count`` as the service knew it when deciding.
    """
    match event:
        case CommunityCreated():
            return ev.CommunityCreated(
                community=_snapshot(event, state, member_count), owner_id=event.owner_id
            )
        case CommunityUpdated():
            return ev.CommunityUpdated(
                community=_snapshot(event, state, member_count),
                changed_fields=list(event.changed_fields),
                actor_id=event.actor_id or "",
            )
        case MemberJoined():
            return ev.MemberJoined(
                community_id=event.community_id,
                person_id=event.person_id,
                role=ROLE[event.role],
                path=JOIN_PATH[event.path],
                actor_id=event.actor_id or "",
                joined_at=ts(event.occurred_at),
                membership_version=event.membership_version,
            )
        case MemberLeft():
            return ev.MemberLeft(
                community_id=event.community_id,
                person_id=event.person_id,
                reason=LEAVE_REASON[event.reason],
                actor_id=event.actor_id or "",
                left_at=ts(event.occurred_at),
                membership_version=event.membership_version,
                role=ROLE[event.role],
            )
        case RoleChanged():
            return ev.RoleChanged(
                community_id=event.community_id,
                person_id=event.person_id,
                previous_role=ROLE[event.previous_role],
                role=ROLE[event.role],
                actor_id=event.actor_id or "",
                changed_at=ts(event.occurred_at),
                membership_version=event.membership_version,
            )
        case JoinRequested():
            return ev.JoinRequested(
                community_id=event.community_id,
                person_id=event.person_id,
                message=event.message,
                requested_at=ts(event.occurred_at),
                membership_version=event.membership_version,
            )
        case JoinRequestRejected():
            return ev.JoinRequestRejected(
                community_id=event.community_id,
                person_id=event.person_id,
                reason=event.reason,
                actor_id=event.actor_id or "",
                rejected_at=ts(event.occurred_at),
                membership_version=event.membership_version,
            )
        case _:
            return _pinhole_event(event)


def _pinhole_event(event: Event) -> Message:
    match event:
        case PinholeProposed():
            return ev.PinholeProposed(
                pinhole=pb.Pinhole(
                    pinhole_id=event.pinhole_id,
                    community_id=event.community_id,
                    title=event.title,
                    purpose=event.purpose,
                    state=pb.PINHOLE_STATE_PROPOSED,
                    expires_at=ts(event.expires_at),
                    proposed_by=event.actor_id or "",
                    proposed_at=ts(event.occurred_at),
                    version=event.version,
                )
            )
        case PinholeOpened():
            return ev.PinholeOpened(
                pinhole_id=event.pinhole_id,
                community_id=event.community_id,
                actor_id=event.actor_id or "",
                opened_at=ts(event.occurred_at),
                expires_at=ts(event.expires_at),
                grants=[grant_message(g) for g in event.grants],
                version=event.version,
            )
        case PinholeGranted():
            return ev.PinholeGranted(
                pinhole_id=event.pinhole_id,
                community_id=event.community_id,
                org_id=event.org_id,
                level=GRANT_LEVEL[event.level],
                previous_level=(
                    pb.GRANT_LEVEL_UNSPECIFIED
                    if event.previous_level is None
                    else GRANT_LEVEL[event.previous_level]
                ),
                actor_id=event.actor_id or "",
                granted_at=ts(event.occurred_at),
                version=event.version,
            )
        case PinholeRevoked():
            return ev.PinholeRevoked(
                pinhole_id=event.pinhole_id,
                community_id=event.community_id,
                org_id=event.org_id,
                actor_id=event.actor_id or "",
                revoked_at=ts(event.occurred_at),
                version=event.version,
            )
        case PinholeClosed():
            return ev.PinholeClosed(
                pinhole_id=event.pinhole_id,
                community_id=event.community_id,
                reason=CLOSE_REASON[event.reason],
                actor_id=event.actor_id or "",
                closed_at=ts(event.occurred_at),
                version=event.version,
            )
        case _:
            raise TypeError(f"no message for event {type(event).__name__}")


def _snapshot(
    event: CommunityCreated | CommunityUpdated, state: object, member_count: int
) -> pb.Community:
    if not isinstance(state, Community) or state.id != event.community_id:
        raise TypeError("a community event is written with its community")
    return community_message(state, member_count)
