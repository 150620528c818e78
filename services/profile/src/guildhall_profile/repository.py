"""The profile service's MongoDB adapter: documents, indexes, and single-document writes.

Collections of the service's own database:

=================  ==========================================================
``orgs``           one document per organisation; carries its outbox
``people``         one document per person; carries its outbox
``lists``,         ordered lists read by ``_id`` (:mod:`guildhall_profile.lists`):
``list_buckets``   per tag its experts, per department its people, per
                   manager their direct reports (:mod:`.domain.listing`)
``community_hosts``  read model: owners and moderators per community, from
                   the community service's events
``space_authors``  read model: who authored content in which space, from the
                   post service's events
``answer_credits`` one document per accepted answer credited (its author,
                   tags, and whether the credit still stands)
=================  ==========================================================

Every state change is one single-document write of the org or person
document with compare-and-set on ``version`` and the change's event in the
same write (the transactional outbox). Uniqueness that spans documents (org
names, e-mail addresses) is a unique index.

The lists are a **superset** of what they stand for, checked on every read
(docs/adr/0011). A person's entries follow from their state alone
(:func:`~guildhall_profile.domain.listing.entries_of`). A write that gives a
person a new entry adds it *before* the person write and again after it; an
entry the write takes away is removed after it, then the person is re-read
and the entry put back if a concurrent write made it current again. So a
crash or a lost race leaves at most an extra entry, and a reader keeps an
entry only if it is exactly the current entry of the person it names — a
stale entry never shows and nobody is listed twice. Stale entries readers
meet are noted and removed by :meth:`ProfileRepository.prune_stale`.

Queries other than by ``_id`` (each served by an index on MongoDB; scans on
FerretDB, where these collections stay small):

- orgs by name: ``{kind?, state?, list_key: {$gt: k}}`` sorted by ``list_key``
  -> ``orgs(list_key)``; the home org: ``{kind: "home"}`` (a few hundred orgs);
- the start-up back-fill of the lists reads every person once, only when the
  lists were never built (:meth:`ProfileRepository.backfill_lists`).

People, list heads and buckets, community hosts and space authors (pairs of
``<group>/<person>``) are read by ``_id`` only, an index search on both servers.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from guildhall_kit.bus import Event
from guildhall_kit.bus.idempotency import APPLIED_FIELD, apply_once_update
from guildhall_kit.errors import AlreadyExists
from guildhall_kit.logging import get_logger
from guildhall_kit.mongo import Document, IndexSpec
from guildhall_kit.outbox import Outbox
from guildhall_profile.domain.expertise import ExpertRow, ListRead, directory_rows
from guildhall_profile.domain.listing import (
    changed_entries,
    entries_of,
    list_key,
    person_of,
    row_of,
    stands,
    tag_list,
)
from guildhall_profile.domain.model import (
    EarnedTag,
    Org,
    OrgKind,
    OrgState,
    Person,
    PersonKind,
)
from guildhall_profile.lists import BUCKETS, HEADS, ListStore

ORGS: Final = "orgs"
PEOPLE: Final = "people"
HOSTS: Final = "community_hosts"
AUTHORS: Final = "space_authors"
CREDITS: Final = "answer_credits"
LISTS: Final = HEADS
LIST_BUCKETS: Final = BUCKETS

OUTBOX_COLLECTIONS: Final = (ORGS, PEOPLE)

LISTS_BUILT: Final = "!built"
"""``_id`` of the document in ``lists`` that records the one-off back-fill as done (list ids
start with ``tag:``, ``dept:`` or ``mgr:``, so it names no list)."""

STALE_NOTES: Final = 10_000
"""Most stale entries remembered for :meth:`ProfileRepository.prune_stale` at once."""

__all__ = ["list_key"]

_log = get_logger(__name__)


def indexes() -> list[IndexSpec]:
    """Every index the service needs; created at start-up."""
    return [
        IndexSpec(ORGS, [("name_key", 1)], "orgs_name_unique", unique=True),
        IndexSpec(ORGS, [("list_key", 1)], "orgs_by_name"),
        IndexSpec(PEOPLE, [("email_key", 1)], "people_email_unique", unique=True),
    ]


QUERY_SHAPES: Final = (
    # (collection, fields compared for equality or $in, field ranged and sorted on)
    (ORGS, (), "list_key"),
)
"""Every query this repository runs on a request path other than reads by ``_id``, as a
shape a unit test matches against :func:`indexes`: each must be served by an index whose
leading keys are the equality fields, then the range/sort field. People, lists and the
read models are read by ``_id`` only (an index search on MongoDB and on the local
FerretDB); the unique indexes are constraints, not read paths."""


# --- documents <-> domain -----------------------------------------------------------------------


_PAIRS_PER_READ: Final = 1000


def _pair_ids(groups: Sequence[str], person_ids: Sequence[str]) -> list[list[str]]:
    """The ``<group>/<person>`` ids of every pair, in reads of at most 1,000 ids each."""
    ids = [f"{g}/{p}" for g in sorted(set(groups)) for p in sorted(set(person_ids))]
    return [ids[i : i + _PAIRS_PER_READ] for i in range(0, len(ids), _PAIRS_PER_READ)]


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def org_document(org: Org) -> Document:
    return {
        "_id": org.org_id,
        "kind": org.kind.value,
        "display_name": org.display_name,
        "name_key": org.name_key,
        "list_key": list_key(org.sort_name, org.org_id),
        "state": org.state.value,
        "suspension_reason": org.suspension_reason,
        "created_at": org.created_at,
        "updated_at": org.updated_at,
        "version": org.version,
    }


def org_from(doc: Mapping[str, Any]) -> Org:
    return Org(
        org_id=doc["_id"],
        kind=OrgKind(doc["kind"]),
        display_name=doc["display_name"],
        state=OrgState(doc["state"]),
        created_at=_utc(doc["created_at"]),
        updated_at=_utc(doc["updated_at"]),
        version=int(doc["version"]),
        suspension_reason=doc.get("suspension_reason", ""),
    )


def person_document(person: Person) -> Document:
    return {
        "_id": person.person_id,
        "kind": person.kind.value,
        "org_id": person.org_id,
        "display_name": person.display_name,
        "list_key": list_key(person.sort_name, person.person_id),
        "email": person.email,
        "email_key": person.email_key,
        "title": person.title,
        "department": person.department,
        "location": person.location,
        "manager_id": person.manager_id,
        "bio": person.bio,
        "languages": list(person.languages),
        "declared": list(person.declared),
        "earned": [
            {"tag": e.tag, "n": e.accepted_answers, "at": e.last_earned_at} for e in person.earned
        ],
        "created_at": person.created_at,
        "updated_at": person.updated_at,
        "version": person.version,
    }


def person_from(doc: Mapping[str, Any]) -> Person:
    return Person(
        person_id=doc["_id"],
        kind=PersonKind(doc["kind"]),
        org_id=doc["org_id"],
        display_name=doc["display_name"],
        email=doc["email"],
        title=doc.get("title", ""),
        department=doc.get("department", ""),
        location=doc.get("location", ""),
        manager_id=doc.get("manager_id", ""),
        bio=doc.get("bio", ""),
        languages=tuple(doc.get("languages", ())),
        declared=tuple(doc.get("declared", ())),
        earned=tuple(
            EarnedTag(e["tag"], int(e["n"]), _utc(e["at"])) for e in doc.get("earned", ())
        ),
        created_at=_utc(doc["created_at"]),
        updated_at=_utc(doc["updated_at"]),
        version=int(doc["version"]),
    )


def _person_or_none(list_id: str, entry: str) -> str | None:
    """The person an entry names; None for a string no writer of this service makes."""
    try:
        return person_of(list_id, entry)
    except ValueError:
        _log.warning("not a list entry; skipped", list_id=list_id, entry=entry)
        return None


_PERSON_PROJECTION: Final = {"_outbox": 0, APPLIED_FIELD: 0}
_ORG_PROJECTION: Final = {"_outbox": 0}


@dataclass(frozen=True, slots=True)
class AnswerCredit:
    """One accepted answer's credit: to whom, on which tags, and whether it still stands."""

    answer_id: str
    person_id: str
    tags: tuple[str, ...]
    credited: bool
    """False once the question accepted another answer."""
    event_id: str
    """The AnswerAccepted event that last changed this credit."""


