"""The post service's read model of communities, pinholes, memberships, people and expertise.

Built from the community topic (``guildhall.community.v1``) and the profile topic
(``guildhall.profile.v1``); never from another service's database. It answers
employees' access questions on the hot path without a synchronous call, and the
"questions for me" expertise match. It lags its topics by the consumer lag, so it
never decides for a partner user (docs/adr/0007-post-access-read-model.md).

Collections (all in the post service's own database):

- ``rm_communities``  ``{_id: community_id, visibility, state, name, version}``
- ``rm_pinholes``     ``{_id: pinhole_id, community_id, state, ever_opened, expires_at,
  grants: {org_id: level}, title, version}``
- ``rm_memberships``  ``{_id: "<community>:<person>", community_id, person_id, role,
  membership_version}``; ``role`` is "" once the person left (the document stays, so
  an older event arriving late cannot bring the membership back); a person's
  communities are read by ``person_id`` (index ``by_person``)
- ``rm_people``       ``{_id: person_id, kind, org_id}``
- ``rm_expertise``    ``{_id: person_id, declared: [tag], earned: [tag]}``

Applying events: community and pinhole documents carry the version of the event
that last changed them and ignore older ones; a membership keeps the highest
``membership_version`` applied (the community contract says one person's
membership events may arrive out of order). Every handler is an idempotent
versioned set, so a redelivered or late event changes nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from guildhall.community.v1 import community_pb2 as cpb
from guildhall.community.v1 import events_pb2 as cev
from guildhall.profile.v1 import events_pb2 as pev
from guildhall.profile.v1 import profile_pb2 as ppb
from guildhall_kit.bus import Event
from guildhall_kit.logging import get_logger
from guildhall_kit.mongo import Document, IndexSpec
from guildhall_post.adapters.clock import aware
from guildhall_post.domain.access import (
    CommunityFacts,
    CommunityState,
    PinholeFacts,
    PinholeState,
    Role,
    SpaceFacts,
    Visibility,
)

_log = get_logger(__name__)

COMMUNITIES: Final = "rm_communities"
PINHOLES: Final = "rm_pinholes"
MEMBERSHIPS: Final = "rm_memberships"
PEOPLE: Final = "rm_people"
EXPERTISE: Final = "rm_expertise"
OPEN_CACHE_S: Final = 10.0

_VISIBILITY = {
    cpb.COMMUNITY_VISIBILITY_OPEN: Visibility.OPEN,
    cpb.COMMUNITY_VISIBILITY_PRIVATE: Visibility.PRIVATE,
    cpb.COMMUNITY_VISIBILITY_SECRET: Visibility.SECRET,
}
_COMMUNITY_STATE = {
    cpb.COMMUNITY_STATE_ACTIVE: CommunityState.ACTIVE,
    cpb.COMMUNITY_STATE_ARCHIVED: CommunityState.ARCHIVED,
}
_PINHOLE_STATE = {
    cpb.PINHOLE_STATE_PROPOSED: PinholeState.PROPOSED,
    cpb.PINHOLE_STATE_OPEN: PinholeState.OPEN,
    cpb.PINHOLE_STATE_CLOSED: PinholeState.CLOSED,
}
_ROLE = {
    cpb.ROLE_MEMBER: Role.MEMBER,
    cpb.ROLE_MODERATOR: Role.MODERATOR,
    cpb.ROLE_OWNER: Role.OWNER,
}
_GRANT = {cpb.GRANT_LEVEL_VIEWER: "viewer", cpb.GRANT_LEVEL_CONTRIBUTOR: "contributor"}


async def _each(collection: Any, ids: Sequence[str]) -> list[Document | None]:
    """One point read per id, concurrently, in the order of ``ids``."""
    return list(await asyncio.gather(*(collection.find_one({"_id": i}) for i in ids)))


def read_model_indexes() -> list[IndexSpec]:
    return [
        IndexSpec(PINHOLES, [("community_id", 1)], name="community"),
        IndexSpec(COMMUNITIES, [("visibility", 1)], name="visibility"),
        IndexSpec(MEMBERSHIPS, [("person_id", 1)], name="by_person"),
    ]


@dataclass(frozen=True, slots=True)
class Person:
    """What the read model knows of a person."""

    person_id: str
    partner: bool
    org_id: str


def _community_facts(doc: Mapping[str, Any]) -> CommunityFacts:
    return CommunityFacts(
        community_id=str(doc["_id"]),
        visibility=Visibility(doc["visibility"]),
        state=CommunityState(doc["state"]),
    )


def _pinhole_facts(doc: Mapping[str, Any]) -> PinholeFacts:
    return PinholeFacts(
        pinhole_id=str(doc["_id"]),
        community_id=str(doc["community_id"]),
        state=PinholeState(doc.get("state", PinholeState.PROPOSED.value)),
        ever_opened=bool(doc.get("ever_opened", False)),
        expires_at=aware(doc.get("expires_at")),
        grants=dict(doc.get("grants") or {}),
    )


class ReadModel:
    """Queries and event handlers over the read-model collections."""

    def __init__(
        self, db: AsyncDatabase[Document], *, writer: AsyncDatabase[Document] | None = None
    ) -> None:
        """``db`` for reads, ``writer`` for the event handlers' writes (default ``db``)."""
        self._communities = db[COMMUNITIES]
        self._pinholes = db[PINHOLES]
        self._memberships = db[MEMBERSHIPS]
        self._people = db[PEOPLE]
        self._expertise = db[EXPERTISE]
        self._w = writer if writer is not None else db
        self._open_cache: tuple[float, list[str]] | None = None

    # ------------------------------------------------------------------ queries

    async def spaces(self, space_ids: Iterable[str]) -> dict[str, SpaceFacts]:
        """The known spaces among ``space_ids`` (main spaces and pinholes), by id.

        Point reads by ``_id`` only, concurrently: the one query shape FerretDB 1.x
        answers without scanning the collection (and MongoDB from its primary key).
        """
        ids = sorted(set(space_ids))
        if not ids:
            return {}
        communities = dict(zip(ids, await _each(self._communities, ids), strict=True))
        found: dict[str, SpaceFacts] = {
            i: SpaceFacts(_community_facts(d)) for i, d in communities.items() if d is not None
        }
        rest = [i for i in ids if i not in found]
        pinholes = [_pinhole_facts(d) for d in await _each(self._pinholes, rest) if d is not None]
        parents = sorted({p.community_id for p in pinholes})
        parent_docs = dict(zip(parents, await _each(self._communities, parents), strict=True))
        for pinhole in pinholes:
            parent = parent_docs.get(pinhole.community_id)
            if parent is not None:
                found[pinhole.pinhole_id] = SpaceFacts(_community_facts(parent), pinhole)
        return found

    async def space(self, space_id: str) -> SpaceFacts | None:
        return (await self.spaces([space_id])).get(space_id)

    async def roles(
        self, person_id: str, community_ids: Iterable[str] | None = None
    ) -> dict[str, Role]:
        """The person's role in each community they belong to (or only in ``community_ids``).

        With ``community_ids``: one point read per community. Without: one query of the
        person's memberships (index ``by_person``; tombstones of left ones are skipped).
        """
        if community_ids is None:
            cursor = self._memberships.find(
                {"person_id": person_id}, projection={"community_id": 1, "role": 1}
            )
            return {str(d["community_id"]): Role(d["role"]) async for d in cursor if d.get("role")}
        ids = sorted(set(community_ids))
        docs = await _each(self._memberships, [f"{c}:{person_id}" for c in ids])
        return {c: Role(d["role"]) for c, d in zip(ids, docs, strict=True) if d and d.get("role")}

    async def roles_in(self, community_id: str, person_ids: Iterable[str]) -> dict[str, Role]:
        """The role of each of ``person_ids`` who belongs to the community."""
        ids = sorted(set(person_ids))
        docs = await _each(self._memberships, [f"{community_id}:{p}" for p in ids])
        return {p: Role(d["role"]) for p, d in zip(ids, docs, strict=True) if d and d.get("role")}

    async def member_spaces(self, person_id: str, limit: int) -> list[SpaceFacts]:
        """Main spaces of the person's communities and those communities' pinholes (at most
        ``limit`` spaces; main spaces first)."""
        roles = await self.roles(person_id)
        spaces = list((await self.spaces(sorted(roles))).values())
        if roles and len(spaces) < limit:
            spaces.extend(await self.pinholes_of(roles))
        return spaces[:limit]

    async def open_community_ids(self) -> list[str]:
        """Every open community (their main spaces are readable by every employee).

        A scan of the communities, cached for :data:`OPEN_CACHE_S` seconds: it feeds
        employees' search only, and a community's visibility reaches the read model
        through the same lag anyway.
        """
        now = time.monotonic()
        if self._open_cache is None or now - self._open_cache[0] > OPEN_CACHE_S:
            cursor = self._communities.find(
                {"visibility": Visibility.OPEN.value}, projection={"_id": 1}
            )
            self._open_cache = (now, [str(d["_id"]) async for d in cursor])
        return list(self._open_cache[1])

    async def pinholes_of(self, community_ids: Iterable[str]) -> list[SpaceFacts]:
        """The pinholes of these communities (one ``$in`` query on index ``community``)."""
        ids = sorted(set(community_ids))
        if not ids:
            return []
        cursor = self._pinholes.find(
            {"community_id": ids[0] if len(ids) == 1 else {"$in": ids}},
            projection={"_id": 1},
        )
        pinhole_ids = [str(d["_id"]) async for d in cursor]
        return list((await self.spaces(pinhole_ids)).values())

    async def person(self, person_id: str) -> Person | None:
        doc = await self._people.find_one({"_id": person_id})
        if doc is None:
            return None
        return Person(person_id, partner=doc.get("kind") == "partner", org_id=str(doc["org_id"]))

    async def people(self, person_ids: Iterable[str]) -> dict[str, Person]:
        ids = sorted(set(person_ids))
        docs = await _each(self._people, ids)
        return {
            i: Person(i, d.get("kind") == "partner", str(d["org_id"]))
            for i, d in zip(ids, docs, strict=True)
            if d is not None
        }

    async def expertise(self, person_id: str) -> list[str]:
        """The person's expertise tags, declared and earned, sorted."""
        doc = await self._expertise.find_one({"_id": person_id})
        if doc is None:
            return []
        return sorted(set(doc.get("declared") or []) | set(doc.get("earned") or []))

    # ------------------------------------------------------------------ handlers

    async def handle_community_event(self, event: Event) -> None:
        """Apply one community event. Unknown types are ignored (the topic grows)."""
        handler = _COMMUNITY_HANDLERS.get(event.type)
        if handler is not None:
            await handler(self, event)

    async def handle_profile_event(self, event: Event) -> None:
        """Apply one profile event (people's kind and org, expertise)."""
        if event.type == pev.PersonJoined.DESCRIPTOR.full_name:
            await self._person(event.parse(pev.PersonJoined).person)
        elif event.type == pev.ProfileUpdated.DESCRIPTOR.full_name:
            await self._person(event.parse(pev.ProfileUpdated).person)
        elif event.type == pev.ExpertiseDeclared.DESCRIPTOR.full_name:
            declared = event.parse(pev.ExpertiseDeclared)
            await self._w[EXPERTISE].update_one(
                {"_id": declared.person_id},
                {"$set": {"declared": sorted(set(declared.tags))}},
                upsert=True,
            )
        elif event.type == pev.ExpertiseEarned.DESCRIPTOR.full_name:
            earned = event.parse(pev.ExpertiseEarned)
            if earned.tags:
                await self._w[EXPERTISE].update_one(
                    {"_id": earned.person_id},
                    {"$addToSet": {"earned": {"$each": sorted(set(earned.tags))}}},
                    upsert=True,
                )

    async def _person(self, person: ppb.Person) -> None:
        kind = "partner" if person.kind == ppb.PERSON_KIND_PARTNER_USER else "employee"
        await self._w[PEOPLE].update_one(
            {"_id": person.person_id},
            {"$set": {"kind": kind, "org_id": person.org_id}},
            upsert=True,
        )

    async def _versioned(
        self,
        collection: Any,
        doc_id: str,
        version: int,
        fields: Document,
        extra: Document | None = None,
        *,
        version_field: str = "version",
    ) -> None:
        """Set ``fields`` (and apply ``extra`` operators) unless a newer version is stored."""
        update: Document = {"$set": {**fields, version_field: version}}
        if extra:
            update.update(extra)
        try:
            await self._w[collection.name].update_one(
                {"_id": doc_id, version_field: {"$lt": version}}, update, upsert=True
            )
        except DuplicateKeyError:
            # A newer (or the same) version is stored already: this event is old news.
            return

    async def _community(self, community: cpb.Community) -> None:
        await self._versioned(
            self._communities,
            community.community_id,
            community.version,
            {
                "visibility": _VISIBILITY[community.visibility].value,
                "state": _COMMUNITY_STATE[community.state].value,
                "name": community.name,
            },
        )

    async def _on_created(self, event: Event) -> None:
        created = event.parse(cev.CommunityCreated)
        await self._community(created.community)
        if created.owner_id:
            # The first owner's membership is created with the community: its version 1.
            await self._member(created.community.community_id, created.owner_id, Role.OWNER, 1)

    async def _on_updated(self, event: Event) -> None:
        await self._community(event.parse(cev.CommunityUpdated).community)

    async def _member(
        self, community_id: str, person_id: str, role: Role | None, membership_version: int
    ) -> None:
        """Record the membership at ``membership_version`` unless a newer one is applied."""
        await self._versioned(
            self._memberships,
            f"{community_id}:{person_id}",
            membership_version,
            {
                "community_id": community_id,
                "person_id": person_id,
                "role": role.value if role else "",
            },
            version_field="membership_version",
        )

    async def _on_joined(self, event: Event) -> None:
        joined = event.parse(cev.MemberJoined)
        role = _ROLE.get(joined.role, Role.MEMBER)
        await self._member(joined.community_id, joined.person_id, role, joined.membership_version)

    async def _on_left(self, event: Event) -> None:
        left = event.parse(cev.MemberLeft)
        await self._member(left.community_id, left.person_id, None, left.membership_version)

    async def _on_role(self, event: Event) -> None:
        changed = event.parse(cev.RoleChanged)
        role = _ROLE.get(changed.role, Role.MEMBER)
        await self._member(
            changed.community_id, changed.person_id, role, changed.membership_version
        )

    async def _on_requested(self, event: Event) -> None:
        # A pending request is not a membership, but its version orders what follows.
        requested = event.parse(cev.JoinRequested)
        await self._member(
            requested.community_id, requested.person_id, None, requested.membership_version
        )

    async def _on_rejected(self, event: Event) -> None:
        rejected = event.parse(cev.JoinRequestRejected)
        await self._member(
            rejected.community_id, rejected.person_id, None, rejected.membership_version
        )

    async def _on_proposed(self, event: Event) -> None:
        pinhole = event.parse(cev.PinholeProposed).pinhole
        await self._versioned(
            self._pinholes,
            pinhole.pinhole_id,
            pinhole.version,
            {
                "community_id": pinhole.community_id,
                "state": _PINHOLE_STATE.get(pinhole.state, PinholeState.PROPOSED).value,
                "ever_opened": pinhole.HasField("opened_at"),
                "expires_at": _time(pinhole.expires_at) if pinhole.HasField("expires_at") else None,
                "grants": {g.org_id: _GRANT[g.level] for g in pinhole.grants if g.level in _GRANT},
                "title": pinhole.title,
            },
        )

    async def _on_opened(self, event: Event) -> None:
        opened = event.parse(cev.PinholeOpened)
        await self._versioned(
            self._pinholes,
            opened.pinhole_id,
            opened.version,
            {
                "community_id": opened.community_id,
                "state": PinholeState.OPEN.value,
                "ever_opened": True,
                "expires_at": _time(opened.expires_at) if opened.HasField("expires_at") else None,
                "grants": {g.org_id: _GRANT[g.level] for g in opened.grants if g.level in _GRANT},
            },
        )

    async def _on_granted(self, event: Event) -> None:
        granted = event.parse(cev.PinholeGranted)
        await self._versioned(
            self._pinholes,
            granted.pinhole_id,
            granted.version,
            {
                "community_id": granted.community_id,
                f"grants.{granted.org_id}": _GRANT.get(granted.level, "viewer"),
            },
        )

    async def _on_revoked(self, event: Event) -> None:
        revoked = event.parse(cev.PinholeRevoked)
        await self._versioned(
            self._pinholes,
            revoked.pinhole_id,
            revoked.version,
            {"community_id": revoked.community_id},
            {"$unset": {f"grants.{revoked.org_id}": ""}},
        )

    async def _on_closed(self, event: Event) -> None:
        closed = event.parse(cev.PinholeClosed)
        await self._versioned(
            self._pinholes,
            closed.pinhole_id,
            closed.version,
            {"community_id": closed.community_id, "state": PinholeState.CLOSED.value},
        )


