"""The MongoDB repository: current state, listings on declared indexes, the domain's writes.

Reads. Everything an access decision needs is a point read by ``_id`` — the
community, the pinhole, the principal's membership (``<community>:<person>``)
and their org. Listings are ordinary queries on the compound indexes
:func:`indexes` declares: equality on the leading fields, a keyset range on a
string key (a ULID ``_id``, or a ``<13-digit ms>|<person>`` key), sort and
limit. Reads go to the primary with the client's default read preference;
nothing is cached.

Writes. :meth:`Repository.apply` applies a :class:`~guildhall_community.domain.Change`
in its order, each write one atomic single-document operation:

- a new document (version 1) is an insert; a duplicate ``_id`` means someone
  else created it first;
- an existing one is an update filtered on ``{_id, version: new - 1}``
  (compare-and-set); no match means the document moved on;
- the write's events go into the same document's outbox in the same
  operation (``guildhall_kit.outbox``), so state and events are stored
  together or not at all.

A lost compare-and-set raises :class:`WriteConflict`; the caller re-reads and
re-runs the operation. Writes use majority write concern, so a revoking call
returns only once its write survives a failover.

MongoDB applies each update atomically. FerretDB 1.x does not (it reads,
applies the operators in its own process and writes back), so against it the
service sends every write through one connection that FerretDB serves one
operation at a time (``writer``: the kit's ``ServiceContext.writer_db``).

``member_count`` on the community is kept with ``$inc`` after each membership
write, by the difference the write made (read atomically with that write). It
is never recounted: see docs/adr/0009, "The member count".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from pymongo import ReturnDocument, WriteConcern
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from guildhall_community.adapters.convert import event_message
from guildhall_community.application.ports import (
    CommunityRecord,
    OrgFacts,
    PersonFacts,
    WriteConflict,
)
from guildhall_community.domain import (
    Change,
    Community,
    CommunityState,
    JoinRequestState,
    Membership,
    MembershipStatus,
    Pinhole,
    PinholeState,
    PrincipalKind,
    Role,
    Visibility,
    Write,
    name_key,
)
from guildhall_kit.errors import AlreadyExists
from guildhall_kit.mongo import Document, IndexSpec
from guildhall_kit.outbox import Outbox

from . import documents as d

_ACTIVE: Final = MembershipStatus.ACTIVE.value
_LIVE_STATES: Final = [PinholeState.PROPOSED.value, PinholeState.OPEN.value]
_BY_NAME: Final = [("name_key", 1), ("_id", 1)]


def indexes() -> list[IndexSpec]:
    """Every secondary index the service reads through (created at start-up).

    Point reads use ``_id``. Each index below serves one listing; the sizes
    at the reference scale are in docs/adr/0009. Names are new where an
    earlier version had an index of that name with other keys.
    """
    return [
        # ListSpaces and ListMyCommunities: a person's active memberships.
        IndexSpec(
            d.MEMBERSHIPS, [("person_id", 1), ("status", 1), ("community_id", 1)], "by_person"
        ),
        # ListMembers: a community's active members by join time, then person.
        IndexSpec(d.MEMBERSHIPS, [("community_id", 1), ("status", 1), ("join_key", 1)], "members"),
        # ListJoinRequests: a community's requests by request time, then person.
        IndexSpec(d.MEMBERSHIPS, [("community_id", 1), ("request_key", 1)], "requests"),
        # ListCommunities: the directory by case-folded name, then id; and by visibility.
        IndexSpec(d.COMMUNITIES, _BY_NAME, "directory"),
        IndexSpec(d.COMMUNITIES, [("visibility", 1), *_BY_NAME], "directory_by_visibility"),
        # ListPinholes, ListSpaces (employee), archiving: a community's pinholes, newest first.
        IndexSpec(d.PINHOLES, [("community_id", 1), ("_id", 1)], "by_community"),
        # ListSpaces (partner): the pinholes granted to an org (multikey).
        IndexSpec(d.PINHOLES, [("grant_orgs", 1)], "by_org"),
        # The sweeper: proposed and open pinholes, in id order.
        IndexSpec(d.PINHOLES, [("state", 1), ("_id", 1)], "live_by_id"),
    ]


def prefix_bound(prefix: str) -> str | None:
    """The least string greater than every string that starts with ``prefix``.

    None when there is none to give (an empty prefix, or one that ends in the
    last code point): the range then has no upper bound.
    """
    if not prefix:
        return None
    last = ord(prefix[-1])
    if last >= 0x10FFFF:
        return None
    following = last + 1
    if 0xD800 <= following <= 0xDFFF:  # surrogates are not characters: skip them
        following = 0xE000
    return prefix[:-1] + chr(following)


class _Collections:
    """The service's collections through one database handle."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        majority = WriteConcern("majority")

        def coll(name: str) -> AsyncCollection[Document]:
            return db.get_collection(name, write_concern=majority)

        self.communities = coll(d.COMMUNITIES)
        self.memberships = coll(d.MEMBERSHIPS)
        self.pinholes = coll(d.PINHOLES)
        self.names = coll(d.COMMUNITY_NAMES)
        self.orgs = coll(d.ORGS)
        self.people = coll(d.PEOPLE)


