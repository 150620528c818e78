"""Read models kept from other services' events: people, spaces, memberships, items, experts.

- ``people``       {_id: person_id, org_id, kind, display_name, email, version, active_at}
                   index {org_id, _id} (the people of a partner org)
- ``spaces``       {_id: space_id, community_id, title, is_pinhole, visibility,
                   archived, pinhole_state, ever_opened, grants: {org_id: level}, version}
                   (a community's main space has _id == community_id and carries the
                   community's visibility; a pinhole takes it from there)
                   index {community_id}
- ``memberships``  {_id: "<community>:<person>", community_id, person_id, role|None,
                   version}: the highest membership_version applied wins, since one
                   person's membership events may arrive out of order
                   index {community_id, role} (members, moderators, owners)
- ``items``        {_id: post_id, space_id, type, author_id, title, tags, deleted}
- ``comments``     {_id: comment_id, post_id, author_id}
- ``experts``      {_id: person_id, tags: [tag], detail: [{tag, declared, earned}],
                   version, _applied_events}; index {tags} (multikey)
- ``fanout_progress`` {_id: "<event>|<activity>|<direct>", batches}: how far a large
                   fan-out got, so a retried event continues where it stopped
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from guildhall_kit.bus import apply_once_update
from guildhall_kit.bus.idempotency import APPLIED_FIELD
from guildhall_kit.mongo import Document, IndexSpec
from guildhall_notification.domain.model import (
    Item,
    ItemType,
    Person,
    PersonKind,
    PinholeState,
    Role,
    Space,
    Visibility,
)
from guildhall_notification.domain.routing import Expertise, rank, score

PEOPLE = "people"
SPACES = "spaces"
MEMBERSHIPS = "memberships"
ITEMS = "items"
COMMENTS = "comments"
EXPERTS = "experts"
EXPERT_TAGS = "expert_tags"
MIGRATIONS = "migrations"
EXPERT_ROWS_MIGRATION = "expert_tags:rows"
"""The record of the rows' backfill."""
TOP_EXPERTS_DEPTH = 512
"""Rows of one tag a question's expert routing reads at most (see ``top_experts``)."""
PROGRESS = "fanout_progress"


def indexes() -> list[IndexSpec]:
    return [
        IndexSpec(PEOPLE, [("org_id", 1), ("_id", 1)], "by_org"),
        IndexSpec(SPACES, [("community_id", 1)], "by_community"),
        IndexSpec(MEMBERSHIPS, [("community_id", 1), ("role", 1), ("person_id", 1)], "members"),
        IndexSpec(EXPERTS, [("tags", 1)], "by_tag"),
        IndexSpec(EXPERT_TAGS, [("tag", 1), ("score", -1), ("person_id", 1)], "by_tag_score"),
        IndexSpec(EXPERT_TAGS, [("person_id", 1)], "by_person"),
    ]


def _person(document: Document) -> Person:
    return Person(
        person_id=str(document["_id"]),
        org_id=str(document.get("org_id") or ""),
        kind=PersonKind(document.get("kind") or PersonKind.EMPLOYEE),
        display_name=str(document.get("display_name") or ""),
        email=str(document.get("email") or ""),
        active_at=document.get("active_at"),
    )


def _expertise(document: Document) -> dict[str, Expertise]:
    return {
        str(d["tag"]): Expertise(bool(d.get("declared")), int(d.get("earned") or 0))
        for d in document.get("detail") or ()
    }


def expert_rows(person_id: str, document: Document) -> list[Document]:
    """The ``expert_tags`` rows of one ``experts`` document: one per tag, with the tag's
    score (:func:`~guildhall_notification.domain.routing.score` of that tag alone)."""
    version = int(document.get("version") or 0)
    return [
        {
            "_id": f"{d['tag']}:{person_id}",
            "tag": str(d["tag"]),
            "person_id": person_id,
            "score": points,
            "version": version,
        }
        for d in document.get("detail") or ()
        for points in (
            score(
                [str(d["tag"])],
                {str(d["tag"]): Expertise(bool(d.get("declared")), int(d.get("earned") or 0))},
            ),
        )
    ]


