"""Domain events: the facts the community service publishes.

Plain immutable values. The adapter puts each into the outbox of the document
whose write it describes (:class:`.changes.Write`) and maps it to the protobuf
message of the same name in ``guildhall.community.v1``: ``ce_type`` is
``guildhall.community.v1.<ClassName>``; ``ce_subject`` and the Kafka key are
:attr:`CommunityEvent.aggregate_id`; ``ce_time`` is ``occurred_at``.

Keys: community and membership events are keyed by the community id;
pinhole events by the pinhole id (they carry the community id as data, and
the pinhole's new ``version``, the grant version).

Order: the events of one *document* are published in the order they were
written. A community's events come from two kinds of documents — the
community (created, updated, and the staff: moderators and owners joining,
leaving, changing role) and each person's membership (members joining and
leaving, join requests) — and the outbox does not order events of different
documents with each other. So every event about one person's membership
carries ``membership_version``: the version of that person's membership
document the change produced (or, for a moderator added directly, the one it
leads to). Ordered by it, one person's events are in causal order; a consumer
keeps, per (community, person), the highest version it applied and ignores
older ones.

``actor_id`` is the person who caused the change, or None when the service did
(a sweeper recording an expired pinhole).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from .model import CloseReason, CommunityState, Grant, GrantLevel, Role, Visibility


class JoinPath(enum.StrEnum):
    """How a member got in (on :class:`MemberJoined`)."""

    JOINED = "joined"
    """Joined an open community."""
    REQUEST_APPROVED = "request_approved"
    """Their join request was approved."""
    INVITED = "invited"
    """Added by an owner, moderator or home admin."""


class LeaveReason(enum.StrEnum):
    """Why a membership ended (on :class:`MemberLeft`)."""

    LEFT = "left"
    REMOVED = "removed"


@dataclass(frozen=True, slots=True, kw_only=True)
class CommunityEvent:
    """Base of every event."""

    occurred_at: datetime
    actor_id: str | None

    @property
    def aggregate_id(self) -> str:
        """The Kafka key and CloudEvents subject."""
        raise NotImplementedError

    @property
    def event_type(self) -> str:
        """The event's name, e.g. ``"MemberJoined"`` (the protobuf message name)."""
        return type(self).__name__


@dataclass(frozen=True, slots=True, kw_only=True)
class _CommunityKeyed(CommunityEvent):
    community_id: str

    @property
    def aggregate_id(self) -> str:
        return self.community_id


@dataclass(frozen=True, slots=True, kw_only=True)
class _PinholeKeyed(CommunityEvent):
    pinhole_id: str
    community_id: str
    version: int
    """The pinhole's version after this change (the grant version)."""

    @property
    def aggregate_id(self) -> str:
        return self.pinhole_id


# --------------------------------------------------------------- communities


@dataclass(frozen=True, slots=True, kw_only=True)
class _CommunitySnapshot(_CommunityKeyed):
    name: str
    description: str
    visibility: Visibility
    state: CommunityState
    tags: tuple[str, ...]
    version: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CommunityCreated(_CommunitySnapshot):
    """A community exists; ``owner_id``, its creator, is its first owner and member.

    There is no separate MemberJoined for the creator.
    """

    owner_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CommunityUpdated(_CommunitySnapshot):
    """The community's descriptive state after a change; archiving is a change of ``state``.

    ``changed_fields`` names what changed (``name``, ``description``,
    ``visibility``, ``state``).
    """

    changed_fields: tuple[str, ...]


# --------------------------------------------------------------- memberships


@dataclass(frozen=True, slots=True, kw_only=True)
class _MembershipKeyed(_CommunityKeyed):
    person_id: str
    membership_version: int
    """The version of the person's membership document after this change (see the module
    docstring: the order of one person's events)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberJoined(_MembershipKeyed):
    role: Role
    path: JoinPath


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberLeft(_MembershipKeyed):
    """The person is no longer a member; ``role`` is the role they held."""

    reason: LeaveReason
    role: Role


@dataclass(frozen=True, slots=True, kw_only=True)
class RoleChanged(_MembershipKeyed):
    previous_role: Role
    role: Role


@dataclass(frozen=True, slots=True, kw_only=True)
class JoinRequested(_MembershipKeyed):
    """Someone asks to join a private community (the notification service tells its staff)."""

    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class JoinRequestRejected(_MembershipKeyed):
    reason: str


# ------------------------------------------------------------------ pinholes


@dataclass(frozen=True, slots=True, kw_only=True)
class PinholeProposed(_PinholeKeyed):
    title: str
    purpose: str
    expires_at: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class PinholeOpened(_PinholeKeyed):
    """The pinhole opened; ``grants`` (ordered by org id) are in force from now on."""

    expires_at: datetime | None
    grants: tuple[Grant, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class PinholeGranted(_PinholeKeyed):
    """``org_id`` now has ``level``; ``previous_level`` is None for a new grant."""

    org_id: str
    level: GrantLevel
    previous_level: GrantLevel | None


@dataclass(frozen=True, slots=True, kw_only=True)
class PinholeRevoked(_PinholeKeyed):
    org_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PinholeClosed(_PinholeKeyed):
    reason: CloseReason


Event = (
    CommunityCreated
    | CommunityUpdated
    | MemberJoined
    | MemberLeft
    | RoleChanged
    | JoinRequested
    | JoinRequestRejected
    | PinholeProposed
    | PinholeOpened
    | PinholeGranted
    | PinholeRevoked
    | PinholeClosed
)
"""Every event the domain produces."""
