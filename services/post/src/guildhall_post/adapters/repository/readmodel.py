"""The read model of communities, pinholes, memberships, people and expertise.

Built from the community topic (``guildhall.community.v1``) and the profile topic
(``guildhall.profile.v1``) by :mod:`guildhall_post.adapters.consumers`; never from
another service's database. It answers employees' access questions on the hot path
without a synchronous call, and the "questions for me" expertise match. It lags its
topics by the consumer lag, so it never decides for a partner user
(docs/adr/0007-post-access-read-model.md).

Collections (all in the post service's own database):

- ``rm_communities``  ``{_id: community_id, visibility, state, name, version}``
- ``rm_pinholes``     ``{_id: pinhole_id, community_id, state, ever_opened, expires_at,
  grants: {org_id: level}, title, version}``
- ``rm_memberships``  ``{_id: "<community>:<person>", community_id, person_id, role,
  membership_version}``; ``role`` is "" once the person left (the document stays, so
  an older event arriving late cannot bring the membership back). The ``_id`` is the
  natural key (one membership per community and person), so every event is one
  idempotent upsert; a person's communities are read by ``person_id``.
- ``rm_people``       ``{_id: person_id, kind, org_id}``
- ``rm_expertise``    ``{_id: person_id, declared: [tag], earned: [tag]}`` -- one small
  document per person, always read whole (a bounded set of tags).

Writes: community and pinhole documents carry the version of the event that last
changed them and ignore older ones; a membership keeps the highest
``membership_version`` applied (the community contract says one person's membership
events may arrive out of order). Every write is an idempotent versioned set, so a
redelivered or late event changes nothing.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final, Literal

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from guildhall_kit.clock import aware
from guildhall_kit.mongo import Document, IndexSpec
from guildhall_post.adapters.repository.cache import SpaceSetCache
from guildhall_post.application.ports import Person
from guildhall_post.domain.access import (
    CommunityFacts,
    CommunityState,
    PinholeFacts,
    PinholeState,
    Role,
    SpaceFacts,
    Visibility,
)

COMMUNITIES: Final = "rm_communities"
PINHOLES: Final = "rm_pinholes"
MEMBERSHIPS: Final = "rm_memberships"
PEOPLE: Final = "rm_people"
EXPERTISE: Final = "rm_expertise"
OPEN_CACHE_S: Final = 10.0


class Keep(enum.Enum):
    """A field an event does not carry: the stored value stays."""

    KEEP = 0


KEEP: Final = Keep.KEEP


def read_model_indexes() -> list[IndexSpec]:
    return [
        IndexSpec(PINHOLES, [("community_id", 1)], name="community"),
        IndexSpec(COMMUNITIES, [("visibility", 1)], name="visibility"),
        IndexSpec(MEMBERSHIPS, [("person_id", 1)], name="by_person"),
    ]


ID_BATCH: Final = 500
"""Most ids in one ``{_id: {$in: ...}}`` read."""


async def _by_ids(collection: AsyncCollection[Document], ids: Sequence[str]) -> dict[str, Document]:
    """The documents of ``ids`` that exist, by id: one ``_id $in`` read per :data:`ID_BATCH`
    ids (a member of 500 communities costs one read, not 500)."""
    wanted = sorted(set(ids))
    batches = [wanted[i : i + ID_BATCH] for i in range(0, len(wanted), ID_BATCH)]
    found = await asyncio.gather(
        *(collection.find({"_id": {"$in": b}}).to_list(length=None) for b in batches)
    )
    return {str(d["_id"]): d for docs in found for d in docs}


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


class ReadModelRepository:
    """Queries and versioned writes over the read-model collections."""

    def __init__(
        self,
        db: AsyncDatabase[Document],
        *,
        writer: AsyncDatabase[Document] | None = None,
        space_sets: SpaceSetCache | None = None,
    ) -> None:
        """``db`` for reads, ``writer`` for the consumers' writes (default ``db``);
        ``space_sets`` is told of every change that makes cached home-feed spaces stale."""
        self._db = db
        self._w = writer if writer is not None else db
        self._open_cache: tuple[float, list[str]] | None = None
        self._space_sets = space_sets

    # ------------------------------------------------------------------ queries

    async def spaces(self, space_ids: Iterable[str]) -> dict[str, SpaceFacts]:
        """The known spaces among ``space_ids`` (main spaces and pinholes), by id: reads by
        ``_id`` (communities, then the rest as pinholes, then their communities)."""
        ids = sorted(set(space_ids))
        if not ids:
            return {}
        communities = await _by_ids(self._db[COMMUNITIES], ids)
        found: dict[str, SpaceFacts] = {
            i: SpaceFacts(_community_facts(d)) for i, d in communities.items()
        }
        rest = [i for i in ids if i not in found]
        pinholes = (
            [_pinhole_facts(d) for d in (await _by_ids(self._db[PINHOLES], rest)).values()]
            if rest
            else []
        )
        parents = sorted({p.community_id for p in pinholes} - set(communities))
        parent_docs = {**communities, **(await _by_ids(self._db[COMMUNITIES], parents))}
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

        With ``community_ids``: one ``_id $in`` read. Without: one query of the
        person's memberships (index ``by_person``; left ones are skipped).
        """
        if community_ids is None:
            cursor = self._db[MEMBERSHIPS].find(
                {"person_id": person_id}, projection={"community_id": 1, "role": 1}
            )
            return {str(d["community_id"]): Role(d["role"]) async for d in cursor if d.get("role")}
        docs = await _by_ids(self._db[MEMBERSHIPS], [f"{c}:{person_id}" for c in community_ids])
        return {str(d["community_id"]): Role(d["role"]) for d in docs.values() if d.get("role")}

    async def roles_in(self, community_id: str, person_ids: Iterable[str]) -> dict[str, Role]:
        """The role of each of ``person_ids`` who belongs to the community."""
        docs = await _by_ids(self._db[MEMBERSHIPS], [f"{community_id}:{p}" for p in person_ids])
        return {str(d["person_id"]): Role(d["role"]) for d in docs.values() if d.get("role")}

    async def member_spaces(self, roles: Mapping[str, Role], limit: int) -> list[SpaceFacts]:
        """Main spaces of the communities of ``roles`` (a person's, from :meth:`roles`) and
        those communities' pinholes (at most ``limit`` spaces; main spaces first)."""
        spaces = list((await self.spaces(sorted(roles))).values())
        if roles and len(spaces) < limit:
            spaces.extend(await self.pinholes_of(roles))
        return spaces[:limit]

    async def open_community_ids(self) -> list[str]:
        """Every open community (their main spaces are readable by every employee).

        Index ``visibility``, cached for :data:`OPEN_CACHE_S` seconds: it feeds employees'
        search only, and a community's visibility reaches the read model through the same
        lag anyway.
        """
        now = time.monotonic()
        if self._open_cache is None or now - self._open_cache[0] > OPEN_CACHE_S:
            cursor = self._db[COMMUNITIES].find(
                {"visibility": Visibility.OPEN.value}, projection={"_id": 1}
            )
            self._open_cache = (now, [str(d["_id"]) async for d in cursor])
        return list(self._open_cache[1])

    async def pinholes_of(self, community_ids: Iterable[str]) -> list[SpaceFacts]:
        """The pinholes of these communities (one ``$in`` query on index ``community``)."""
        ids = sorted(set(community_ids))
        if not ids:
            return []
        cursor = self._db[PINHOLES].find(
            {"community_id": ids[0] if len(ids) == 1 else {"$in": ids}}, projection={"_id": 1}
        )
        return list((await self.spaces([str(d["_id"]) async for d in cursor])).values())

    async def people(self, person_ids: Iterable[str]) -> dict[str, Person]:
        docs = await _by_ids(self._db[PEOPLE], list(person_ids))
        return {i: Person(i, d.get("kind") == "partner", str(d["org_id"])) for i, d in docs.items()}

    async def expertise(self, person_id: str) -> list[str]:
        """The person's expertise tags, declared and earned, sorted."""
        doc = await self._db[EXPERTISE].find_one({"_id": person_id})
        if doc is None:
            return []
        return sorted(set(doc.get("declared") or []) | set(doc.get("earned") or []))

    # ------------------------------------------------------------------ writes

    async def _versioned(
        self,
        collection: str,
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
            await self._w[collection].update_one(
                {"_id": doc_id, version_field: {"$lt": version}}, update, upsert=True
            )
        except DuplicateKeyError:
            # A newer (or the same) version is stored already: this event is old news.
            return

    async def put_community(
        self,
        community_id: str,
        version: int,
        *,
        visibility: Visibility,
        state: CommunityState,
        name: str,
    ) -> None:
        await self._versioned(
            COMMUNITIES,
            community_id,
            version,
            {"visibility": visibility.value, "state": state.value, "name": name},
        )
        if self._space_sets is not None:
            await self._space_sets.access_changed()

    async def put_membership(
        self, community_id: str, person_id: str, role: Role | None, membership_version: int
    ) -> None:
        """Record the membership at ``membership_version`` (``role`` None: not a member)
        unless a newer one is applied."""
        await self._versioned(
            MEMBERSHIPS,
            f"{community_id}:{person_id}",
            membership_version,
            {
                "community_id": community_id,
                "person_id": person_id,
                "role": role.value if role else "",
            },
            version_field="membership_version",
        )
        if self._space_sets is not None:
            await self._space_sets.person_changed(person_id)

    async def put_pinhole(
        self,
        pinhole_id: str,
        version: int,
        community_id: str,
        *,
        state: PinholeState | None = None,
        ever_opened: bool | None = None,
        expires_at: datetime | Literal[Keep.KEEP] | None = KEEP,
        grants: Mapping[str, str] | None = None,
        title: str | None = None,
        grant: tuple[str, str] | None = None,
        revoke: str | None = None,
    ) -> None:
        """Apply one pinhole event at ``version``: the fields it carries (None leaves a
        field as stored; for ``expires_at`` :data:`KEEP` does and None clears it), one
        grant set (``grant``: org, level) or removed (``revoke``)."""
        fields: Document = {"community_id": community_id}
        if state is not None:
            fields["state"] = state.value
        if ever_opened is not None:
            fields["ever_opened"] = ever_opened
        if expires_at is not KEEP:
            fields["expires_at"] = expires_at
        if grants is not None:
            fields["grants"] = dict(grants)
        if title is not None:
            fields["title"] = title
        if grant is not None:
            fields[f"grants.{grant[0]}"] = grant[1]
        extra = {"$unset": {f"grants.{revoke}": ""}} if revoke else None
        await self._versioned(PINHOLES, pinhole_id, version, fields, extra)
        if self._space_sets is not None:
            await self._space_sets.access_changed()

    async def put_person(self, person_id: str, *, partner: bool, org_id: str) -> None:
        await self._w[PEOPLE].update_one(
            {"_id": person_id},
            {"$set": {"kind": "partner" if partner else "employee", "org_id": org_id}},
            upsert=True,
        )

    async def declare_expertise(self, person_id: str, tags: Iterable[str]) -> None:
        await self._w[EXPERTISE].update_one(
            {"_id": person_id}, {"$set": {"declared": sorted(set(tags))}}, upsert=True
        )

    async def earn_expertise(self, person_id: str, tags: Iterable[str]) -> None:
        earned = sorted(set(tags))
        if earned:
            await self._w[EXPERTISE].update_one(
                {"_id": person_id}, {"$addToSet": {"earned": {"$each": earned}}}, upsert=True
            )