class ProfileRepository:
    """Reads and writes of the profile database. Every method is one or a few round trips,
    bounded by the client's timeouts; PyMongo errors propagate to the caller."""

    def __init__(
        self,
        db: AsyncDatabase[Document],
        outbox: Outbox,
        *,
        writer: AsyncDatabase[Document] | None = None,
    ) -> None:
        """``db`` serves reads; ``writer`` (default ``db``) every write.

        On FerretDB 1.x an update reads the document and writes it back without
        isolation, so two concurrent updates of one document (two requests, or a
        request and the outbox relay's clear) can lose one of them; there the
        service passes a handle on a single-connection client as ``writer``,
        which FerretDB serves one operation at a time (see :mod:`guildhall_profile.app`).
        """
        self._db = db
        self._outbox = outbox
        self._orgs = db[ORGS]
        self._people = db[PEOPLE]
        self._hosts = db[HOSTS]
        self._authors = db[AUTHORS]
        self._credits = db[CREDITS]
        w = writer if writer is not None else db
        self._w_orgs = w[ORGS]
        self._w_people = w[PEOPLE]
        self._lists = ListStore(db, writer=w)
        self._lists_heads = db[LISTS]
        self._w_lists_heads = w[LISTS]
        self._stale: set[tuple[str, str]] = set()
        self._w_hosts = w[HOSTS]
        self._w_authors = w[AUTHORS]
        self._w_credits = w[CREDITS]

    @property
    def lists(self) -> ListStore:
        """The ordered lists (for tests and tools; the service goes through the methods here)."""
        return self._lists

    # --- organisations ------------------------------------------------------------------------

    async def get_org(self, org_id: str) -> Org | None:
        doc = await self._orgs.find_one({"_id": org_id}, projection=_ORG_PROJECTION)
        return org_from(doc) if doc is not None else None

    async def get_orgs(self, org_ids: Iterable[str]) -> dict[str, Org]:
        ids = sorted(set(org_ids))
        if not ids:
            return {}
        cursor = self._orgs.find({"_id": {"$in": ids}}, projection=_ORG_PROJECTION)
        return {doc["_id"]: org_from(doc) async for doc in cursor}

    async def home_orgs(self) -> list[Org]:
        """Every org of kind HOME (there must be exactly one)."""
        cursor = self._orgs.find({"kind": OrgKind.HOME.value}, projection=_ORG_PROJECTION)
        return [org_from(doc) async for doc in cursor]

    async def insert_org(self, org: Org, events: Sequence[Event]) -> None:
        """Insert a new org with its events.

        Raises:
            AlreadyExists: the id, or the display name ignoring case, is taken.
        """
        document = {**org_document(org), **(self._outbox.fields(*events) if events else {})}
        try:
            await self._w_orgs.insert_one(document)
        except DuplicateKeyError:
            if await self._orgs.find_one({"_id": org.org_id}, projection={"_id": 1}):
                raise AlreadyExists(f"org_id {org.org_id!r} is taken") from None
            raise AlreadyExists(f"display_name {org.display_name!r} is taken") from None

    async def update_org(self, before_version: int, org: Org, events: Sequence[Event]) -> bool:
        """Write ``org``'s new state if it is still at ``before_version``; False if it moved on."""
        state = org_document(org)
        del state["_id"]
        result = await self._w_orgs.update_one(
            {"_id": org.org_id, "version": before_version},
            self._outbox.update({"$set": state}, *events),
        )
        return result.matched_count == 1

    async def list_orgs(
        self, *, kind: OrgKind | None, state: OrgState | None, after: str | None, limit: int
    ) -> list[tuple[Org, str]]:
        """Orgs ordered by display name (then id) after list key ``after``: (org, its list key)."""
        query: Document = {}
        if kind is not None:
            query["kind"] = kind.value
        if state is not None:
            query["state"] = state.value
        if after is not None:
            query["list_key"] = {"$gt": after}
        cursor = self._orgs.find(query, projection=_ORG_PROJECTION).sort("list_key", 1).limit(limit)
        return [(org_from(doc), doc["list_key"]) async for doc in cursor]

    # --- people -------------------------------------------------------------------------------

    async def get_person(self, person_id: str) -> Person | None:
        doc = await self._people.find_one({"_id": person_id}, projection=_PERSON_PROJECTION)
        return person_from(doc) if doc is not None else None

    async def get_people(self, person_ids: Iterable[str]) -> dict[str, Person]:
        ids = sorted(set(person_ids))
        if not ids:
            return {}
        cursor = self._people.find({"_id": {"$in": ids}}, projection=_PERSON_PROJECTION)
        return {doc["_id"]: person_from(doc) async for doc in cursor}

    async def insert_person(self, person: Person, events: Sequence[Event]) -> None:
        """Insert a new person with their events, and their list entries.

        Raises:
            AlreadyExists: the person id or the e-mail address (ignoring case) is taken.
            ListBusy: a list kept changing while the entries were added (nothing written).
        """
        added, _ = changed_entries({}, entries_of(person))
        await self._add_entries(added)  # before: the lists are a superset of the people
        document = {**person_document(person), **self._outbox.fields(*events)}
        try:
            await self._w_people.insert_one(document)
        except DuplicateKeyError:
            if await self._people.find_one({"_id": person.person_id}, projection={"_id": 1}):
                raise AlreadyExists(f"person_id {person.person_id!r} is taken") from None
            raise AlreadyExists(f"email {person.email!r} is taken") from None
        await self._after_write(person.person_id, added, [])

    async def update_person(
        self,
        before: Person,
        person: Person,
        events: Sequence[Event],
        *,
        applied: str | None = None,
    ) -> bool:
        """Write ``person``'s new state if the stored person is still ``before`` (its version);
        False if it moved on. Keeps the person's list entries in step (see the module).

        ``applied``: an idempotency mark (an event id); the write happens only if
        the person does not carry it yet, and adds it (``apply_once``'s rule),
        so the effect of one event is stored once. Check :meth:`has_applied`
        when this returns False.

        Raises:
            AlreadyExists: the new e-mail address is taken (not changed by any
                operation today; kept for the unique index's sake).
            ListBusy: a list kept changing while new entries were added (nothing written).
        """
        added, removed = changed_entries(entries_of(before), entries_of(person))
        await self._add_entries(added)
        state = person_document(person)
        del state["_id"]
        update = self._outbox.update({"$set": state}, *events) if events else {"$set": state}
        query: Document = {"_id": person.person_id, "version": before.version}
        if applied is not None:
            update = apply_once_update(update, applied)
            query[APPLIED_FIELD] = {"$ne": applied}
        try:
            result = await self._w_people.update_one(query, update)
        except DuplicateKeyError:
            raise AlreadyExists(f"email {person.email!r} is taken") from None
        if result.matched_count != 1:
            return False  # what was added is extra; readers drop it
        await self._after_write(person.person_id, added, removed)
        return True

    async def _add_entries(self, entries: Sequence[tuple[str, str]]) -> None:
        for list_id, entry in entries:
            await self._lists.add(list_id, entry)

    async def _after_write(
        self,
        person_id: str,
        added: Sequence[tuple[str, str]],
        removed: Sequence[tuple[str, str]],
    ) -> None:
        """After a person write: add its new entries again (a concurrent removal of the same
        entry may have read the person before this write), remove the ones it took away."""
        try:
            await self._add_entries(added)
            await self._remove_checked(person_id, removed)
        except Exception:  # noqa: BLE001 - the write stands; an extra entry is dropped on read
            _log.exception("list upkeep after a person write failed", person=person_id)

    async def _remove_checked(self, person_id: str, entries: Sequence[tuple[str, str]]) -> None:
        """Remove ``entries`` of one person, then put back any that is current again."""
        if not entries:
            return
        for list_id, entry in entries:
            await self._lists.remove(list_id, entry)
        # A write that raced this one may have made one of them current again.
        now = await self.get_person(person_id)
        await self._add_entries([(lid, e) for lid, e in entries if stands(now, lid, e)])

    async def has_applied(self, person_id: str, mark: str) -> bool:
        """Whether the person carries the idempotency mark ``mark``."""
        found = await self._people.find_one(
            {"_id": person_id, APPLIED_FIELD: mark}, projection={"_id": 1}
        )
        return found is not None

    async def list_people(
        self, list_id: str, *, after: str | None, limit: int
    ) -> list[tuple[Person, str]]:
        """The people of one list (:mod:`.domain.listing`: a department or a manager's reports),
        by name then id, after list key ``after``: (person, their list key).

        Reads the list's entries a batch at a time and keeps those that are
        their person's current entry; one bucket read and one people read per
        batch.
        """
        found: list[tuple[Person, str]] = []
        position = after
        batch = max(limit + 1, 50)
        while len(found) < limit:
            entries = await self._lists.read(list_id, position, limit=batch)
            if not entries:
                break
            named = {e: _person_or_none(list_id, e) for e in entries}
            people = await self.get_people(p for p in named.values() if p is not None)
            for entry in entries:
                person = people.get(named[entry] or "")
                if stands(person, list_id, entry):
                    assert person is not None
                    found.append((person, entry))
                elif named[entry] is not None:
                    self.note_stale(list_id, entry)
            if len(entries) < batch:
                break
            position = entries[-1]
        return found[:limit]

    # --- the expert directory -----------------------------------------------------------------

    async def read_list(self, read: ListRead) -> list[ExpertRow]:
        """The next rows of one tag's list, in list-key order, as stored: stale rows included
        (the search resolves every person it meets from the person, see
        :meth:`rows_of`). One bucket read per bucket crossed."""
        position, inclusive = (
            (read.after_key, False) if read.after_key is not None else (read.from_key, True)
        )
        rows: list[ExpertRow] = []
        while len(rows) < read.limit:
            wanted = read.limit - len(rows)
            entries = await self._lists.read(
                tag_list(read.tag), position, inclusive=inclusive, limit=wanted
            )
            for entry in entries:
                try:
                    rows.append(row_of(read.tag, entry))
                except ValueError:
                    _log.warning("not a directory row; skipped", tag=read.tag, entry=entry)
            if len(entries) < wanted:
                break
            position, inclusive = entries[-1], False
        return rows

    @staticmethod
    def rows_of(people: Mapping[str, Person], tags: Sequence[str]) -> list[ExpertRow]:
        """Every current directory row of these people on these tags (from their documents)."""
        wanted = set(tags)
        return [r for p in people.values() for r in directory_rows(p) if r.tag in wanted]

    # --- list upkeep ----------------------------------------------------------------------------

    def note_stale(self, list_id: str, entry: str) -> None:
        """Remember an entry a reader found stale, for :meth:`prune_stale` (bounded; a note
        that does not fit is simply met again by a later read)."""
        if len(self._stale) < STALE_NOTES:
            self._stale.add((list_id, entry))

    def note_stale_rows(self, rows: Sequence[ExpertRow], people: Mapping[str, Person]) -> None:
        """Note the rows read from tag lists that are not their person's current row."""
        for row in rows:
            list_id, entry = tag_list(row.tag), row.list_key
            if not stands(people.get(row.person_id), list_id, entry):
                self.note_stale(list_id, entry)

    async def prune_stale(self, limit: int = 1000) -> int:
        """Remove up to ``limit`` noted stale entries that are still stale; how many.

        Each is removed with the same re-check as a write's removals, so an
        entry that became current again meanwhile is put back.
        """
        notes = sorted(self._stale)[:limit]
        self._stale.difference_update(notes)
        if not notes:
            return 0
        by_person: dict[str, list[tuple[str, str]]] = {}
        for list_id, entry in notes:
            by_person.setdefault(person_of(list_id, entry), []).append((list_id, entry))
        people = await self.get_people(by_person)
        pruned = 0
        for person_id, entries in sorted(by_person.items()):
            stale = [(lid, e) for lid, e in entries if not stands(people.get(person_id), lid, e)]
            await self._remove_checked(person_id, stale)
            pruned += len(stale)
        return pruned

    async def lists_built(self) -> bool:
        """Whether the one-off back-fill of the lists has run on this database."""
        return await self._lists_heads.find_one({"_id": LISTS_BUILT}) is not None

    async def backfill_lists(self) -> int:
        """Build the lists from the people, once per database; how many people were read.

        For a database written before the lists existed (or restored without
        them): reads every person once (a scan on FerretDB, a collection read
        on MongoDB) and merges their entries into the lists — lists with no
        head yet in bulk, the others bucket by bucket; idempotent, and safe
        beside writes, which keep their own entries. Then records that it
        ran; deleting that record (``lists`` document ``!built``) runs it again
        at the next start.
        """
        if await self.lists_built():
            return 0
        lists: dict[str, list[str]] = {}
        read = 0
        async for doc in self._people.find({}, projection=_PERSON_PROJECTION):
            read += 1
            for list_id, entry in entries_of(person_from(doc)).items():
                lists.setdefault(list_id, []).append(entry)
        await self._lists.merge_all(lists)
        await self._w_lists_heads.update_one(
            {"_id": LISTS_BUILT},
            {"$set": {"at": datetime.now(UTC), "people": read}},
            upsert=True,
        )
        return read

    # --- read models from other services' events -----------------------------------------------

    async def set_host(
        self, community_id: str, person_id: str, role: str | None, membership_version: int
    ) -> None:
        """Record ``person_id``'s hosting of ``community_id`` as of ``membership_version``:
        ``role`` owner or moderator, or None for no longer hosting (member, or left).

        Membership events of one person may arrive out of order (the community
        service writes them from two documents); the highest membership version
        wins and older ones are ignored, so the entry is kept (not deleted) when
        the person stops hosting. Idempotent.
        """
        with contextlib.suppress(DuplicateKeyError):  # an equal or newer version is stored
            await self._w_hosts.update_one(
                {"_id": f"{community_id}/{person_id}", "version": {"$lt": membership_version}},
                {
                    "$set": {
                        "community_id": community_id,
                        "person_id": person_id,
                        "role": role,
                        "host": role is not None,
                        "version": membership_version,
                    }
                },
                upsert=True,
            )

    async def hosts_among(
        self, community_ids: Sequence[str], person_ids: Sequence[str]
    ) -> set[tuple[str, str]]:
        """(community id, person id) of the hosts among these people in these communities."""
        found: set[tuple[str, str]] = set()
        for keys in _pair_ids(community_ids, person_ids):
            cursor = self._hosts.find({"_id": {"$in": keys}, "host": True})
            found |= {(doc["community_id"], doc["person_id"]) async for doc in cursor}
        return found

    async def record_author(self, space_id: str, person_id: str, at: datetime) -> None:
        """Record that ``person_id`` authored content in ``space_id``. Idempotent."""
        await self._w_authors.update_one(
            {"_id": f"{space_id}/{person_id}"},
            {"$setOnInsert": {"space_id": space_id, "person_id": person_id, "first_at": at}},
            upsert=True,
        )

    async def authors_among(
        self, space_ids: Sequence[str], person_ids: Sequence[str]
    ) -> set[tuple[str, str]]:
        """(space id, person id) of the authors among these people in these spaces."""
        found: set[tuple[str, str]] = set()
        for keys in _pair_ids(space_ids, person_ids):
            cursor = self._authors.find({"_id": {"$in": keys}})
            found |= {(doc["space_id"], doc["person_id"]) async for doc in cursor}
        return found

    # --- answer credits -----------------------------------------------------------------------

    async def get_credit(self, answer_id: str) -> AnswerCredit | None:
        doc = await self._credits.find_one({"_id": answer_id})
        if doc is None:
            return None
        return AnswerCredit(
            answer_id=doc["_id"],
            person_id=doc["person_id"],
            tags=tuple(doc["tags"]),
            credited=bool(doc["credited"]),
            event_id=doc["event_id"],
        )

    async def insert_credit(self, credit: AnswerCredit, at: datetime) -> bool:
        """Record a first credit for an answer; False if the answer has one already."""
        try:
            await self._w_credits.insert_one(
                {
                    "_id": credit.answer_id,
                    "person_id": credit.person_id,
                    "tags": list(credit.tags),
                    "credited": credit.credited,
                    "event_id": credit.event_id,
                    "at": at,
                }
            )
        except DuplicateKeyError:
            return False
        return True

    async def move_credit(self, before: AnswerCredit, after: AnswerCredit, at: datetime) -> bool:
        """Replace credit ``before`` by ``after`` if nobody changed it meanwhile."""
        result = await self._w_credits.update_one(
            {"_id": before.answer_id, "credited": before.credited, "event_id": before.event_id},
            {
                "$set": {
                    "person_id": after.person_id,
                    "tags": list(after.tags),
                    "credited": after.credited,
                    "event_id": after.event_id,
                    "at": at,
                }
            },
        )
        return result.matched_count == 1