class Repository:
    """State of the community service in its own database (see the module docstring).

    ``db`` serves reads; ``writer`` every write (the same database, through a
    handle that serialises writes where the server needs it — see
    ``guildhall_kit.service.ServiceContext.writer_db``). Default: ``db`` for both.
    """

    def __init__(
        self,
        db: AsyncDatabase[Document],
        outbox: Outbox,
        *,
        writer: AsyncDatabase[Document] | None = None,
    ) -> None:
        self.db = db
        self._outbox = outbox
        self.r = _Collections(db)
        self.w = _Collections(writer if writer is not None else db)
        """The collections for writes (the consumer of profile facts writes through them too)."""

    # ------------------------------------------------------------ point reads

    async def community(self, community_id: str) -> CommunityRecord | None:
        doc = await self.r.communities.find_one({"_id": community_id})
        return None if doc is None else _record(doc)

    async def membership(self, community_id: str, person_id: str) -> Membership | None:
        doc = await self.r.memberships.find_one({"_id": d.membership_id(community_id, person_id)})
        return None if doc is None else d.membership_from(doc)

    async def pinhole(self, pinhole_id: str) -> Pinhole | None:
        doc = await self.r.pinholes.find_one({"_id": pinhole_id})
        return None if doc is None else d.pinhole_from(doc)

    async def org(self, org_id: str) -> OrgFacts | None:
        doc = await self.r.orgs.find_one({"_id": org_id})
        if doc is None or ("kind" not in doc and "suspended" not in doc):
            return None
        return OrgFacts(
            org_id=org_id,
            is_home=doc.get("kind") == "home",
            suspended=bool(doc.get("suspended")),
            version=int(doc.get("version") or 0),
        )

    async def org_suspended(self, org_id: str) -> bool:
        """Whether the org is suspended (an org we never heard of is not)."""
        facts = await self.org(org_id)
        return facts is not None and facts.suspended

    async def person(self, person_id: str) -> PersonFacts | None:
        doc = await self.r.people.find_one({"_id": person_id})
        if doc is None or "kind" not in doc:
            return None
        return PersonFacts(
            person_id=person_id, kind=PrincipalKind(doc["kind"]), org_id=str(doc["org_id"])
        )

    async def communities_by_id(self, community_ids: Sequence[str]) -> list[CommunityRecord]:
        """The communities with these ids that exist (one query by ``_id``)."""
        if not community_ids:
            return []
        cursor = self.r.communities.find({"_id": _one_or_in(community_ids)})
        return [_record(doc) async for doc in cursor]

    async def memberships_of(
        self, person_id: str, community_ids: Sequence[str]
    ) -> dict[str, Membership]:
        """The person's membership documents in these communities, by community id."""
        if not community_ids:
            return {}
        keys = [d.membership_id(c, person_id) for c in community_ids]
        cursor = self.r.memberships.find({"_id": _one_or_in(keys)})
        found = [d.membership_from(doc) async for doc in cursor]
        return {m.community_id: m for m in found}

    async def members_of(self, community_id: str, people: Sequence[str]) -> dict[str, Membership]:
        """The membership documents of ``people`` in one community, by person (one ``_id`` read)."""
        if not people:
            return {}
        keys = [d.membership_id(community_id, p) for p in people]
        cursor = self.r.memberships.find({"_id": _one_or_in(keys)})
        return {m.person_id: m for m in [d.membership_from(doc) async for doc in cursor]}

    # --------------------------------------------------------------- listings

    async def active_memberships(self, person_id: str) -> list[Membership]:
        """Every active membership of ``person_id`` (index ``by_person``)."""
        cursor = self.r.memberships.find({"person_id": person_id, "status": _ACTIVE})
        return [d.membership_from(doc) async for doc in cursor]

    async def members_page(
        self, community_id: str, *, role: Role | None, after: str | None, limit: int
    ) -> list[Membership]:
        """Active members by ``join_key`` after ``after`` (index ``members``).

        ``role`` filters on the role as listed on the membership; staff roles
        are few, so the application lists those from the community's staff.
        """
        query: Document = {
            "community_id": community_id,
            "status": _ACTIVE,
            "join_key": {"$gt": after or ""},
        }
        if role is not None:
            query["role"] = role.value
        cursor = self.r.memberships.find(query).sort("join_key", 1).limit(limit)
        return [d.membership_from(doc) async for doc in cursor]

    async def join_requests_page(
        self,
        community_id: str,
        *,
        state: JoinRequestState | None,
        after: str | None,
        limit: int,
    ) -> list[Membership]:
        """Memberships with a join request (in ``state``) by ``request_key`` (index ``requests``).

        A membership without a request has no ``request_key``, which a string
        range never matches.
        """
        query: Document = {"community_id": community_id, "request_key": {"$gt": after or ""}}
        if state is not None:
            query["request.state"] = state.value
        cursor = self.r.memberships.find(query).sort("request_key", 1).limit(limit)
        return [d.membership_from(doc) async for doc in cursor]

    async def communities_page(
        self,
        *,
        prefix: str,
        visibility: Visibility | None,
        include_archived: bool,
        after: tuple[str, str] | None,
        limit: int,
    ) -> list[CommunityRecord]:
        """Communities by (``name_key``, ``_id``) after ``after`` (index ``directory`` or
        ``directory_by_visibility``), the name key starting with the case-folded ``prefix``.

        The keyset is a range on ``name_key`` alone: after ``(k, id)`` come the
        communities named ``k`` with a greater id (only archived ones can share
        an active one's name, so this read is skipped when they are not
        listed), then those with a greater name key.
        """
        filters: Document = {}
        if visibility is not None:
            filters["visibility"] = visibility.value
        if not include_archived:
            filters["state"] = CommunityState.ACTIVE.value
        found: list[CommunityRecord] = []
        key_range: Document = {"$gte": prefix}
        if after is not None:
            key, last_id = after
            if include_archived:
                ties = {**filters, "name_key": key, "_id": {"$gt": last_id}}
                found = await self._communities(ties, limit)
                if len(found) >= limit:
                    return found
            key_range = {"$gt": key}
        bound = prefix_bound(prefix)
        if bound is not None:
            key_range["$lt"] = bound
        rest = await self._communities({**filters, "name_key": key_range}, limit - len(found))
        return found + [r for r in rest if name_key(r.community.name).startswith(prefix)]

    async def _communities(self, query: Document, limit: int) -> list[CommunityRecord]:
        cursor = self.r.communities.find(query).sort(_BY_NAME).limit(limit)
        return [_record(doc) async for doc in cursor]

    async def pinholes_of(self, community_ids: Sequence[str]) -> list[Pinhole]:
        """Every pinhole of the given communities (index ``by_community``)."""
        if not community_ids:
            return []
        cursor = self.r.pinholes.find({"community_id": _one_or_in(community_ids)})
        return [d.pinhole_from(doc) async for doc in cursor]

    async def pinholes_page(
        self, community_id: str, *, before: str | None, limit: int
    ) -> list[Pinhole]:
        """A community's pinholes by descending ``_id`` before ``before`` (``by_community``)."""
        query: Document = {"community_id": community_id}
        if before is not None:
            query["_id"] = {"$lt": before}
        cursor = self.r.pinholes.find(query).sort("_id", -1).limit(limit)
        return [d.pinhole_from(doc) async for doc in cursor]

    async def pinholes_granted_to(self, org_id: str) -> list[Pinhole]:
        """Every pinhole with a current grant for ``org_id``, in any state (index ``by_org``)."""
        cursor = self.r.pinholes.find({"grant_orgs": org_id})
        return [p for p in [d.pinhole_from(doc) async for doc in cursor] if org_id in p.grants]

    async def live_pinholes(self, after: str, limit: int) -> list[Pinhole]:
        """Proposed and open pinholes after ``after``, in ``_id`` order (index ``live_by_id``)."""
        cursor = (
            self.r.pinholes.find({"state": {"$in": _LIVE_STATES}, "_id": {"$gt": after}})
            .sort("_id", 1)
            .limit(limit)
        )
        return [d.pinhole_from(doc) async for doc in cursor]

    # ------------------------------------------------------------------ names

    async def claim_name(self, name: str, community_id: str) -> None:
        """Claim ``name`` (case-insensitively) for ``community_id``.

        A name belongs to at most one active community. A claim left behind by
        a community that was archived, or that never got written (a crash
        between claim and create), is taken over with compare-and-set.

        Raises:
            AlreadyExists: an active community other than ``community_id`` holds it.
        """
        key = name_key(name)
        try:
            await self.w.names.insert_one({"_id": key, "community_id": community_id})
            return
        except DuplicateKeyError:
            pass
        claim = await self.r.names.find_one({"_id": key})
        holder_id = None if claim is None else str(claim["community_id"])
        if holder_id == community_id:
            return
        holder = None if holder_id is None else await self.community(holder_id)
        holder_active = holder is not None and not holder.community.is_archived
        if holder is not None and holder_active and name_key(holder.community.name) == key:
            raise AlreadyExists(f"a community named {name!r} exists")
        taken = await self.w.names.update_one(
            {"_id": key, "community_id": holder_id}, {"$set": {"community_id": community_id}}
        )
        if taken.matched_count == 0:
            raise AlreadyExists(f"a community named {name!r} exists")

    async def release_name(self, name: str, community_id: str) -> None:
        """Give up the claim of ``community_id`` on ``name`` (no-op if it holds none)."""
        await self.w.names.delete_one({"_id": name_key(name), "community_id": community_id})

    # ----------------------------------------------------------------- writes

    async def apply(
        self, change: Change, *, before: CommunityRecord | None = None
    ) -> list[tuple[str, str]]:
        """Apply ``change``'s writes in order; the (collection, id) of each write with events.

        ``before`` is the community as read for the operation (None when the
        change creates it or is about a pinhole): the member count its events
        report.

        Raises:
            WriteConflict: a compare-and-set lost; nothing after it was written.
        """
        count = 0 if before is None else before.member_count
        # Membership changes made before their community exists (the creator's, on
        # create) have no document to count on yet; the insert starts from them.
        uncounted = 0
        with_events: list[tuple[str, str]] = []
        for write in change.writes:
            state = write.state
            if isinstance(state, Community) and state.version == 1:
                await self._insert_community(write, state, uncounted)
                uncounted = 0
            else:
                uncounted += await self._write(write, count)
            if write.events:
                with_events.append(_address(state))
        return with_events

    def _events(self, write: Write, member_count: int) -> list[Any]:
        return [
            self._outbox.event(
                event_message(e, write.state, member_count),
                key=e.aggregate_id,
                time=e.occurred_at,
            )
            for e in write.events
        ]

    def _update(self, fields: Document, events: list[Any]) -> dict[str, Any]:
        update: dict[str, Any] = {"$set": fields}
        return self._outbox.update(update, *events) if events else update

    async def _insert_community(self, write: Write, state: Community, member_count: int) -> None:
        events = self._events(write, member_count)
        doc = {"_id": state.id, **d.community_fields(state), "member_count": member_count}
        await self._insert(self.w.communities, doc, events)

    async def _write(self, write: Write, member_count: int) -> int:
        """One write of an existing document (or a new membership or pinhole).

        Returns the member-count change it made that found no community
        document to count on (the community is created later in the change).
        """
        state = write.state
        events = self._events(write, member_count)
        if isinstance(state, Community):
            fields = d.community_fields(state)
            await self._cas(self.w.communities, state.id, state.version, fields, events)
            return 0
        if isinstance(state, Membership):
            return await self._write_membership(state, events)
        if isinstance(state, Pinhole):
            fields = d.pinhole_fields(state)
            if state.version == 1:
                await self._insert(self.w.pinholes, {"_id": state.id, **fields}, events)
            else:
                await self._cas(self.w.pinholes, state.id, state.version, fields, events)
            return 0
        raise TypeError(f"cannot write {type(state).__name__}")

    async def _write_membership(self, state: Membership, events: list[Any]) -> int:
        """A membership write, then the community's member count by the difference it made."""
        fields = d.membership_fields(state)
        key = d.membership_id(state.community_id, state.person_id)
        if state.version == 1:
            await self._insert(self.w.memberships, {"_id": key, **fields}, events)
            was_active = False
        else:
            previous = await self.w.memberships.find_one_and_update(
                {"_id": key, "version": state.version - 1},
                self._update(fields, events),
                return_document=ReturnDocument.BEFORE,
            )
            if previous is None:
                raise WriteConflict(key)
            was_active = previous.get("status") == _ACTIVE
        delta = int(state.status is MembershipStatus.ACTIVE) - int(was_active)
        if delta:
            counted = await self.w.communities.update_one(
                {"_id": state.community_id}, {"$inc": {"member_count": delta}}
            )
            if counted.matched_count == 0:
                return delta
        return 0

    async def _insert(
        self, coll: AsyncCollection[Document], doc: Document, events: list[Any]
    ) -> None:
        if events:
            doc = {**doc, **self._outbox.fields(*events)}
        try:
            await coll.insert_one(doc)
        except DuplicateKeyError:
            raise WriteConflict(str(doc["_id"])) from None

    async def _cas(
        self,
        coll: AsyncCollection[Document],
        key: str,
        version: int,
        fields: Document,
        events: list[Any],
    ) -> None:
        result = await coll.update_one(
            {"_id": key, "version": version - 1}, self._update(fields, events)
        )
        if result.matched_count == 0:
            raise WriteConflict(key)


def _one_or_in(values: Sequence[str]) -> str | Document:
    """An equality for one value, ``$in`` for several (the same match; the plain form for one)."""
    return values[0] if len(values) == 1 else {"$in": list(values)}


def _address(state: object) -> tuple[str, str]:
    """The (collection, ``_id``) a domain document is stored at."""
    if isinstance(state, Community):
        return d.COMMUNITIES, state.id
    if isinstance(state, Membership):
        return d.MEMBERSHIPS, d.membership_id(state.community_id, state.person_id)
    if isinstance(state, Pinhole):
        return d.PINHOLES, state.id
    raise TypeError(f"not a stored document: {type(state).__name__}")


def _record(doc: Mapping[str, Any]) -> CommunityRecord:
    return CommunityRecord(d.community_from(doc), int(doc.get("member_count") or 0))
