"""Facts about communities, memberships and pinholes -> read model and notifications.

Membership events of one person may arrive out of order (they are written
through two documents); the read model keeps the highest membership_version
and a notification is sent only for an event that was newer than what the
read model had, so a late, stale event tells nobody anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from guildhall_notification.application.delivery import Fanout, Happening
from guildhall_notification.application.ports import ReadModelsPort
from guildhall_notification.domain import texts
from guildhall_notification.domain.audience import Activity, Relation
from guildhall_notification.domain.model import (
    Kind,
    PinholeState,
    Reason,
    Role,
    Space,
    Template,
    Visibility,
)


class CommunityStore(Protocol):
    async def put_community(
        self, community_id: str, *, name: str, visibility: Visibility, archived: bool, version: int
    ) -> None: ...

    async def put_pinhole(
        self,
        pinhole_id: str,
        *,
        community_id: str,
        version: int,
        title: str | None = ...,
        state: PinholeState | None = ...,
        grants: Mapping[str, str] | None = ...,
        grant: tuple[str, str | None] | None = ...,
    ) -> None: ...

    async def put_membership(
        self, community_id: str, person_id: str, role: Role | None, version: int
    ) -> bool: ...

    async def touch_membership_version(
        self, community_id: str, person_id: str, version: int
    ) -> None: ...

    async def put_owner_if_unknown(self, community_id: str, person_id: str) -> None: ...


class PinholeWebhooks(Protocol):
    async def access_event(
        self,
        *,
        event_id: str,
        event_type: str,
        space_id: str,
        org_ids: list[str],
        data: Mapping[str, Any],
        at: datetime,
    ) -> None: ...


_ROLE_WORDS = {Role.OWNER: "an owner", Role.MODERATOR: "a moderator", Role.MEMBER: "a member"}


class Memberships:
    def __init__(
        self,
        models: ReadModelsPort,
        store: CommunityStore,
        fanout: Fanout,
        *,
        webhooks: PinholeWebhooks | None,
    ) -> None:
        self._models = models
        self._store = store
        self._fanout = fanout
        self._webhooks = webhooks

    async def _tell(
        self,
        event_id: str,
        *,
        space_id: str,
        community_id: str,
        people: list[str],
        subject: str,
        title: str,
        kind: Kind = Kind.MEMBERSHIP,
        actor_id: str = "",
        activity: Activity = Activity.ACCESS_CHANGED,
        relation: Relation = Relation.SELF,
        own_access: bool = True,
    ) -> None:
        if not people:
            return

        def words(_kind: Kind, reason: Reason) -> Template:
            return Template(
                kind=kind,
                reason=reason,
                title=texts.title(title),
                space_id=space_id,
                community_id=community_id,
                actor_id=actor_id,
            )

        await self._fanout.deliver(
            Happening(
                source_event_id=event_id,
                activity=activity,
                space_id=space_id,
                subject=subject,
                texts=words,
                actor_id=actor_id,
                direct={p: frozenset({relation}) for p in people},
                about_own_access=own_access,
            )
        )

    async def _community_name(self, community_id: str) -> str:
        space = await self._models.space(community_id)
        return space.title if space else "a community"

    # -------------------------------------------------------------- communities

    async def community(
        self,
        *,
        community_id: str,
        name: str,
        visibility: Visibility,
        archived: bool,
        version: int,
        owner_id: str = "",
    ) -> None:
        await self._store.put_community(
            community_id, name=name, visibility=visibility, archived=archived, version=version
        )
        if owner_id:
            await self._store.put_owner_if_unknown(community_id, owner_id)

    # -------------------------------------------------------------- memberships

    async def member_changed(
        self,
        event_id: str,
        *,
        community_id: str,
        person_id: str,
        role: Role | None,
        version: int,
        actor_id: str,
        how: str,
    ) -> None:
        """A membership event; ``how`` is joined, approved, invited, left, removed, role."""
        newer = await self._store.put_membership(community_id, person_id, role, version)
        if not newer or actor_id == person_id:
            return
        name = texts.one_line(await self._community_name(community_id), 80)
        role_words = _ROLE_WORDS.get(role, "a member") if role else "a member"
        titles = {
            "approved": f"Your request to join {name} was approved",
            "invited": f"You were added to {name}",
            "removed": f"You were removed from {name}",
            "role": f"You are now {role_words} of {name}",
        }
        title = titles.get(how)
        if title is None:
            return
        await self._tell(
            event_id,
            space_id=community_id,
            community_id=community_id,
            people=[person_id],
            subject=f"membership:{community_id}:{version}",
            title=title,
            actor_id=actor_id,
        )

    async def join_requested(
        self, event_id: str, *, community_id: str, person_id: str, version: int
    ) -> None:
        await self._store.touch_membership_version(community_id, person_id, version)
        name = texts.one_line(await self._community_name(community_id), 80)
        requester = await self._models.person(person_id)
        who = texts.who(requester.display_name if requester else "")
        staff: list[str] = []
        async for batch in self._models.members(community_id, (Role.OWNER, Role.MODERATOR)):
            staff.extend(batch)
        await self._tell(
            event_id,
            space_id=community_id,
            community_id=community_id,
            people=staff,
            subject=f"join:{community_id}:{person_id}:{version}",
            title=f"{who} asked to join {name}",
            actor_id=person_id,
            activity=Activity.JOIN_REQUEST,
            relation=Relation.STAFF,
            own_access=False,
        )

    async def join_rejected(
        self, event_id: str, *, community_id: str, person_id: str, version: int, actor_id: str
    ) -> None:
        await self._store.touch_membership_version(community_id, person_id, version)
        name = texts.one_line(await self._community_name(community_id), 80)
        await self._tell(
            event_id,
            space_id=community_id,
            community_id=community_id,
            people=[person_id],
            subject=f"membership:{community_id}:{version}",
            title=f"Your request to join {name} was declined",
            actor_id=actor_id,
        )

    # ------------------------------------------------------------------ pinholes

    async def pinhole_proposed(
        self,
        *,
        pinhole_id: str,
        community_id: str,
        title: str,
        grants: Mapping[str, str],
        version: int,
    ) -> None:
        await self._store.put_pinhole(
            pinhole_id,
            community_id=community_id,
            version=version,
            title=title,
            state=PinholeState.PROPOSED,
            grants=grants,
        )

    async def _org_people(self, org_ids: list[str]) -> list[str]:
        people: list[str] = []
        for org in org_ids:
            people.extend(await self._models.people_of_org(org))
        return people

    async def _granted(self, event_id: str, space: Space, org_ids: list[str], at: datetime) -> None:
        people = await self._org_people(org_ids)
        if people:
            # Told only if they can read it at this moment (checked exactly).
            await self._tell(
                event_id,
                space_id=space.space_id,
                community_id=space.community_id,
                people=people,
                subject=f"pinhole:{space.space_id}:{event_id}",
                title="Your organisation now takes part in the pinhole "
                + texts.quoted(space.title),
                kind=Kind.PINHOLE_ACCESS,
                own_access=False,
            )
        if self._webhooks is not None and org_ids:
            await self._webhooks.access_event(
                event_id=event_id,
                event_type="pinhole_granted",
                space_id=space.space_id,
                org_ids=org_ids,
                data={"pinhole_id": space.space_id, "title": space.title},
                at=at,
            )

    async def _ended(
        self, event_id: str, space: Space, org_ids: list[str], event_type: str, at: datetime
    ) -> None:
        people = await self._org_people(org_ids)
        await self._tell(
            event_id,
            space_id=space.space_id,
            community_id=space.community_id,
            people=people,
            subject=f"pinhole:{space.space_id}:{event_id}",
            title=f"Your organisation's access to the pinhole {texts.quoted(space.title)} ended",
            kind=Kind.PINHOLE_ACCESS,
        )
        if self._webhooks is not None and org_ids:
            await self._webhooks.access_event(
                event_id=event_id,
                event_type=event_type,
                space_id=space.space_id,
                org_ids=org_ids,
                data={"pinhole_id": space.space_id},
                at=at,
            )

    async def pinhole_opened(
        self,
        event_id: str,
        *,
        pinhole_id: str,
        community_id: str,
        grants: Mapping[str, str],
        version: int,
        at: datetime,
    ) -> None:
        await self._store.put_pinhole(
            pinhole_id,
            community_id=community_id,
            version=version,
            state=PinholeState.OPEN,
            grants=grants,
        )
        space = await self._models.space(pinhole_id)
        if space is not None:
            await self._granted(event_id, space, sorted(grants), at)

    async def pinhole_granted(
        self,
        event_id: str,
        *,
        pinhole_id: str,
        community_id: str,
        org_id: str,
        level: str,
        version: int,
        at: datetime,
    ) -> None:
        await self._store.put_pinhole(
            pinhole_id, community_id=community_id, version=version, grant=(org_id, level)
        )
        space = await self._models.space(pinhole_id)
        if space is not None and space.pinhole_state is PinholeState.OPEN:
            await self._granted(event_id, space, [org_id], at)

    async def pinhole_revoked(
        self,
        event_id: str,
        *,
        pinhole_id: str,
        community_id: str,
        org_id: str,
        version: int,
        at: datetime,
    ) -> None:
        before = await self._models.space(pinhole_id)
        await self._store.put_pinhole(
            pinhole_id, community_id=community_id, version=version, grant=(org_id, None)
        )
        if before is not None and before.pinhole_state is PinholeState.OPEN:
            await self._ended(event_id, before, [org_id], "pinhole_revoked", at)

    async def pinhole_closed(
        self, event_id: str, *, pinhole_id: str, community_id: str, version: int, at: datetime
    ) -> None:
        before = await self._models.space(pinhole_id)
        await self._store.put_pinhole(
            pinhole_id, community_id=community_id, version=version, state=PinholeState.CLOSED
        )
        if before is not None and before.pinhole_state is PinholeState.OPEN:
            await self._ended(event_id, before, sorted(before.grants), "pinhole_closed", at)
