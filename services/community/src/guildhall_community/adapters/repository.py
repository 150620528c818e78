"""The Mongo repository: current state by ``_id``, and the domain's writes applied exactly.

Reads. Everything an access decision needs is a point read by ``_id`` — the
community, the pinhole, the principal's membership (``<community>:<person>``)
and their org — which both MongoDB and FerretDB 1.x serve in constant time
(FerretDB's SQLite backend pushes down nothing but an ``_id`` equality, so
any other filter is a collection scan there). Reads go to the primary with
the client's default read preference; nothing is cached.

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
re-runs the operation (the domain orders two-document changes so a partial
application is safe and a re-run completes it). Writes use majority write
concern, so a revoking call returns only once its write survives a failover.

MongoDB applies each update atomically. FerretDB 1.x does not: it reads the
document, applies the operators in its own process and writes the whole
document back, so two concurrent updates of one document can lose one of
them — a compare-and-set included, and the outbox relay's clearing of a
document's published events included. Against FerretDB the service
therefore sends every write (its own and its relay's) through one
connection, which FerretDB serves one operation at a time (``writer``;
the kit's ``ServiceContext.writer_db``, and docs/adr/0009).

Beside the domain's documents the repository keeps two derived things:

- ``member_count`` on the community: ``$inc`` after each membership write,
  by the difference the write made (read atomically with the write). A crash
  between the two can leave it off by one; it is a display figure, never
  used in a decision.
- ``member_index``: per person, the ids of every community they may belong
  to — a *superset* of their memberships, so listing "my spaces" is one
  ``_id`` read plus one point read per candidate, on both backends, and each
  candidate is verified against its membership document. Entries are added
  before (and again after) a write that makes someone a member, and removed
  only after a write that ends it, followed by a re-check that puts the entry
  back if a concurrent join won. See docs/adr/0009.
- ``pinhole_index``: per community and per partner org, the ids of its
  pinholes (for an org: every pinhole that ever granted it) — again a
  superset, written before the pinhole document and never shrunk, so "the
  pinholes of these communities" and "the pinholes granted to this org" are
  ``_id`` reads too; each pinhole read is checked against the filter it
  stands for. :meth:`Repository.repair_pinhole_index` adds what a document
  written without it (a back-up restored, an older version) lacks.
- ``roster`` / ``roster_days``: per community and UTC day, the people who
  joined that day as ``"<joined ms>|<person>"`` — so a page of ListMembers is
  a few ``_id`` reads (the days, that day's entries, the memberships they
  name) instead of a query on ``memberships.community_id``, which FerretDB
  answers by scanning every membership. A superset kept like the member
  index (added before and after a write that makes someone active, removed
  after one that ends it, then re-checked); an entry counts only if its
  membership is active with that very join time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from pymongo import ReturnDocument, WriteConcern
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from guildhall_community.domain import (
    Change,
    Community,
    Membership,
    MembershipStatus,
    Pinhole,
    PinholeState,
    PrincipalKind,
    Role,
    Write,
)
from guildhall_kit.errors import AlreadyExists
from guildhall_kit.mongo import Document, IndexSpec
from guildhall_kit.outbox import Outbox

from . import documents as d
from .messages import event_message

_LIVE_STATES: Final = [PinholeState.PROPOSED.value, PinholeState.OPEN.value]


class WriteConflict(Exception):  # noqa: N818 - a signal to re-run, not an error for callers
    """A compare-and-set lost: the document changed since it was read. Re-read and re-run."""


@dataclass(frozen=True, slots=True)
class CommunityRecord:
    """A community as stored, with the member count kept beside it."""

    community: Community
    member_count: int


@dataclass(frozen=True, slots=True)
class OrgFacts:
    """What the profile service told us about an organisation."""

    org_id: str
    is_home: bool
    suspended: bool
    version: int


@dataclass(frozen=True, slots=True)
class PersonFacts:
    """What the profile service told us about a person."""

    person_id: str
    kind: PrincipalKind
    org_id: str


_ROSTER_DAYS_PER_READ: Final = 31
"""Roster days read in one ``$in`` while walking a member list."""


def _growing_chunks(items: Sequence[str]) -> list[Sequence[str]]:
    """``items`` in chunks of 1, 1, 2, 4, then 8: a first page reads one bucket."""
    chunks: list[Sequence[str]] = []
    start, size = 0, 1
    while start < len(items):
        chunks.append(items[start : start + size])
        start += size
        if len(chunks) > 1:
            size = min(size * 2, 8)
    return chunks


_RECOUNT_BATCH: Final = 1000
"""Roster entries verified per membership read while recounting."""


async def _add_to_set(
    coll: AsyncCollection[Document], keys: Iterable[str], field: str, value: str
) -> None:
    """Add ``value`` to the set ``field`` of each document ``keys`` names (created if missing)."""
    await asyncio.gather(
        *(coll.update_one({"_id": key}, {"$addToSet": {field: value}}, upsert=True) for key in keys)
    )


def _roster_moved(old: Membership, new: Membership) -> bool:
    """Whether ``new`` has another roster entry than ``old`` (a new join time)."""
    if old.joined_at is None or new.joined_at is None:
        return old.joined_at is not new.joined_at
    return d.roster_entry(old.joined_at, old.person_id) != d.roster_entry(
        new.joined_at, new.person_id
    )


def _chunks(items: Sequence[str], size: int) -> list[Sequence[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def indexes() -> list[IndexSpec]:
    """Every secondary index the service reads through (created at start-up).

    Point reads use ``_id``. These serve the listings and the sweeper; each is
    sized for 50,000 communities, 400,000 people and a few million
    memberships in docs/adr/0009.
    """
    return [
        IndexSpec(
            d.MEMBERSHIPS,
            [("community_id", 1), ("request.state", 1), ("request.requested_at", 1)],
            "join_requests",
        ),
        IndexSpec(d.PINHOLES, [("state", 1), ("expires_at", 1)], "live"),
    ]


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
        self.member_index = coll(d.MEMBER_INDEX)
        self.pinhole_index = coll(d.PINHOLE_INDEX)
        self.name_directory = coll(d.NAME_DIRECTORY)
        self.roster = coll(d.ROSTER)
        self.roster_days = coll(d.ROSTER_DAYS)
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
        self.writer_db = writer if writer is not None else db
        self._outbox = outbox
        read = _Collections(db)
        self.w = _Collections(self.writer_db)
        """The collections for writes (the consumer of profile facts writes through them too)."""
        self.communities = read.communities
        self.memberships = read.memberships
        self.pinholes = read.pinholes
        self.names = read.names
        self.member_index = read.member_index
        self.pinhole_index = read.pinhole_index
        self.name_directory = read.name_directory
        self.roster = read.roster
        self.roster_days = read.roster_days
        self.orgs = read.orgs
        self.people = read.people

    # ------------------------------------------------------------ point reads

    async def community(self, community_id: str) -> CommunityRecord | None:
        doc = await self.communities.find_one({"_id": community_id})
        return None if doc is None else _record(doc)

    async def membership(self, community_id: str, person_id: str) -> Membership | None:
        doc = await self.memberships.find_one({"_id": d.membership_id(community_id, person_id)})
        return None if doc is None else d.membership_from(doc)

    async def pinhole(self, pinhole_id: str) -> Pinhole | None:
        doc = await self.pinholes.find_one({"_id": pinhole_id})
        return None if doc is None else d.pinhole_from(doc)

    async def org(self, org_id: str) -> OrgFacts | None:
        doc = await self.orgs.find_one({"_id": org_id})
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
        doc = await self.people.find_one({"_id": person_id})
        if doc is None or "kind" not in doc:
            return None
        return PersonFacts(
            person_id=person_id, kind=PrincipalKind(doc["kind"]), org_id=str(doc["org_id"])
        )

    async def space(self, space_id: str) -> tuple[CommunityRecord, Pinhole | None] | None:
        """The space ``space_id`` names: a pinhole with its community, or a community's main space.

        Community and pinhole ids share one id space. The pinhole is read
        first (pinholes are few, so a miss is cheap on every server), then the
        community: two point reads.
        """
        pinhole = await self.pinhole(space_id)
        record = await self.community(space_id if pinhole is None else pinhole.community_id)
        return None if record is None else (record, pinhole)

    async def communities_by_id(self, community_ids: Sequence[str]) -> list[CommunityRecord]:
        """The communities with these ids that exist (one query by ``_id``)."""
        if not community_ids:
            return []
        cursor = self.communities.find({"_id": {"$in": list(community_ids)}})
        return [_record(doc) async for doc in cursor]

    async def memberships_of(
        self, person_id: str, community_ids: Sequence[str]
    ) -> dict[str, Membership]:
        """The person's membership documents in these communities, by community id."""
        if not community_ids:
            return {}
        keys = [d.membership_id(c, person_id) for c in community_ids]
        cursor = self.memberships.find({"_id": {"$in": keys}})
        found = [d.membership_from(doc) async for doc in cursor]
        return {m.community_id: m for m in found}

    # ---------------------------------------------------------------- queries

    async def candidate_communities(self, person_id: str) -> list[str]:
        """Every community ``person_id`` may belong to (a superset; verify each)."""
        doc = await self.member_index.find_one({"_id": person_id})
        return sorted({str(c) for c in (doc or {}).get("communities") or ()})

    async def pinholes_of(self, community_ids: Sequence[str]) -> list[Pinhole]:
        """Every pinhole of the given communities (through the pinhole index)."""
        wanted = set(community_ids)
        keys = [d.community_pinholes_key(c) for c in sorted(wanted)]
        return [p for p in await self._indexed_pinholes(keys) if p.community_id in wanted]

    async def pinholes_granted_to(self, org_id: str) -> list[Pinhole]:
        """Every pinhole with a grant for ``org_id``, whatever its state."""
        found = await self._indexed_pinholes([d.org_pinholes_key(org_id)])
        return [p for p in found if org_id in p.grants]

    async def _indexed_pinholes(self, keys: Sequence[str]) -> list[Pinhole]:
        """The pinholes the index entries ``keys`` list, by ``_id`` (two reads)."""
        if not keys:
            return []
        entries = self.pinhole_index.find(
            {"_id": keys[0] if len(keys) == 1 else {"$in": list(keys)}}
        )
        ids = sorted({str(i) async for entry in entries for i in entry.get("pinholes") or ()})
        if not ids:
            return []
        found = self.pinholes.find({"_id": ids[0] if len(ids) == 1 else {"$in": ids}})
        return [d.pinhole_from(doc) async for doc in found]

    async def live_pinholes(self, after: str, limit: int) -> list[Pinhole]:
        """Proposed and open pinholes after ``after``, in ``_id`` order (for the sweeper)."""
        cursor = (
            self.pinholes.find({"state": {"$in": _LIVE_STATES}, "_id": {"$gt": after}})
            .sort("_id", 1)
            .limit(limit)
        )
        return [d.pinhole_from(doc) async for doc in cursor]

    async def members_page(
        self,
        community_id: str,
        *,
        role: Role | None,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[Membership]:
        """Active memberships of a community by join time, then person id, after ``after``.

        Walks the roster day by day from the position: each day's entries sort
        by join time and person; only the entries that may reach the page are
        verified against their membership documents (one ``$in`` per batch).
        """
        position, first = "", ""
        if after is not None:
            first, position = d.roster_entry(after[0], after[1])
        found: list[Membership] = []
        async for entries in self._roster_entries(community_id, first, position):
            for batch in _chunks(entries, max(limit, 50)):
                found.extend(await self._verified_members(community_id, batch, role))
                if len(found) >= limit:
                    return found[:limit]
        return found

    async def _roster_entries(
        self, community_id: str, first_day: str, after: str
    ) -> AsyncIterator[list[str]]:
        """The roster entries after ``after`` from ``first_day`` on, sorted, a few days a read."""
        days_doc = await self.roster_days.find_one({"_id": community_id})
        days = sorted(str(x) for x in (days_doc or {}).get("days") or () if str(x) >= first_day)
        for start in range(0, len(days), _ROSTER_DAYS_PER_READ):
            chunk = days[start : start + _ROSTER_DAYS_PER_READ]
            keys = [d.roster_key(community_id, day) for day in chunk]
            yield sorted(
                {
                    str(e)
                    async for doc in self.roster.find({"_id": {"$in": keys}})
                    for e in doc.get("members") or ()
                    if str(e) > after
                }
            )

    async def _verified_members(
        self, community_id: str, entries: Sequence[str], role: Role | None
    ) -> list[Membership]:
        """The roster ``entries`` that stand for an active membership, in entry order."""
        people = [e.split("|", 1)[1] for e in entries]
        by_person = await self.memberships_of_community(community_id, people)
        out: list[Membership] = []
        for entry, person in zip(entries, people, strict=True):
            m = by_person.get(person)
            if m is None or m.status is not MembershipStatus.ACTIVE or m.joined_at is None:
                continue
            if d.roster_entry(m.joined_at, person)[1] != entry:
                continue
            if role is None or m.role is role:
                out.append(m)
        return out

    async def memberships_of_community(
        self, community_id: str, people: Sequence[str]
    ) -> dict[str, Membership]:
        """The memberships of ``people`` in one community, by person (one ``_id`` read)."""
        if not people:
            return {}
        keys = [d.membership_id(community_id, p) for p in people]
        cursor = self.memberships.find({"_id": {"$in": keys}})
        return {m.person_id: m for m in [d.membership_from(doc) async for doc in cursor]}

    async def join_requests_page(
        self,
        community_id: str,
        *,
        state: str | None,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[Membership]:
        """Memberships carrying a join request (in ``state``), oldest request first."""
        query: Document = {"community_id": community_id, "request": {"$ne": None}}
        if state is not None:
            query["request.state"] = state
        if after is not None:
            at, person = after
            query["$or"] = [
                {"request.requested_at": {"$gt": at}},
                {"request.requested_at": at, "person_id": {"$gt": person}},
            ]
        cursor = (
            self.memberships.find(query)
            .sort([("request.requested_at", 1), ("person_id", 1)])
            .limit(limit)
        )
        return [d.membership_from(doc) async for doc in cursor]

    async def communities_page(
        self,
        *,
        prefix: str,
        visibility: str | None,
        include_archived: bool,
        after: tuple[str, str] | None,
        limit: int,
    ) -> list[CommunityRecord]:
        """Communities by case-folded name, then id, after ``after``.

        Walks the name directory bucket by bucket (a bucket per first two
        characters of the name key), reading 1, 1, 2, 4, then 8 buckets at a
        time; each entry that may reach the page is checked against its
        community document (name, visibility, state), one ``$in`` per batch.
        """
        folded = d.name_key(prefix)
        position = "" if after is None else f"{after[0]}\x00{after[1]}"
        index = await self.name_directory.find_one({"_id": d.NAME_INDEX_ID})
        buckets = sorted(str(b) for b in (index or {}).get("buckets") or ())
        width = d.NAME_BUCKET_CHARS
        low = max(f"b:{folded[:width]}", "" if after is None else f"b:{after[0][:width]}")
        buckets = [b for b in buckets if b >= low]
        if len(folded) >= width:
            buckets = [b for b in buckets if b == f"b:{folded[:width]}"]
        elif folded:
            buckets = [b for b in buckets if b.startswith(f"b:{folded}")]
        found: list[CommunityRecord] = []
        for chunk in _growing_chunks(buckets):
            entries = sorted(
                {
                    str(e)
                    async for doc in self.name_directory.find({"_id": {"$in": chunk}})
                    for e in doc.get("entries") or ()
                    if str(e) > position and str(e).startswith(folded)
                }
            )
            for batch in _chunks(entries, max(limit, 50)):
                by_id = {
                    r.community.id: r
                    for r in await self.communities_by_id([e.rsplit("\x00", 1)[1] for e in batch])
                }
                for entry in batch:
                    key, community_id = entry.rsplit("\x00", 1)
                    record = by_id.get(community_id)
                    if record is None or d.name_key(record.community.name) != key:
                        continue  # never written, or renamed since: a stale entry
                    c = record.community
                    if visibility is not None and c.visibility.value != visibility:
                        continue
                    if not include_archived and c.state.value != "active":
                        continue
                    found.append(record)
                    if len(found) == limit:
                        return found
        return found

    # ----------------------------------------------------------------- names

    async def claim_name(self, name: str, community_id: str) -> None:
        """Claim ``name`` (case-insensitively) for ``community_id``.

        A name belongs to at most one active community. A claim left behind by
        a community that was archived, or that never got written (a crash
        between claim and create), is taken over with compare-and-set.

        Raises:
            AlreadyExists: an active community other than ``community_id`` holds it.
        """
        key = d.name_key(name)
        try:
            await self.w.names.insert_one({"_id": key, "community_id": community_id})
            return
        except DuplicateKeyError:
            pass
        claim = await self.names.find_one({"_id": key})
        holder_id = None if claim is None else str(claim["community_id"])
        if holder_id == community_id:
            return
        holder = None if holder_id is None else await self.community(holder_id)
        holder_active = holder is not None and not holder.community.is_archived
        if holder is not None and holder_active and d.name_key(holder.community.name) == key:
            raise AlreadyExists(f"a community named {name!r} exists")
        taken = await self.w.names.update_one(
            {"_id": key, "community_id": holder_id}, {"$set": {"community_id": community_id}}
        )
        if taken.matched_count == 0:
            raise AlreadyExists(f"a community named {name!r} exists")

    async def release_name(self, name: str, community_id: str) -> None:
        """Give up the claim of ``community_id`` on ``name`` (no-op if it holds none)."""
        await self.w.names.delete_one({"_id": d.name_key(name), "community_id": community_id})

    # ---------------------------------------------------------------- writes

    async def apply(
        self, change: Change, *, before: CommunityRecord | None = None
    ) -> list[tuple[str, str]]:
        """Apply ``change``'s writes in order; the (collection, id) of each write with events.

        ``before`` is the community as read for the operation (None when the
        change creates it or is about a pinhole); it tells who joins or leaves
        the staff, for the member index, and the member count events report.

        Raises:
            WriteConflict: a compare-and-set lost; nothing after it was written.
        """
        if not change.writes:
            return []
        old = None if before is None else before.community
        community = change.community or old
        gaining, losing = _index_changes(change, old)
        cid = community.id if community is not None else ""
        new = change.community
        renamed = (
            new is not None and old is not None and d.name_key(old.name) != d.name_key(new.name)
        )
        if new is not None and (old is None or renamed):
            await self._name_add(new.id, new.name)
        await self._index_add(gaining, cid)
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
        await self._index_add(gaining, cid)
        for person in losing:
            await self._index_remove_checked(person, cid)
        if renamed and old is not None:
            await self._name_remove_checked(old.id, old.name)
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
        if isinstance(state, Community):
            events = self._events(write, member_count)
            fields = d.community_fields(state)
            await self._cas(self.w.communities, state.id, state.version, fields, events)
            return 0
        if isinstance(state, Membership):
            return await self._write_membership(write, state, member_count)
        if isinstance(state, Pinhole):
            events = self._events(write, member_count)
            fields = d.pinhole_fields(state)
            # The index first: it must list the pinhole before the pinhole says so.
            await self._pinhole_index_add(
                state.id, d.pinhole_index_keys(state.community_id, fields["grant_orgs"])
            )
            if state.version == 1:
                await self._insert(self.w.pinholes, {"_id": state.id, **fields}, events)
            else:
                await self._cas(self.w.pinholes, state.id, state.version, fields, events)
            return 0
        raise TypeError(f"cannot write {type(state).__name__}")

    async def _write_membership(self, write: Write, state: Membership, member_count: int) -> int:
        """A membership write, with its roster entries and the community's member count."""
        events = self._events(write, member_count)
        fields = d.membership_fields(state)
        key = d.membership_id(state.community_id, state.person_id)
        now_active = state.status is MembershipStatus.ACTIVE
        if now_active:
            await self._roster_add(state)
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
            was_active = previous.get("status") == MembershipStatus.ACTIVE.value
            if was_active:
                ended = d.membership_from(previous)
                if not now_active or _roster_moved(ended, state):
                    await self._roster_remove_checked(ended)
        if now_active:
            await self._roster_add(state)
        delta = int(now_active) - int(was_active)
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

    # ---------------------------------------------------------- name directory

    async def _name_add(self, community_id: str, name: str) -> None:
        bucket, entry = d.name_entry(community_id, name)
        await _add_to_set(self.w.name_directory, [d.NAME_INDEX_ID], "buckets", bucket)
        await _add_to_set(self.w.name_directory, [bucket], "entries", entry)

    async def _name_remove_checked(self, community_id: str, old_name: str) -> None:
        bucket, entry = d.name_entry(community_id, old_name)
        await self.w.name_directory.update_one({"_id": bucket}, {"$pullAll": {"entries": [entry]}})
        # A rename that raced this one may have given the community that name back.
        now = await self.community(community_id)
        if now is not None and d.name_key(now.community.name) == d.name_key(old_name):
            await self._name_add(community_id, now.community.name)

    async def repair_name_directory(self) -> int:
        """Add every community's directory entry if the directory is empty (start-up)."""
        if await self.name_directory.find_one({"_id": d.NAME_INDEX_ID}) is not None:
            return 0
        added = 0
        async for doc in self.communities.find({}, projection={"name": 1}):
            await self._name_add(str(doc["_id"]), str(doc["name"]))
            added += 1
        return added

    # ------------------------------------------------------------------ roster

    async def _roster_add(self, membership: Membership) -> None:
        if membership.joined_at is None:
            return
        day, entry = d.roster_entry(membership.joined_at, membership.person_id)
        await _add_to_set(self.w.roster_days, [membership.community_id], "days", day)
        key = d.roster_key(membership.community_id, day)
        await _add_to_set(self.w.roster, [key], "members", entry)

    async def _roster_remove_checked(self, ended: Membership) -> None:
        if ended.joined_at is None:
            return
        day, entry = d.roster_entry(ended.joined_at, ended.person_id)
        # Exact-value $pullAll: FerretDB 1.x ignores conditions in $pull.
        await self.w.roster.update_one(
            {"_id": d.roster_key(ended.community_id, day)}, {"$pullAll": {"members": [entry]}}
        )
        # A write that raced this one may have made that very membership active again.
        now = await self.membership(ended.community_id, ended.person_id)
        if (
            now is not None
            and now.status is MembershipStatus.ACTIVE
            and now.joined_at is not None
            and d.roster_entry(now.joined_at, now.person_id)[1] == entry
        ):
            await self._roster_add(now)

    async def count_members(self, community_id: str) -> int:
        """Active members of a community now, counted through the roster (each verified)."""
        counted = 0
        async for entries in self._roster_entries(community_id, "", ""):
            for batch in _chunks(entries, _RECOUNT_BATCH):
                counted += len(await self._verified_members(community_id, batch, None))
        return counted

    async def recount_members(self, after: str, limit: int) -> tuple[list[str], int]:
        """Recount ``member_count`` of up to ``limit`` communities after ``after`` (by id).

        Returns the ids visited and how many counts were corrected. A correction
        is a compare-and-set on the count that was read before counting, so a
        membership write that lands meanwhile (and its ``$inc``) is not lost:
        the community is left for the next pass instead.
        """
        cursor = (
            self.communities.find({"_id": {"$gt": after}}, projection={"member_count": 1})
            .sort("_id", 1)
            .limit(limit)
        )
        # Read the batch first: counting takes long, and no cursor should idle meanwhile.
        batch = await cursor.to_list(length=limit)
        visited: list[str] = []
        corrected = 0
        for doc in batch:
            cid = str(doc["_id"])
            visited.append(cid)
            stored = int(doc.get("member_count") or 0)
            actual = await self.count_members(cid)
            if actual != stored:
                fixed = await self.w.communities.update_one(
                    {"_id": cid, "member_count": stored}, {"$set": {"member_count": actual}}
                )
                corrected += fixed.modified_count
        return visited, corrected

    async def repair_roster(self) -> int:
        """Add the roster entry of every active membership if the roster is empty.

        Run at start-up: a database written before the roster existed gets one
        (one pass over the memberships, once); afterwards writes keep it.
        """
        if await self.roster_days.find_one({}) is not None:
            return 0
        added = 0
        active = {"status": MembershipStatus.ACTIVE.value}
        async for doc in self.memberships.find(active):
            await self._roster_add(d.membership_from(doc))
            added += 1
        return added

    # ----------------------------------------------------------- pinhole index

    async def _pinhole_index_add(self, pinhole_id: str, keys: Iterable[str]) -> None:
        await _add_to_set(self.w.pinhole_index, keys, "pinholes", pinhole_id)

    async def repair_pinhole_index(self) -> int:
        """Add every index entry a stored pinhole needs; how many pinholes were read.

        Idempotent, and cheap because pinholes are few: the service runs it once
        at start-up so documents written without the index (an older version, a
        restored back-up) are found like the others.
        """
        seen = 0
        async for doc in self.pinholes.find({}, projection={"community_id": 1, "grant_orgs": 1}):
            keys = d.pinhole_index_keys(str(doc["community_id"]), doc.get("grant_orgs") or ())
            await self._pinhole_index_add(str(doc["_id"]), keys)
            seen += 1
        return seen

    # ------------------------------------------------------------ member index

    async def _index_add(self, people: Iterable[str], community_id: str) -> None:
        await _add_to_set(self.w.member_index, people, "communities", community_id)

    async def _index_remove_checked(self, person: str, community_id: str) -> None:
        # Exact-value $pullAll: FerretDB 1.x ignores conditions in $pull.
        await self.w.member_index.update_one(
            {"_id": person}, {"$pullAll": {"communities": [community_id]}}
        )
        # A join that raced this removal may have written its membership after our
        # write and added its entry before our pull: look again, put it back if so.
        record, membership = await asyncio.gather(
            self.community(community_id), self.membership(community_id, person)
        )
        if record is not None and record.community.role_of(person, membership) is not None:
            await self._index_add([person], community_id)

    async def index_entries(self, person_id: str, community_ids: Iterable[str]) -> None:
        """Add index entries directly (bulk seeding writes memberships the same way)."""
        await self.w.member_index.update_one(
            {"_id": person_id},
            {"$addToSet": {"communities": {"$each": sorted(set(community_ids))}}},
            upsert=True,
        )


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


def _index_changes(change: Change, before: Community | None) -> tuple[set[str], set[str]]:
    """Who may have become a member (add first) and who may have stopped (remove after)."""
    after = change.community or before
    staff_before = set(before.staff) if before is not None else set()
    staff_after = set(after.staff) if after is not None else set()
    gaining = staff_after - staff_before
    losing = staff_before - staff_after
    for write in change.writes:
        state = write.state
        if isinstance(state, Membership):
            if state.status is MembershipStatus.ACTIVE:
                gaining.add(state.person_id)
            elif state.person_id not in staff_after:
                losing.add(state.person_id)
    return gaining, losing - gaining