def _time(ts: Any) -> datetime:
    value: datetime = ts.ToDatetime(tzinfo=UTC)
    return value


_COMMUNITY_HANDLERS = {
    cev.CommunityCreated.DESCRIPTOR.full_name: ReadModel._on_created,
    cev.CommunityUpdated.DESCRIPTOR.full_name: ReadModel._on_updated,
    cev.MemberJoined.DESCRIPTOR.full_name: ReadModel._on_joined,
    cev.MemberLeft.DESCRIPTOR.full_name: ReadModel._on_left,
    cev.RoleChanged.DESCRIPTOR.full_name: ReadModel._on_role,
    cev.JoinRequested.DESCRIPTOR.full_name: ReadModel._on_requested,
    cev.JoinRequestRejected.DESCRIPTOR.full_name: ReadModel._on_rejected,
    cev.PinholeProposed.DESCRIPTOR.full_name: ReadModel._on_proposed,
    cev.PinholeOpened.DESCRIPTOR.full_name: ReadModel._on_opened,
    cev.PinholeGranted.DESCRIPTOR.full_name: ReadModel._on_granted,
    cev.PinholeRevoked.DESCRIPTOR.full_name: ReadModel._on_revoked,
    cev.PinholeClosed.DESCRIPTOR.full_name: ReadModel._on_closed,
}
