"""The profile service's MongoDB adapter: documents, indexes, and single-document writes.

Collections of the service's own database:

=================  ==========================================================
``orgs``           one document per organisation; carries its outbox
``people``         one document per person; carries its outbox
``experts``        the expert directory: one row per (tag, person) with a
                   signal, projected from ``people`` (see below)
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

The directory rows are a projection of the people documents. A write that
changes a person's expertise also sets ``_directory_pending`` in the same
write; the projection rewrites that person's rows from the person's current
state and then clears the marker only if the person did not change meanwhile.
A crash in between leaves the marker, and :meth:`ProfileRepository.pending_projections`
finds it for the repair loop. Rows carry the person's version, so an older
projection never overwrites a newer one.

Query shapes and the indexes they use (MongoDB 7; FerretDB 1.x with SQLite
does not push filters down and scans, which is fine at local scale):

- directory list read: ``{tag: t, key: {$gt|$gte: k}}`` sorted by ``key`` ->
  ``experts(tag, key)``, one range per tag;
- directory person lookup: ``{person_id: {$in}, tag: {$in}}`` -> ``experts(person_id, tag)``;
- people by department / manager / org: ``{department: d, list_key: {$gt: k}}``
  sorted by ``list_key`` -> ``people(department, list_key)`` and likewise;
- participation: ``{person_id: {$in}, community_id|space_id: {$in}}`` ->
  ``community_hosts(person_id, community_id)``, ``space_authors(person_id, space_id)``.
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
from guildhall_kit.mongo import Document, IndexSpec
from guildhall_kit.outbox import Outbox
from guildhall_profile.domain.expertise import ExpertRow, ListRead, directory_rows
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

DIRECTORY_PENDING: Final = "_directory_pending"
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_KEY_SEP: Final = "\x01"  # below every character a name may contain (control chars are refused)

PROJECTION_ATTEMPTS: Final = 5


def list_key(sort_name: str, ident: str) -> str:
    """One string ordering a list by (name, id): a range on it continues a page."""
    return f"{sort_name}{_KEY_SEP}{ident}"


def indexes() -> list[IndexSpec]:
    """Every index the service needs; created at start-up."""
    return [
        IndexSpec(ORGS, [("name_key", 1)], "orgs_name_unique", unique=True),
        IndexSpec(ORGS, [("list_key", 1)], "orgs_by_name"),
        IndexSpec(PEOPLE, [("email_key", 1)], "people_email_unique", unique=True),
        IndexSpec(PEOPLE, [("department", 1), ("list_key", 1)], "people_by_department"),
        IndexSpec(PEOPLE, [("manager_id", 1), ("list_key", 1)], "people_by_manager"),
        IndexSpec(PEOPLE, [("org_id", 1), ("list_key", 1)], "people_by_org"),
        IndexSpec(PEOPLE, [(DIRECTORY_PENDING, 1)], "people_directory_pending"),
        IndexSpec(EXPERTS, [("tag", 1), ("key", 1)], "experts_directory"),
        IndexSpec(EXPERTS, [("person_id", 1), ("tag", 1)], "experts_by_person"),
    ]


QUERY_SHAPES: Final = (
    # (collection, fields compared for equality or $in, field ranged and sorted on)
    (EXPERTS, ("tag",), "key"),
    (EXPERTS, ("person_id", "tag"), None),
    (ORGS, (), "list_key"),
    (PEOPLE, ("department",), "list_key"),
    (PEOPLE, ("manager_id",), "list_key"),
    (PEOPLE, ("org_id",), "list_key"),
    (PEOPLE, (), DIRECTORY_PENDING),
    (PEOPLE, ("email_key",), None),
)
"""Every query this repository runs other than reads by ``_id`` (the community hosts and
space authors of a partner's card check are ``_id`` reads of every pair), as a shape a
unit test matches against :func:`indexes`: each must be served by an index whose
leading keys are the equality fields, then the range/sort field. On MongoDB that
keeps every list and the directory an index range, never a collection scan."""


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


def expert_row_document(row: ExpertRow, version: int) -> Document:
    """The ``experts`` document of one directory row, projected from person version ``version``."""
    return {
        "_id": f"{row.tag}/{row.person_id}",
        "tag": row.tag,
        "person_id": row.person_id,
        "earned": row.earned,
        "declared": row.declared,
        "key": row.list_key,
        "version": version,
    }


def _row_from(doc: Mapping[str, Any]) -> ExpertRow:
    return ExpertRow(doc["tag"], doc["person_id"], int(doc["earned"]), bool(doc["declared"]))


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
        """Insert a new person with their events.

        Raises:
            AlreadyExists: the person id or the e-mail address (ignoring case) is taken.
        """
        document = {**person_document(person), **self._outbox.fields(*events)}
        if person.is_employee and (person.declared or person.earned):
            document[DIRECTORY_PENDING] = person.updated_at
        try:
            await self._w_people.insert_one(document)
        except DuplicateKeyError:
            if await self._people.find_one({"_id": person.person_id}, projection={"_id": 1}):
                raise AlreadyExists(f"person_id {person.person_id!r} is taken") from None
            raise AlreadyExists(f"email {person.email!r} is taken") from None

    async def update_person(
        self,
        before_version: int,
        person: Person,
        events: Sequence[Event],
        *,
        directory: bool = False,
        applied: str | None = None,
    ) -> bool:
        """Write ``person``'s new state if still at ``before_version``; False if it moved on.

        ``directory``: the change touches expertise, so the person's directory
        rows must be projected again (the marker is set in this same write).
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
        if directory:
            state[DIRECTORY_PENDING] = person.updated_at
        update = self._outbox.update({"$set": state}, *events) if events else {"$set": state}
        query: Document = {"_id": person.person_id, "version": before_version}
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

    async def list_people(
        self, field: str, value: str, *, after: str | None, limit: int
    ) -> list[tuple[Person, str]]:
        """People with ``field == value`` (department, manager_id or org_id), by name then id,
        after list key ``after``: (person, their list key)."""
        if field not in ("department", "manager_id", "org_id"):
            raise ValueError(f"no index lists people by {field}")
        query: Document = {field: value}
        if after is not None:
            query["list_key"] = {"$gt": after}
        cursor = (
            self._people.find(query, projection=_PERSON_PROJECTION).sort("list_key", 1).limit(limit)
        )
        return [(person_from(doc), doc["list_key"]) async for doc in cursor]

    # --- the expert directory -----------------------------------------------------------------

    async def project_directory(self, person_id: str) -> None:
        """Rewrite the directory rows of ``person_id`` from their current state.

        Idempotent and safe to run concurrently with itself and with writes:
        rows only move to newer versions; when the person changed while the
        rows were written, the projection runs again for the newer state
        (a few times at most, then the marker stays for the repair loop).
        """
        for _ in range(PROJECTION_ATTEMPTS):
            doc = await self._people.find_one({"_id": person_id}, projection=_PERSON_PROJECTION)
            if doc is None:
                return
            person = person_from(doc)
            await self._write_rows(person)
            cleared = await self._w_people.update_one(
                {"_id": person_id, "version": person.version}, {"$unset": {DIRECTORY_PENDING: ""}}
            )
            if cleared.matched_count == 1:
                return

    async def _write_rows(self, person: Person) -> None:
        rows = directory_rows(person)
        for row in rows:
            # A duplicate key means the row is already at this version or a newer one.
            with contextlib.suppress(DuplicateKeyError):
                fields = expert_row_document(row, person.version)
                key = fields.pop("_id")
                await self._w_experts.update_one(
                    {"_id": key, "version": {"$lt": person.version}}, {"$set": fields}, upsert=True
                )
        await self._w_experts.delete_many(
            {
                "person_id": person.person_id,
                "tag": {"$nin": [r.tag for r in rows]},
                "version": {"$lt": person.version},
            }
        )

    async def pending_projections(self, limit: int = 100) -> list[str]:
        """People whose directory rows may be out of date, oldest first."""
        cursor = (
            self._people.find({DIRECTORY_PENDING: {"$gte": _EPOCH}}, projection={"_id": 1})
            .sort(DIRECTORY_PENDING, 1)
            .limit(limit)
        )
        return [doc["_id"] async for doc in cursor]

    async def read_list(self, read: ListRead) -> list[ExpertRow]:
        """The next rows of one tag's list, in list-key order (one index range)."""
        query: Document = {"tag": read.tag}
        if read.after_key is not None:
            query["key"] = {"$gt": read.after_key}
        elif read.from_key is not None:
            query["key"] = {"$gte": read.from_key}
        cursor = self._experts.find(query).sort("key", 1).limit(read.limit)
        return [_row_from(doc) async for doc in cursor]

    async def rows_of(self, person_ids: Sequence[str], tags: Sequence[str]) -> list[ExpertRow]:
        """Every directory row of these people on these tags."""
        if not person_ids:
            return []
        cursor = self._experts.find(
            {"person_id": {"$in": list(person_ids)}, "tag": {"$in": list(tags)}}
        )
        return [_row_from(doc) async for doc in cursor]

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
