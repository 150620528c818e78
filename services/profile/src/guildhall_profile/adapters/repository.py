"""The profile service's MongoDB adapter: documents, declared indexes, queries and writes.

Collections of the service's own database:

===================  ==========================================================
``orgs``             one document per organisation; carries its outbox
``people``           one document per person; carries its outbox
``experts``          the expert directory: one row per (tag, person) with a
                     signal, projected from ``people`` (see below)
``community_hosts``  read model: owners and moderators per community, from
                     the community service's events
``space_authors``    read model: who authored content in which space, from the
                     post service's events
``answer_credits``   one document per accepted answer credited (its author,
                     tags, and whether the credit still stands)
===================  ==========================================================

Every state change of an org or person is one single-document write with
compare-and-set on ``version`` and the change's event in the same write (the
transactional outbox). Uniqueness that spans documents (org names, e-mail
addresses) is a unique index.

Queries other than by ``_id``, each served by an index declared in
:func:`indexes` (``QUERY_SHAPES`` lists them for a unit test):

- ListOrgs: ``{kind?, state?, list_key: {$gt: k}}`` sorted by ``list_key``;
- a department's people: ``{department: d, list_key: {$gt: k}}`` sorted by
  ``list_key``, and a manager's reports likewise on ``manager_id``;
- a tag's experts: ``{tag: t, key: {$gt: k}}`` sorted by ``key``;
- a person's directory rows: ``{person_id: p}`` (to converge them).

**Why a separate ``experts`` collection** rather than an index on the people:
the directory is sorted by rank *within a tag*, and a multikey index over a
person's tags cannot sort by a per-tag value (MongoDB sorts an array field by
its smallest element, whatever the filter), so each (tag, person) signal is
its own small row keyed for that sort.

The rows follow the people: each row carries the person ``version`` it was
written from and is only ever replaced by a row of a higher version, and a
row the person no longer has becomes a *tombstone* (``tag`` and ``key``
removed, ``version`` kept) instead of being deleted, so a late write of an
older state can never bring it back. Every person write writes the rows it
changed right after (:meth:`ProfileRepository.write_rows`); if the process
dies in between, the service's own consumer of its expertise events brings
the person's rows up to date from the stored person
(:meth:`ProfileRepository.converge_rows`), so no change is lost.

The participation read models key each document by its pair
(``<community>/<person>``, ``<space>/<person>``): the pair is the natural key
that makes each event's upsert idempotent, and reading a batch of pairs by
``_id`` is the same point lookups an index on (community, person) would make.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final, Literal

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from guildhall_kit.bus import Event
from guildhall_kit.bus.idempotency import APPLIED_FIELD, apply_once_update
from guildhall_kit.clock import aware
from guildhall_kit.errors import AlreadyExists
from guildhall_kit.mongo import Document, IndexSpec
from guildhall_kit.outbox import Outbox
from guildhall_profile.domain.expertise import AnswerCredit, ExpertRow, TagRead, directory_rows
from guildhall_profile.domain.model import (
    EarnedTag,
    Org,
    OrgKind,
    OrgState,
    Person,
    PersonKind,
)

ORGS: Final = "orgs"
PEOPLE: Final = "people"
EXPERTS: Final = "experts"
HOSTS: Final = "community_hosts"
AUTHORS: Final = "space_authors"
CREDITS: Final = "answer_credits"

OUTBOX_COLLECTIONS: Final = (ORGS, PEOPLE)

PeopleList = Literal["department", "manager_id"]
"""The person fields a list of people is filtered on."""


def indexes() -> list[IndexSpec]:
    """Every index the service needs; created at start-up."""
    return [
        IndexSpec(ORGS, [("name_key", 1)], "orgs_name_unique", unique=True),
        IndexSpec(ORGS, [("list_key", 1)], "orgs_by_name"),
        IndexSpec(PEOPLE, [("email_key", 1)], "people_email_unique", unique=True),
        IndexSpec(PEOPLE, [("department", 1), ("list_key", 1)], "people_by_department"),
        IndexSpec(PEOPLE, [("manager_id", 1), ("list_key", 1)], "people_by_manager"),
        IndexSpec(EXPERTS, [("tag", 1), ("key", 1)], "experts_by_tag"),
        IndexSpec(EXPERTS, [("person_id", 1)], "experts_by_person"),
    ]


QUERY_SHAPES: Final = (
    # (collection, fields compared for equality, field ranged and sorted on)
    (ORGS, (), "list_key"),
    (PEOPLE, ("department",), "list_key"),
    (PEOPLE, ("manager_id",), "list_key"),
    (EXPERTS, ("tag",), "key"),
    (EXPERTS, ("person_id",), None),
)
"""Every query this repository runs other than reads by ``_id``, as a shape a unit test
matches against :func:`indexes`: each must be served by an index whose leading keys are
the equality fields, then the range/sort field."""


# --- documents <-> domain -----------------------------------------------------------------------


_PAIRS_PER_READ: Final = 1000


def _pair_ids(groups: Iterable[str], person_ids: Iterable[str]) -> list[list[str]]:
    """The ``<group>/<person>`` ids of every pair, in reads of at most 1,000 ids each."""
    ids = [f"{g}/{p}" for g in sorted(set(groups)) for p in sorted(set(person_ids))]
    return [ids[i : i + _PAIRS_PER_READ] for i in range(0, len(ids), _PAIRS_PER_READ)]


def _utc(value: datetime) -> datetime:
    stamp = aware(value)
    assert stamp is not None
    return stamp


def org_document(org: Org) -> Document:
    return {
        "_id": org.org_id,
        "kind": org.kind.value,
        "display_name": org.display_name,
        "name_key": org.name_key,
        "list_key": org.list_key,
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
        "list_key": person.list_key,
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


def expert_row_document(row: ExpertRow, version: int) -> Document:
    """The ``experts`` document of one directory row, written from person version ``version``."""
    return {
        "_id": f"{row.tag}/{row.person_id}",
        "tag": row.tag,
        "person_id": row.person_id,
        "earned": row.earned,
        "declared": row.declared,
        "key": row.key,
        "version": version,
    }


def _row_from(doc: Mapping[str, Any]) -> ExpertRow:
    return ExpertRow(doc["tag"], doc["person_id"], int(doc["earned"]), bool(doc["declared"]))


_PERSON_PROJECTION: Final = {"_outbox": 0, APPLIED_FIELD: 0}
_ORG_PROJECTION: Final = {"_outbox": 0}
_ROW_FIELDS: Final = ("tag", "key", "earned", "declared")


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
        which FerretDB serves one operation at a time (see ``guildhall_kit.mongo``).
        """
        self._outbox = outbox
        self._orgs = db[ORGS]
        self._people = db[PEOPLE]
        self._experts = db[EXPERTS]
        self._hosts = db[HOSTS]
        self._authors = db[AUTHORS]
        self._credits = db[CREDITS]
        w = writer if writer is not None else db
        self._w_orgs = w[ORGS]
        self._w_people = w[PEOPLE]
        self._w_experts = w[EXPERTS]
        self._w_hosts = w[HOSTS]
        self._w_authors = w[AUTHORS]
        self._w_credits = w[CREDITS]

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
        """Every org of kind HOME (there must be exactly one). Read once at boot."""
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
    ) -> list[Org]:
        """Orgs ordered by display name (then id), after list key ``after``."""
        query: Document = {}
        if kind is not None:
            query["kind"] = kind.value
        if state is not None:
            query["state"] = state.value
        if after is not None:
            query["list_key"] = {"$gt": after}
        cursor = self._orgs.find(query, projection=_ORG_PROJECTION).sort("list_key", 1).limit(limit)
        return [org_from(doc) async for doc in cursor]

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
        """Insert a new person with their events.

        Raises:
            AlreadyExists: the person id or the e-mail address (ignoring case) is taken.
        """
        document = {**person_document(person), **self._outbox.fields(*events)}
        try:
            await self._w_people.insert_one(document)
        except DuplicateKeyError:
            if await self._people.find_one({"_id": person.person_id}, projection={"_id": 1}):
                raise AlreadyExists(f"person_id {person.person_id!r} is taken") from None
            raise AlreadyExists(f"email {person.email!r} is taken") from None

    async def update_person(
        self,
        before: Person,
        person: Person,
        events: Sequence[Event],
        *,
        applied: str | None = None,
    ) -> bool:
        """Write ``person``'s new state if the stored person is still ``before`` (its version);
        False if it moved on.

        ``applied``: an idempotency mark (an event id); the write happens only if
        the person does not carry it yet, and adds it (``apply_once``'s rule),
        so the effect of one event is stored once. Check :meth:`has_applied`
        when this returns False.

        Raises:
            AlreadyExists: the new e-mail address is taken (not changed by any
                operation today; kept for the unique index's sake).
        """
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
        return result.matched_count == 1

    async def has_applied(self, person_id: str, mark: str) -> bool:
        """Whether the person carries the idempotency mark ``mark``."""
        found = await self._people.find_one(
            {"_id": person_id, APPLIED_FIELD: mark}, projection={"_id": 1}
        )
        return found is not None

    async def people_page(
        self, field: PeopleList, value: str, *, after: str | None, limit: int
    ) -> list[Person]:
        """The people whose ``field`` is ``value``, by name then id, after list key ``after``:
        one range of the index on (``field``, ``list_key``)."""
        query: Document = {field: value}
        if after is not None:
            query["list_key"] = {"$gt": after}
        cursor = (
            self._people.find(query, projection=_PERSON_PROJECTION).sort("list_key", 1).limit(limit)
        )
        return [person_from(doc) async for doc in cursor]

    # --- the expert directory -----------------------------------------------------------------

    async def tag_rows(self, read: TagRead) -> list[ExpertRow]:
        """The next rows of one tag, in key order: one range of ``experts_by_tag``."""
        query: Document = {"tag": read.tag}
        if read.after_key is not None:
            query["key"] = {"$gt": read.after_key}
        elif read.from_key is not None:
            query["key"] = {"$gte": read.from_key}
        cursor = self._experts.find(query, projection={"_id": 0, "version": 0})
        return [_row_from(doc) async for doc in cursor.sort("key", 1).limit(read.limit)]

    async def rows_of(self, person_ids: Iterable[str], tags: Iterable[str]) -> list[ExpertRow]:
        """Every row of these people on these tags (tombstones left out), by ``_id``."""
        rows: list[ExpertRow] = []
        for ids in _pair_ids(tags, person_ids):
            cursor = self._experts.find({"_id": {"$in": ids}, "tag": {"$exists": True}})
            rows += [_row_from(doc) async for doc in cursor]
        return rows

    async def write_rows(self, before: Person | None, after: Person) -> None:
        """Bring the directory rows from ``before``'s to ``after``'s, the state just written:
        the rows that changed, at ``after``'s version (see the module). Idempotent."""
        old = {r.tag: r for r in (directory_rows(before) if before is not None else ())}
        new = {r.tag: r for r in directory_rows(after)}
        for tag, row in sorted(new.items()):
            if old.get(tag) != row:
                await self._put_row(row, after.version)
        for tag in sorted(old.keys() - new.keys()):
            await self._bury_row(tag, after.person_id, after.version)

    async def converge_rows(self, person_id: str) -> int:
        """Bring the person's rows to their stored state; how many rows were written."""
        person = await self.get_person(person_id)
        return 0 if person is None else await self.converge_person(person)

    async def converge_person(self, person: Person) -> int:
        """Bring ``person``'s rows to ``person``, a state read from the database; how many
        rows were written.

        Reads the person's rows (``experts_by_person``) and writes only what
        differs, so after a completed :meth:`write_rows` it writes nothing.
        """
        stored: dict[str, ExpertRow | None] = {}
        async for doc in self._experts.find({"person_id": person.person_id}):
            if int(doc.get("version", 0)) > person.version:
                return 0  # a newer write owns the rows (and converges them itself)
            stored[doc["_id"].split("/", 1)[0]] = _row_from(doc) if "tag" in doc else None
        wanted = {r.tag: r for r in directory_rows(person)}
        written = 0
        for tag, row in sorted(wanted.items()):
            if stored.get(tag) != row:
                await self._put_row(row, person.version)
                written += 1
        for tag in sorted(t for t, row in stored.items() if row is not None and t not in wanted):
            await self._bury_row(tag, person.person_id, person.version)
            written += 1
        return written

    async def all_people(self) -> AsyncIterator[Person]:
        """Every person, in ``_id`` order (a one-off migration's read; a full scan)."""
        async for doc in self._people.find({}, projection=_PERSON_PROJECTION).sort("_id", 1):
            yield person_from(doc)

    async def _put_row(self, row: ExpertRow, version: int) -> None:
        fields = expert_row_document(row, version)
        row_id = fields.pop("_id")
        # A duplicate key: the row is already at this version or a newer one.
        with contextlib.suppress(DuplicateKeyError):
            await self._w_experts.update_one(
                {"_id": row_id, "version": {"$lt": version}}, {"$set": fields}, upsert=True
            )

    async def _bury_row(self, tag: str, person_id: str, version: int) -> None:
        """Make the row a tombstone at ``version``: out of every tag's range, version kept."""
        with contextlib.suppress(DuplicateKeyError):
            await self._w_experts.update_one(
                {"_id": f"{tag}/{person_id}", "version": {"$lt": version}},
                {
                    "$set": {"person_id": person_id, "version": version},
                    "$unset": dict.fromkeys(_ROW_FIELDS, ""),
                },
                upsert=True,
            )

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