def _item(document: Document) -> Item:
    return Item(
        post_id=str(document["_id"]),
        space_id=str(document["space_id"]),
        type=ItemType(document["type"]),
        author_id=str(document["author_id"]),
        title=str(document.get("title") or ""),
        tags=tuple(document.get("tags") or ()),
        deleted=bool(document.get("deleted")),
    )


async def _apply_if_newer(
    collection: Any, document_id: str, version: int, update: Mapping[str, Any]
) -> bool:
    """Apply ``update`` unless the document already has ``version`` or a later one."""
    try:
        result = await collection.update_one(
            {"_id": document_id, "$or": [{"version": {"$lt": version}}, {"version": None}]},
            {**update, "$set": {**dict(update.get("$set", {})), "version": version}},
            upsert=True,
        )
    except DuplicateKeyError:
        return False  # the document exists with this version or a later one
    return bool(result.modified_count or result.upserted_id is not None)


class ReadModels:
    """The read models; reads through the pooled handle, writes through the writer."""

    def __init__(self, db: AsyncDatabase[Document], *, writer: AsyncDatabase[Document]) -> None:
        self._db = db
        self._w = writer

    # ------------------------------------------------------------------ people

    async def put_person(self, person: Person, version: int) -> None:
        await _apply_if_newer(
            self._w[PEOPLE],
            person.person_id,
            version,
            {
                "$set": {
                    "org_id": person.org_id,
                    "kind": person.kind.value,
                    "display_name": person.display_name,
                    "email": person.email,
                }
            },
        )

    async def touch_active(self, person_id: str, at: datetime) -> None:
        await self._w[PEOPLE].update_one({"_id": person_id}, {"$max": {"active_at": at}})

    async def people(self, person_ids: Iterable[str]) -> dict[str, Person]:
        ids = sorted(set(person_ids))
        found: dict[str, Person] = {}
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            async for document in self._db[PEOPLE].find({"_id": {"$in": chunk}}):
                person = _person(document)
                found[person.person_id] = person
        return found

    async def person(self, person_id: str) -> Person | None:
        document = await self._db[PEOPLE].find_one({"_id": person_id})
        return _person(document) if document else None

    async def people_of_org(self, org_id: str) -> list[str]:
        found = await self._db[PEOPLE].find({"org_id": org_id}, projection={"_id": 1}).to_list(None)
        return [str(d["_id"]) for d in found]

    # ------------------------------------------------------------------ spaces

    async def put_community(
        self, community_id: str, *, name: str, visibility: Visibility, archived: bool, version: int
    ) -> None:
        await _apply_if_newer(
            self._w[SPACES],
            community_id,
            version,
            {
                "$set": {
                    "community_id": community_id,
                    "title": name,
                    "is_pinhole": False,
                    "visibility": visibility.value,
                    "archived": archived,
                }
            },
        )

    async def put_pinhole(
        self,
        pinhole_id: str,
        *,
        community_id: str,
        version: int,
        title: str | None = None,
        state: PinholeState | None = None,
        grants: Mapping[str, str] | None = None,
        grant: tuple[str, str | None] | None = None,
    ) -> None:
        """Apply one pinhole event (in the pinhole's own order, guarded by its version)."""
        fields: dict[str, Any] = {"community_id": community_id, "is_pinhole": True}
        unset: dict[str, Any] = {}
        if title is not None:
            fields["title"] = title
        if state is not None:
            fields["pinhole_state"] = state.value
            if state is PinholeState.OPEN:
                fields["ever_opened"] = True
        if grants is not None:
            fields["grants"] = dict(grants)
        if grant is not None:
            org, level = grant
            if level is None:
                unset[f"grants.{org}"] = ""
            else:
                fields[f"grants.{org}"] = level
        update: dict[str, Any] = {"$set": fields}
        if unset:
            update["$unset"] = unset
        await _apply_if_newer(self._w[SPACES], pinhole_id, version, update)

    async def space(self, space_id: str) -> Space | None:
        """The space with its community's visibility; None when unknown."""
        document = await self._db[SPACES].find_one({"_id": space_id})
        if document is None:
            return None
        community = document
        if document.get("is_pinhole"):
            community = await self._db[SPACES].find_one({"_id": document["community_id"]}) or {}
        state = document.get("pinhole_state")
        return Space(
            space_id=space_id,
            community_id=str(document.get("community_id") or space_id),
            title=str(document.get("title") or ""),
            is_pinhole=bool(document.get("is_pinhole")),
            visibility=Visibility(community.get("visibility") or Visibility.SECRET),
            archived=bool(community.get("archived")),
            pinhole_state=PinholeState(state) if state else None,
            ever_opened=bool(document.get("ever_opened")),
            grants=dict(document.get("grants") or {}),
        )

    # ------------------------------------------------------------- memberships

    async def put_membership(
        self, community_id: str, person_id: str, role: Role | None, version: int
    ) -> bool:
        return await _apply_if_newer(
            self._w[MEMBERSHIPS],
            f"{community_id}:{person_id}",
            version,
            {
                "$set": {
                    "community_id": community_id,
                    "person_id": person_id,
                    "role": role.value if role else None,
                }
            },
        )

    async def touch_membership_version(
        self, community_id: str, person_id: str, version: int
    ) -> None:
        """Record a membership version that changes no role (a join request)."""
        try:
            await self._w[MEMBERSHIPS].update_one(
                {
                    "_id": f"{community_id}:{person_id}",
                    "$or": [{"version": {"$lt": version}}, {"version": None}],
                },
                {
                    "$set": {"version": version},
                    "$setOnInsert": {
                        "community_id": community_id,
                        "person_id": person_id,
                        "role": None,
                    },
                },
                upsert=True,
            )
        except DuplicateKeyError:
            return

    async def put_owner_if_unknown(self, community_id: str, person_id: str) -> None:
        """The creator of a community is its owner until a membership event says more."""
        try:
            await self._w[MEMBERSHIPS].update_one(
                {"_id": f"{community_id}:{person_id}"},
                {
                    "$setOnInsert": {
                        "community_id": community_id,
                        "person_id": person_id,
                        "role": Role.OWNER.value,
                        "version": 0,
                    }
                },
                upsert=True,
            )
        except DuplicateKeyError:
            return

    async def roles(self, community_id: str, person_ids: Iterable[str]) -> dict[str, Role]:
        """The current role of each of ``person_ids`` in the community (members only)."""
        ids = [f"{community_id}:{p}" for p in sorted(set(person_ids))]
        found: dict[str, Role] = {}
        for start in range(0, len(ids), 1000):
            async for document in self._db[MEMBERSHIPS].find(
                {"_id": {"$in": ids[start : start + 1000]}, "role": {"$ne": None}},
                projection={"person_id": 1, "role": 1},
            ):
                found[str(document["person_id"])] = Role(document["role"])
        return found

    async def members(
        self, community_id: str, roles: Sequence[Role] = tuple(Role)
    ) -> AsyncIterator[list[str]]:
        """The community's members with one of ``roles``, in batches of 1,000."""
        cursor = (
            self._db[MEMBERSHIPS]
            .find(
                {"community_id": community_id, "role": {"$in": [r.value for r in roles]}},
                projection={"person_id": 1},
                batch_size=1000,
            )
            .sort("person_id", 1)
        )
        batch: list[str] = []
        async for document in cursor:
            batch.append(str(document["person_id"]))
            if len(batch) >= 1000:
                yield batch
                batch = []
        if batch:
            yield batch

    # ------------------------------------------------------------------- items

    async def put_item(self, item: Item) -> None:
        await self._w[ITEMS].update_one(
            {"_id": item.post_id},
            {
                "$set": {
                    "space_id": item.space_id,
                    "type": item.type.value,
                    "author_id": item.author_id,
                    "title": item.title,
                    "tags": list(item.tags),
                },
                "$setOnInsert": {"deleted": False},
            },
            upsert=True,
        )

    async def update_item(
        self, post_id: str, *, title: str | None = None, tags: Sequence[str] | None = None
    ) -> None:
        fields: dict[str, Any] = {}
        if title is not None:
            fields["title"] = title
        if tags is not None:
            fields["tags"] = list(tags)
        if fields:
            await self._w[ITEMS].update_one({"_id": post_id}, {"$set": fields})

    async def delete_item(self, post_id: str) -> None:
        await self._w[ITEMS].update_one({"_id": post_id}, {"$set": {"deleted": True}})

    async def item(self, post_id: str) -> Item | None:
        document = await self._db[ITEMS].find_one({"_id": post_id})
        return _item(document) if document else None

    async def put_comment(self, comment_id: str, post_id: str, author_id: str) -> None:
        await self._w[COMMENTS].update_one(
            {"_id": comment_id},
            {"$set": {"post_id": post_id, "author_id": author_id}},
            upsert=True,
        )

    async def comment_author(self, comment_id: str) -> str | None:
        document = await self._db[COMMENTS].find_one({"_id": comment_id})
        return str(document["author_id"]) if document else None

    # ----------------------------------------------------------------- experts

    async def change_expertise(
        self,
        person_id: str,
        change: Callable[[dict[str, Expertise]], dict[str, Expertise]],
        *,
        event_id: str,
        attempts: int = 10,
    ) -> None:
        """Apply ``change`` to the person's expertise once per ``event_id`` (compare-and-set
        on the document's version; the event id is recorded in the same write)."""
        collection = self._w[EXPERTS]
        for _ in range(attempts):
            document = await collection.find_one({"_id": person_id}) or {}
            if event_id in (document.get(APPLIED_FIELD) or ()):
                # Applied before; its rows may not be (a crash in between): write them again.
                await self._sync_expert_rows(person_id, document)
                return
            current = {
                str(d["tag"]): Expertise(bool(d.get("declared")), int(d.get("earned") or 0))
                for d in document.get("detail") or ()
            }
            changed = change(current)
            kept = {t: e for t, e in changed.items() if e.declared or e.earned > 0}
            version = int(document.get("version") or 0)
            update = apply_once_update(
                {
                    "$set": {
                        "tags": sorted(kept),
                        "detail": [
                            {"tag": t, "declared": e.declared, "earned": e.earned}
                            for t, e in sorted(kept.items())
                        ],
                        "version": version + 1,
                    }
                },
                event_id,
            )
            try:
                result = await collection.update_one(
                    {"_id": person_id, "version": version if document else None},
                    update,
                    upsert=not document,
                )
            except DuplicateKeyError:
                continue
            if result.modified_count or result.upserted_id is not None:
                await self._sync_expert_rows(
                    person_id, await collection.find_one({"_id": person_id})
                )
                return
        raise RuntimeError(f"expertise of {person_id} kept changing; will retry the event")

    async def _sync_expert_rows(self, person_id: str, document: Document | None) -> None:
        """Make the person's ``expert_tags`` rows (one per tag, with its score) those of
        ``document``; a row of a newer version is left alone."""
        if not document:
            return
        version = int(document.get("version") or 0)
        rows = expert_rows(person_id, document)
        await self._put_rows(rows)
        kept = [row["tag"] for row in rows]
        await self._w[EXPERT_TAGS].delete_many(
            {"person_id": person_id, "tag": {"$nin": kept}, "version": {"$lt": version}}
        )

    async def backfill_expert_rows(self) -> int:
        """Write the ``expert_tags`` rows of every person's expertise, once per database
        (for expertise stored before the rows existed); how many people it wrote."""
        done = self._w[MIGRATIONS]
        if await done.find_one({"_id": EXPERT_ROWS_MIGRATION}) is not None:
            return 0
        count = 0
        batch: list[Document] = []
        async for document in self._db[EXPERTS].find({}, batch_size=1000):
            batch.extend(expert_rows(str(document["_id"]), document))
            count += 1
            if len(batch) >= 1000:
                await self._put_rows(batch)
                batch = []
        await self._put_rows(batch)
        await done.update_one(
            {"_id": EXPERT_ROWS_MIGRATION}, {"$set": {"people": count}}, upsert=True
        )
        return count

    async def _put_rows(self, rows: Sequence[Document]) -> None:
        """Upsert ``rows``, each unless a newer version's row is stored."""
        for row in rows:
            with contextlib.suppress(DuplicateKeyError):
                await self._w[EXPERT_TAGS].update_one(
                    {"_id": row["_id"], "version": {"$lte": row["version"]}},
                    {"$set": {k: v for k, v in row.items() if k != "_id"}},
                    upsert=True,
                )

    async def top_experts(self, tags: Sequence[str], want: int) -> dict[str, dict[str, Expertise]]:
        """The expertise of enough people with expertise in ``tags`` that the first ``want``
        of :func:`~guildhall_notification.domain.routing.rank` over them are the first
        ``want`` over everyone: each tag's best rows, read deeper until the ``want``-th
        score beats what anyone unread could reach (the threshold algorithm) — but no
        deeper than :data:`TOP_EXPERTS_DEPTH` rows per tag: past that, the best among
        each tag's first rows (where scores are flat, as with declarations only, the
        threshold is met only by reading everyone). A question reads tens or hundreds
        of rows, not every expert of its tags."""
        unique = sorted(set(tags))
        if not unique or want < 1:
            return {}
        depth = want
        while True:
            lists: dict[str, list[Document]] = {}
            for tag in unique:
                lists[tag] = await (
                    self._db[EXPERT_TAGS]
                    .find({"tag": tag}, projection={"person_id": 1, "score": 1})
                    .sort([("score", -1), ("person_id", 1)])
                    .limit(depth)
                    .to_list(None)
                )
            people = sorted({str(r["person_id"]) for rows in lists.values() for r in rows})
            found = await self._expertise_of(people)
            if all(len(rows) < depth for rows in lists.values()) or depth >= TOP_EXPERTS_DEPTH:
                return found  # every row of every tag read, or as deep as a question reads
            # Anyone unread scores at most each full list's last score in its tag, and
            # reaches that sum only by matching each of those scores, with a person id
            # after each of those rows' (rows sort by score, then person id, as rank does).
            full = [rows[-1] for rows in lists.values() if len(rows) == depth]
            bound = sum(int(last["score"]) for last in full)
            after = max(str(last["person_id"]) for last in full)
            ranked = rank(unique, found)
            if len(ranked) >= want:
                weakest = ranked[want - 1]
                points = score(unique, found[weakest])
                if points > bound or (points == bound and weakest <= after):
                    return found
            depth = min(depth * 4, TOP_EXPERTS_DEPTH)

    async def _expertise_of(self, person_ids: Sequence[str]) -> dict[str, dict[str, Expertise]]:
        found: dict[str, dict[str, Expertise]] = {}
        for start in range(0, len(person_ids), 1000):
            chunk = person_ids[start : start + 1000]
            async for document in self._db[EXPERTS].find({"_id": {"$in": chunk}}):
                found[str(document["_id"])] = _expertise(document)
        return found

    async def experts(self, tags: Sequence[str]) -> dict[str, dict[str, Expertise]]:
        """Everyone with expertise in one of ``tags``: person -> tag -> expertise. Reads
        every one of them (tests and repairs; routing asks :meth:`top_experts`)."""
        found: dict[str, dict[str, Expertise]] = {}
        async for document in self._db[EXPERTS].find({"tags": {"$in": list(tags)}}):
            found[str(document["_id"])] = _expertise(document)
        return found

    # ----------------------------------------------------------- fan-out progress

    async def fanout_progress(self, key: str) -> int:
        """How many candidate batches of one fan-out were handed over already."""
        found = await self._db[PROGRESS].find_one({"_id": key})
        return int(found["batches"]) if found else 0

    async def set_fanout_progress(self, key: str, batches: int) -> None:
        await self._w[PROGRESS].update_one(
            {"_id": key}, {"$max": {"batches": batches}}, upsert=True
        )
