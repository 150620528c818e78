"""MongoDB persistence of posts, answers, comments and their revisions.

Collections of the post service's own database:

- ``posts``      one document per item, holding its current revision in full, its
  counters, idea voters and reactions, and its outbox entries;
- ``answers``    one document per answer (score, up/down voters, current revision);
- ``comments``   one document per comment (thread id, reactions, current revision);
- ``revisions``  ``{_id: "<item id>:<revision, 10 digits>", item_id, revision, title,
  body, tags, author_id, created_at, summary, restored_from}``.

Every state change and its events are one single-document write (the kit's
outbox), so an event is published if and only if its change was stored. Counters
on a parent (a question's answer count, an item's comment count) are a second,
best-effort write: they may lag after a crash, the events never do.

Reads use the service's pooled handle; every write uses the kit's writer handle
(``ServiceContext.writer_db``), which is the same handle on MongoDB and a
single-connection client on FerretDB 1.x. FerretDB 1.x applies an update as a
read followed by a write of the whole document without isolation (two
concurrent updates of one document can lose one; a conditional update can
"win" twice); through one connection it serves this process's writes, the
outbox relay's clears included, one at a time, so the conditional filters below
hold. Several replicas on one FerretDB would still race: it is the local and
test database only. After a write that added events the store hints the relay
with the document, which publishes it at once without a scan.

Revisions survive a crash without transactions: the item's document always holds
its current revision, so the history is "stored revisions + the current one"
(:func:`guildhall_post.domain.revisions.merge_history`). An edit first stores a copy
of the revision it replaces (an idempotent insert), then moves the item from
revision N to N+1 with a filter on N -- so of two concurrent edits from the same
base exactly one wins and the other is ABORTED, and nothing is ever lost -- and
finally stores the new revision's copy (which the next edit or a history read
re-derives if a crash skipped it).
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from guildhall_kit.bus import Event
from guildhall_kit.errors import Aborted
from guildhall_kit.mongo import Document, IndexSpec
from guildhall_kit.outbox import OUTBOX_FIELD, OUTBOX_SINCE_FIELD, Outbox
from guildhall_post.adapters.clock import aware
from guildhall_post.domain.revisions import RevisionData


class Kind(enum.StrEnum):
    """The three kinds of item documents, named by their collection."""

    POST = "posts"
    ANSWER = "answers"
    COMMENT = "comments"


REVISIONS: Final = "revisions"
OUTBOX_COLLECTIONS: Final = (Kind.POST.value, Kind.ANSWER.value, Kind.COMMENT.value)

HIDDEN_FIELDS: Final = ("voters", "up", "down", "reactors", OUTBOX_FIELD, OUTBOX_SINCE_FIELD)
"""Never returned by list reads: per-person arrays and pending events."""
PUBLIC: Final[dict[str, int]] = dict.fromkeys(HIDDEN_FIELDS, 0)


def store_indexes() -> list[IndexSpec]:
    return [
        IndexSpec(Kind.POST, [("space_id", 1), ("state", 1), ("_id", -1)], name="space_feed"),
        IndexSpec(
            Kind.POST,
            [("space_id", 1), ("state", 1), ("type", 1), ("_id", -1)],
            name="space_feed_by_type",
        ),
        IndexSpec(
            Kind.POST,
            [("type", 1), ("state", 1), ("accepted_answer_id", 1), ("tags", 1), ("_id", -1)],
            name="open_questions",
        ),
        IndexSpec(Kind.ANSWER, [("question_id", 1), ("_id", 1)], name="by_question"),
        IndexSpec(
            Kind.COMMENT,
            [("post_id", 1), ("answer_id", 1), ("thread_id", 1), ("_id", 1)],
            name="threads",
        ),
        IndexSpec(REVISIONS, [("item_id", 1), ("revision", -1)], name="by_item"),
    ]


def revision_id(item_id: str, revision: int) -> str:
    return f"{item_id}:{revision:010d}"


def current_revision(doc: Mapping[str, Any]) -> RevisionData:
    """The revision an item document holds now."""
    return RevisionData(
        item_id=str(doc["_id"]),
        revision=int(doc["revision"]),
        title=str(doc.get("title", "")),
        body=str(doc["body"]),
        tags=tuple(doc.get("tags") or ()),
        author_id=str(doc.get("edited_by") or doc["author_id"]),
        created_at=aware(doc.get("updated_at") or doc["created_at"]),  # type: ignore[arg-type]
        summary=str(doc.get("revision_summary", "")),
        restored_from=int(doc.get("restored_from", 0)),
    )


def _revision_doc(rev: RevisionData) -> Document:
    return {
        "_id": revision_id(rev.item_id, rev.revision),
        "item_id": rev.item_id,
        "revision": rev.revision,
        "title": rev.title,
        "body": rev.body,
        "tags": list(rev.tags),
        "author_id": rev.author_id,
        "created_at": rev.created_at,
        "summary": rev.summary,
        "restored_from": rev.restored_from,
    }


def _revision_from(doc: Mapping[str, Any]) -> RevisionData:
    return RevisionData(
        item_id=str(doc["item_id"]),
        revision=int(doc["revision"]),
        title=str(doc.get("title", "")),
        body=str(doc.get("body", "")),
        tags=tuple(doc.get("tags") or ()),
        author_id=str(doc["author_id"]),
        created_at=aware(doc["created_at"]),  # type: ignore[arg-type]
        summary=str(doc.get("summary", "")),
        restored_from=int(doc.get("restored_from", 0)),
    )


class Store:
    """Reads and writes of item documents; no access decisions here."""

    def __init__(
        self,
        db: AsyncDatabase[Document],
        outbox: Outbox,
        *,
        writer: AsyncDatabase[Document] | None = None,
        hint: Callable[[str, Any], None] | None = None,
    ) -> None:
        """``db`` for reads, ``writer`` for writes (default ``db``); ``hint(collection, id)``
        tells the outbox relay a document has new events."""
        self.db = db
        self.outbox = outbox
        self._writer = writer if writer is not None else db
        self._revisions = db[REVISIONS]
        self._hint = hint

    def coll(self, kind: Kind) -> AsyncCollection[Document]:
        return self.db[kind.value]

    async def get(self, kind: Kind, item_id: str, *, full: bool = False) -> Document | None:
        """One item document; without ``full`` the per-person arrays are left out."""
        return await self.coll(kind).find_one({"_id": item_id}, projection=None if full else PUBLIC)

    async def get_many(self, kind: Kind, ids: Sequence[str]) -> dict[str, Document]:
        """Items by id: one point read each, concurrently (FerretDB 1.x scans for ``$in``)."""
        wanted = sorted(set(ids))
        docs = await asyncio.gather(
            *(self.coll(kind).find_one({"_id": i}, projection=PUBLIC) for i in wanted)
        )
        return {i: d for i, d in zip(wanted, docs, strict=True) if d is not None}

    async def find(
        self, kind: Kind, query: Mapping[str, Any], sort: Sequence[tuple[str, int]], limit: int
    ) -> list[Document]:
        cursor = self.coll(kind).find(dict(query), projection=PUBLIC).sort(list(sort)).limit(limit)
        return await cursor.to_list(length=limit)

    async def insert(self, kind: Kind, doc: Document, events: Sequence[Event]) -> None:
        """Insert a new item with its first revision's copy; ``events`` travel in the same write."""
        fields = self.outbox.fields(*events) if events else {}
        await self._writer[kind.value].insert_one({**doc, **fields})
        if events:
            self._hinted(kind, doc["_id"])
        await self.keep_revision(current_revision(doc))

    async def update(
        self,
        kind: Kind,
        query: Mapping[str, Any],
        update: Mapping[str, Any],
        events: Sequence[Event] = (),
    ) -> Document | None:
        """Apply ``update`` (plus ``events``) to the document matching ``query`` (which names
        its ``_id``); the document after the change, or None when nothing matched."""
        return await self._update(kind, query, update, events)

    async def _update(
        self,
        kind: Kind,
        query: Mapping[str, Any],
        update: Mapping[str, Any],
        events: Sequence[Event] = (),
    ) -> Document | None:
        full = self.outbox.update(update, *events) if events else dict(update)
        full.setdefault("$inc", {})["version"] = 1
        # FerretDB 1.x's findAndModify takes no projection: drop the hidden fields here.
        after = await self._writer[kind.value].find_one_and_update(
            dict(query), full, return_document=ReturnDocument.AFTER
        )
        if after is None:
            return None
        if events:
            self._hinted(kind, after["_id"])
        return {k: v for k, v in after.items() if k not in HIDDEN_FIELDS}

    def _hinted(self, kind: Kind, item_id: Any) -> None:
        if self._hint is not None:
            self._hint(kind.value, item_id)

    async def bump(self, kind: Kind, item_id: str, counters: Mapping[str, int]) -> None:
        """Best-effort counter change on a parent (see the module docstring)."""
        await self._writer[kind.value].update_one({"_id": item_id}, {"$inc": dict(counters)})

    async def keep_revision(self, rev: RevisionData) -> None:
        """Store ``rev``'s copy unless it is stored already (idempotent)."""
        try:
            await self._writer[REVISIONS].insert_one(_revision_doc(rev))
        except DuplicateKeyError:
            return

    async def revise(
        self,
        kind: Kind,
        doc: Mapping[str, Any],
        new_fields: Mapping[str, Any],
        events: Sequence[Event],
    ) -> Document:
        """Move the item from its revision in ``doc`` to the next one, with ``new_fields``.

        Raises:
            Aborted: the item changed since ``doc`` was read (another edit won, or it
                was deleted); nothing was written.
        """
        base = int(doc["revision"])
        await self.keep_revision(current_revision(doc))
        after = await self._update(
            kind,
            {"_id": doc["_id"], "revision": base, "state": "published"},
            {"$set": {**new_fields, "revision": base + 1}},
            events,
        )
        if after is None:
            raise Aborted(f"the item changed since revision {base} was read; re-read it and retry")
        await self.keep_revision(current_revision(after))
        return after

    async def revisions(
        self, current: Mapping[str, Any], *, before: int | None, limit: int, bodies: bool
    ) -> list[RevisionData]:
        """Revisions of the item ``current``, newest first, below ``before`` (exclusive)."""
        from guildhall_post.domain.revisions import merge_history

        top = int(current["revision"]) if before is None else before - 1
        query: dict[str, Any] = {"item_id": str(current["_id"]), "revision": {"$lte": top}}
        projection = None if bodies else {"body": 0}
        cursor = (
            self._revisions.find(query, projection=projection).sort("revision", -1).limit(limit)
        )
        stored = [_revision_from(d) async for d in cursor]
        history = merge_history(stored, current_revision(current))
        return [r for r in history if r.revision <= top][:limit]

    async def revision(self, current: Mapping[str, Any], number: int) -> RevisionData | None:
        if number == int(current["revision"]):
            return current_revision(current)
        doc = await self._revisions.find_one({"_id": revision_id(str(current["_id"]), number)})
        return None if doc is None else _revision_from(doc)

    async def has_member(self, kind: Kind, item_id: str, field: str, person_id: str) -> bool:
        """Whether ``person_id`` is in the array ``field`` of the item (a voter, a reactor)."""
        found = await self.coll(kind).find_one(
            {"_id": item_id, field: person_id}, projection={"_id": 1}
        )
        return found is not None

    async def arrays(self, kind: Kind, item_id: str, fields: Sequence[str]) -> Document:
        """Only the given array fields of one item (for the caller's own votes and reactions)."""
        return (
            await self.coll(kind).find_one({"_id": item_id}, projection=dict.fromkeys(fields, 1))
            or {}
        )
