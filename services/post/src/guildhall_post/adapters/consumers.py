"""Kafka event handlers: the community and profile topics into the read model.

Each handler parses one event and applies it as an idempotent, versioned write of
:class:`~guildhall_post.adapters.repository.ReadModelRepository`, so a redelivered or
late event changes nothing. Unknown event types are ignored (topics grow).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Final

from guildhall.community.v1 import community_pb2 as cpb
from guildhall.community.v1 import events_pb2 as cev
from guildhall.profile.v1 import events_pb2 as pev
from guildhall.profile.v1 import profile_pb2 as ppb
from guildhall_kit.bus import Event
from guildhall_post.adapters.repository import ReadModelRepository
from guildhall_post.domain.access import CommunityState, PinholeState, Role, Visibility

_VISIBILITY: Final = {
    cpb.COMMUNITY_VISIBILITY_OPEN: Visibility.OPEN,
    cpb.COMMUNITY_VISIBILITY_PRIVATE: Visibility.PRIVATE,
    cpb.COMMUNITY_VISIBILITY_SECRET: Visibility.SECRET,
}
_COMMUNITY_STATE: Final = {
    cpb.COMMUNITY_STATE_ACTIVE: CommunityState.ACTIVE,
    cpb.COMMUNITY_STATE_ARCHIVED: CommunityState.ARCHIVED,
}
_PINHOLE_STATE: Final = {
    cpb.PINHOLE_STATE_PROPOSED: PinholeState.PROPOSED,
    cpb.PINHOLE_STATE_OPEN: PinholeState.OPEN,
    cpb.PINHOLE_STATE_CLOSED: PinholeState.CLOSED,
}
_ROLE: Final = {
    cpb.ROLE_MEMBER: Role.MEMBER,
    cpb.ROLE_MODERATOR: Role.MODERATOR,
    cpb.ROLE_OWNER: Role.OWNER,
}
_GRANT: Final = {cpb.GRANT_LEVEL_VIEWER: "viewer", cpb.GRANT_LEVEL_CONTRIBUTOR: "contributor"}


def _time(ts: Any) -> datetime:
    value: datetime = ts.ToDatetime(tzinfo=UTC)
    return value


def _grants(grants: Any) -> dict[str, str]:
    return {g.org_id: _GRANT[g.level] for g in grants if g.level in _GRANT}


class ReadModelConsumers:
    """The handlers of ``post.access`` (community topic) and ``post.profile`` (profile)."""

    def __init__(self, read_model: ReadModelRepository) -> None:
        self._rm = read_model
        self._community: dict[str, Callable[[Event], Awaitable[None]]] = {
            cev.CommunityCreated.DESCRIPTOR.full_name: self._created,
            cev.CommunityUpdated.DESCRIPTOR.full_name: self._updated,
            cev.MemberJoined.DESCRIPTOR.full_name: self._joined,
            cev.MemberLeft.DESCRIPTOR.full_name: self._left,
            cev.RoleChanged.DESCRIPTOR.full_name: self._role,
            cev.JoinRequested.DESCRIPTOR.full_name: self._requested,
            cev.JoinRequestRejected.DESCRIPTOR.full_name: self._rejected,
            cev.PinholeProposed.DESCRIPTOR.full_name: self._proposed,
            cev.PinholeOpened.DESCRIPTOR.full_name: self._opened,
            cev.PinholeGranted.DESCRIPTOR.full_name: self._granted,
            cev.PinholeRevoked.DESCRIPTOR.full_name: self._revoked,
            cev.PinholeClosed.DESCRIPTOR.full_name: self._closed,
        }

    async def community_event(self, event: Event) -> None:
        """Apply one community event."""
        handler = self._community.get(event.type)
        if handler is not None:
            await handler(event)

    async def profile_event(self, event: Event) -> None:
        """Apply one profile event (people's kind and org, expertise)."""
        if event.type == pev.PersonJoined.DESCRIPTOR.full_name:
            await self._person(event.parse(pev.PersonJoined).person)
        elif event.type == pev.ProfileUpdated.DESCRIPTOR.full_name:
            await self._person(event.parse(pev.ProfileUpdated).person)
        elif event.type == pev.ExpertiseDeclared.DESCRIPTOR.full_name:
            declared = event.parse(pev.ExpertiseDeclared)
            await self._rm.declare_expertise(declared.person_id, declared.tags)
        elif event.type == pev.ExpertiseEarned.DESCRIPTOR.full_name:
            earned = event.parse(pev.ExpertiseEarned)
            await self._rm.earn_expertise(earned.person_id, earned.tags)

    async def _person(self, person: ppb.Person) -> None:
        await self._rm.put_person(
            person.person_id,
            partner=person.kind == ppb.PERSON_KIND_PARTNER_USER,
            org_id=person.org_id,
        )

    async def _community_changed(self, community: cpb.Community) -> None:
        await self._rm.put_community(
            community.community_id,
            community.version,
            visibility=_VISIBILITY[community.visibility],
            state=_COMMUNITY_STATE[community.state],
            name=community.name,
        )

    async def _created(self, event: Event) -> None:
        created = event.parse(cev.CommunityCreated)
        await self._community_changed(created.community)
        if created.owner_id:
            # The first owner's membership is created with the community: its version 1.
            await self._rm.put_membership(
                created.community.community_id, created.owner_id, Role.OWNER, 1
            )

    async def _updated(self, event: Event) -> None:
        await self._community_changed(event.parse(cev.CommunityUpdated).community)

    async def _joined(self, event: Event) -> None:
        joined = event.parse(cev.MemberJoined)
        await self._rm.put_membership(
            joined.community_id,
            joined.person_id,
            _ROLE.get(joined.role, Role.MEMBER),
            joined.membership_version,
        )

    async def _left(self, event: Event) -> None:
        left = event.parse(cev.MemberLeft)
        await self._rm.put_membership(
            left.community_id, left.person_id, None, left.membership_version
        )

    async def _role(self, event: Event) -> None:
        changed = event.parse(cev.RoleChanged)
        await self._rm.put_membership(
            changed.community_id,
            changed.person_id,
            _ROLE.get(changed.role, Role.MEMBER),
            changed.membership_version,
        )

    async def _requested(self, event: Event) -> None:
        # A pending request is not a membership, but its version orders what follows.
        requested = event.parse(cev.JoinRequested)
        await self._rm.put_membership(
            requested.community_id, requested.person_id, None, requested.membership_version
        )

    async def _rejected(self, event: Event) -> None:
        rejected = event.parse(cev.JoinRequestRejected)
        await self._rm.put_membership(
            rejected.community_id, rejected.person_id, None, rejected.membership_version
        )

    async def _proposed(self, event: Event) -> None:
        pinhole = event.parse(cev.PinholeProposed).pinhole
        await self._rm.put_pinhole(
            pinhole.pinhole_id,
            pinhole.version,
            pinhole.community_id,
            state=_PINHOLE_STATE.get(pinhole.state, PinholeState.PROPOSED),
            ever_opened=pinhole.HasField("opened_at"),
            expires_at=_time(pinhole.expires_at) if pinhole.HasField("expires_at") else None,
            grants=_grants(pinhole.grants),
            title=pinhole.title,
        )

    async def _opened(self, event: Event) -> None:
        opened = event.parse(cev.PinholeOpened)
        await self._rm.put_pinhole(
            opened.pinhole_id,
            opened.version,
            opened.community_id,
            state=PinholeState.OPEN,
            ever_opened=True,
            expires_at=_time(opened.expires_at) if opened.HasField("expires_at") else None,
            grants=_grants(opened.grants),
        )

    async def _granted(self, event: Event) -> None:
        granted = event.parse(cev.PinholeGranted)
        await self._rm.put_pinhole(
            granted.pinhole_id,
            granted.version,
            granted.community_id,
            grant=(granted.org_id, _GRANT.get(granted.level, "viewer")),
        )

    async def _revoked(self, event: Event) -> None:
        revoked = event.parse(cev.PinholeRevoked)
        await self._rm.put_pinhole(
            revoked.pinhole_id, revoked.version, revoked.community_id, revoke=revoked.org_id
        )

    async def _closed(self, event: Event) -> None:
        closed = event.parse(cev.PinholeClosed)
        await self._rm.put_pinhole(
            closed.pinhole_id, closed.version, closed.community_id, state=PinholeState.CLOSED
        )
