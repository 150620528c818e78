"""MongoDB persistence of posts, answers, comments and their revisions.

Collections of the post service's own database:

- ``posts``      one document per item, holding its current revision in full, its
  counters, idea voters and reactions, and its outbox entries;
- ``answers``    one document per answer (score, up/down voters, current revision);
- ``comments``   one document per comment (thread id, reactions, current revision);
- ``revisions``  ``{_id: "<item id>:<revision, 10 digits>", item_id, revision, title,
  body, tags, author_id, created_at, summary, restored_from}``;

Each collection declares the ordinary indexes its queries need (:func:`store_indexes`);
every listing is a keyset page on a string key: feeds ``_id`` descending within a space
(ULIDs sort by creation), answers ``_id`` ascending within a question, comments
``(thread_id, _id)`` within a post or answer, revisions their ``_id`` (``"<item>:<n>"``)
descending within an item (docs/adr/0006-feeds-fan-out.md, 0012-post-child-lists.md).

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
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from guildhall_kit.bus import Event
from guildhall_kit.errors import Aborted
from guildhall_kit.logging import get_logger
from guildhall_kit.mongo import Document, IndexSpec
from guildhall_kit.outbox import OUTBOX_FIELD, OUTBOX_SINCE_FIELD, Outbox
from guildhall_post.adapters.clock import aware
from guildhall_post.domain.content import IdeaStatus, ItemState, PostType
from guildhall_post.domain.revisions import RevisionData, merge_history

_log = get_logger(__name__)


class Kind(enum.StrEnum):
    """The three kinds of item documents, named by their collection."""

    POST = "posts"
    ANSWER = "answers"
    COMMENT = "comments"


REVISIONS: Final = "revisions"
ID_BATCH: Final = 500
"""Most ids in one ``{_id: {$in: ...}}`` read (FerretDB's ``_id`` pushdown takes 1,000)."""
WRITE_BATCH: Final = 1000
"""Most documents in one bulk insert."""
UPDATE_BATCH: Final = 50
"""Most updates in one bulk write. FerretDB 1.x (SQLite) keeps each update's read of an
existing document open until the whole command ends, and a database has 100 SQLite
connections: a command of 100 updates of existing documents waits for itself forever."""
OUTBOX_COLLECTIONS: Final = (Kind.POST.value, Kind.ANSWER.value, Kind.COMMENT.value)

HIDDEN_FIELDS: Final = ("voters", "up", "down", "reactors", OUTBOX_FIELD, OUTBOX_SINCE_FIELD)
"""Never returned by list reads: per-person arrays and pending events."""
PUBLIC: Final[dict[str, int]] = dict.fromkeys(HIDDEN_FIELDS, 0)


FEED_CHUNK: Final = 100
"""Most spaces in one feed query; a home feed over more runs one query per chunk and
merges them (each already sorted), so no single ``$in`` grows with a person's memberships."""


def store_indexes() -> list[IndexSpec]:
    """The indexes of the content collections, one per query shape (ESR: equality fields,
    then the keyset's sort key)."""
    return [
        # Space and home feeds: newest first within the spaces, keyset on _id (a ULID).
        IndexSpec(Kind.POST, [("space_id", 1), ("state", 1), ("_id", -1)], name="space_feed"),
        IndexSpec(
            Kind.POST,
            [("space_id", 1), ("state", 1), ("type", 1), ("_id", -1)],
            name="space_feed_by_type",
        ),
        IndexSpec(
            Kind.POST,
            [("space_id", 1), ("state", 1), ("tags", 1), ("_id", -1)],
            name="space_feed_by_tag",
        ),
        # Questions for me: open questions carrying one of the person's tags, newest first.
        IndexSpec(
            Kind.POST,
            [("tags", 1), ("type", 1), ("state", 1), ("accepted_answer_id", 1), ("_id", -1)],
            name="open_questions_by_tag",
        ),
        IndexSpec(Kind.ANSWER, [("question_id", 1), ("_id", 1)], name="answers_by_question"),
        IndexSpec(
            Kind.COMMENT,
            [("post_id", 1), ("answer_id", 1), ("thread_id", 1), ("_id", 1)],
            name="comments_by_thread",
        ),
        IndexSpec(REVISIONS, [("item_id", 1), ("_id", -1)], name="revisions_by_item"),
    ]


def post_document(
    *,
    post_id: str,
    space_id: str,
    post_type: PostType,
    title: str,
    body: str,
    tags: Sequence[str],
    mentions: Sequence[str],
    quoted_post_id: str,
    author_id: str,
    pinned: bool,
    summary: str,
    at: datetime,
) -> Document:
    """A new post's document as CreatePost stores it (its events are added by the write)."""
    return {
        "_id": post_id,
        "space_id": space_id,
        "type": post_type.value,
        "title": title,
        "body": body,
        "tags": list(tags),
        "mentions": list(mentions),
        "quoted_post_id": quoted_post_id,
        "author_id": author_id,
        "state": ItemState.PUBLISHED.value,
        "pinned": pinned,
        "idea_status": IdeaStatus.NEW.value if post_type is PostType.IDEA else "",
        "accepted_answer_id": "",
        "revision": 1,
        "revision_summary": summary,
        "edited_by": author_id,
        "comment_count": 0,
        "answer_count": 0,
        "vote_count": 0,
        "voters": [],
        "reactors": {},
        "reaction_counts": {},
        "created_at": at,
        "updated_at": at,
        "version": 1,
    }


def answer_document(
    *,
    answer_id: str,
    question_id: str,
    space_id: str,
    author_id: str,
    body: str,
    mentions: Sequence[str],
    at: datetime,
) -> Document:
    """A new answer's document as PostAnswer stores it."""
    return {
        "_id": answer_id,
        "question_id": question_id,
        "space_id": space_id,
        "author_id": author_id,
        "body": body,
        "mentions": list(mentions),
        "state": ItemState.PUBLISHED.value,
        "score": 0,
        "up": [],
        "down": [],
        "revision": 1,
        "edited_by": author_id,
        "comment_count": 0,
        "created_at": at,
        "updated_at": at,
        "version": 1,
    }


def comment_document(
    *,
    comment_id: str,
    post_id: str,
    answer_id: str,
    parent_comment_id: str,
    thread_id: str,
    space_id: str,
    author_id: str,
    body: str,
    mentions: Sequence[str],
    at: datetime,
) -> Document:
    """A new comment's document as AddComment stores it (``thread_id`` "" for a new thread)."""
    return {
        "_id": comment_id,
        "post_id": post_id,
        "answer_id": answer_id,
        "parent_comment_id": parent_comment_id,
        "thread_id": thread_id or comment_id,
        "space_id": space_id,
        "author_id": author_id,
        "body": body,
        "mentions": list(mentions),
        "state": ItemState.PUBLISHED.value,
        "revision": 1,
        "edited_by": author_id,
        "reactors": {},
        "reaction_counts": {},
        "created_at": at,
        "updated_at": at,
        "version": 1,
    }


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
        self._hint = hint
        self._known_days: set[tuple[str, str]] = set()

    def coll(self, kind: Kind) -> AsyncCollection[Document]:
        return self.db[kind.value]

    async def get(self, kind: Kind, item_id: str, *, full: bool = False) -> Document | None:
        """One item document; without ``full`` the per-person arrays are left out."""
        return await self.coll(kind).find_one({"_id": item_id}, projection=None if full else PUBLIC)

    async def get_many(self, kind: Kind, ids: Iterable[str]) -> dict[str, Document]:
        """Items by id (missing ones left out), without the per-person arrays."""
        docs = await self._by_ids(kind.value, ids, PUBLIC)
        return {str(d["_id"]): d for d in docs}

    async def _by_ids(
        self, collection: str, ids: Iterable[str], projection: Mapping[str, int] | None = None
    ) -> list[Document]:
        """Documents by ``_id``: one ``$in`` read per :data:`ID_BATCH` ids, concurrently."""
        wanted = sorted(set(ids))
        chunks = [wanted[i : i + ID_BATCH] for i in range(0, len(wanted), ID_BATCH)]
        found = await asyncio.gather(
            *(
                self.db[collection]
                .find({"_id": {"$in": chunk}}, projection=projection)
                .to_list(length=None)
                for chunk in chunks
            )
        )
        return [doc for docs in found for doc in docs]

    async def find(
        self, kind: Kind, query: Mapping[str, Any], sort: Sequence[tuple[str, int]], limit: int
    ) -> list[Document]:
        cursor = self.coll(kind).find(dict(query), projection=PUBLIC).sort(list(sort)).limit(limit)
        return await cursor.to_list(length=limit)

    async def insert(self, kind: Kind, doc: Document, events: Sequence[Event]) -> None:
        """Insert a new item with its first revision's copy; ``events`` travel in the same
        write."""
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

    async def insert_posts(self, docs: Sequence[Document]) -> None:
        """Bulk insert of new posts (built by :func:`post_document`) without events, and their
        first revisions' copies -- what CreatePost leaves once the relay has published and
        cleared its events.

        For seeding benchmarks: no event is published, so the search index and the other
        services never learn of these posts.
        """
        for start in range(0, len(docs), WRITE_BATCH):
            chunk = docs[start : start + WRITE_BATCH]
            await self._writer[Kind.POST.value].insert_many([dict(d) for d in chunk])
            await self._writer[REVISIONS].insert_many(
                [_revision_doc(current_revision(d)) for d in chunk]
            )

    async def insert_children(self, kind: Kind, docs: Sequence[Document]) -> None:
        """Bulk insert of new answers or comments (documents as PostAnswer / AddComment build
        them) without events, and their first revisions' copies -- what those RPCs leave once
        the relay has cleared their events. Parents' counters are left alone.

        For seeding benchmarks and tests: no event is published.
        """
        for start in range(0, len(docs), WRITE_BATCH):
            chunk = docs[start : start + WRITE_BATCH]
            await self._writer[kind.value].insert_many([dict(d) for d in chunk])
            await self._writer[REVISIONS].insert_many(
                [_revision_doc(current_revision(d)) for d in chunk]
            )

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
        """Up to ``limit`` revisions of the item ``current``, newest first, below ``before``
        (exclusive): one keyset read of the item's stored copies by ``_id`` descending, the
        current revision taken from the item itself (it wins over its copy)."""
        item, now = str(current["_id"]), int(current["revision"])
        top = now if before is None else min(before - 1, now)
        if top < 1:
            return []
        projection = None if bodies else {"body": 0}
        cursor = (
            self.db[REVISIONS]
            .find({"item_id": item, "_id": {"$lte": revision_id(item, top)}}, projection)
            .sort("_id", -1)
            .limit(limit)
        )
        stored = [_revision_from(d) for d in await cursor.to_list(length=limit)]
        history = merge_history(stored, current_revision(current))
        return [r for r in history if r.revision <= top][:limit]

    # ------------------------------------------------------------------ listings

    async def feed(
        self,
        space_ids: Sequence[str],
        *,
        before: str | None,
        limit: int,
        post_type: str = "",
        tag: str = "",
        pinned_only: bool = False,
    ) -> list[Document]:
        """Up to ``limit`` published posts of the spaces, newest first, below ``before``.

        One keyset query per :data:`FEED_CHUNK` spaces (``space_feed*`` indexes), run
        concurrently and merged by ``_id``: each chunk's newest ``limit`` are the only
        candidates it can contribute.
        """
        spaces = sorted(set(space_ids))
        if not spaces or limit <= 0:
            return []
        base: dict[str, Any] = {"state": ItemState.PUBLISHED.value}
        if post_type:
            base["type"] = post_type
        if tag:
            base["tags"] = tag
        if pinned_only:
            base["pinned"] = True
        if before is not None:
            base["_id"] = {"$lt": before}
        chunks = [spaces[i : i + FEED_CHUNK] for i in range(0, len(spaces), FEED_CHUNK)]
        found = await asyncio.gather(
            *(
                self.find(
                    Kind.POST,
                    {"space_id": c[0] if len(c) == 1 else {"$in": c}, **base},
                    [("_id", -1)],
                    limit,
                )
                for c in chunks
            )
        )
        if len(found) == 1:
            return found[0]
        merged = sorted((d for docs in found for d in docs), key=lambda d: str(d["_id"]))
        return merged[::-1][:limit]

    async def answers(
        self, question_id: str, *, after: str | None, limit: int, visible_to: str | None
    ) -> list[Document]:
        """Up to ``limit`` answers of the question by ``_id``, after ``after``; with
        ``visible_to`` only published ones and that person's own (deleted or not)."""
        query: dict[str, Any] = {"question_id": question_id}
        if after is not None:
            query["_id"] = {"$gt": after}
        if visible_to is not None:
            query["$or"] = [{"state": ItemState.PUBLISHED.value}, {"author_id": visible_to}]
        return await self.find(Kind.ANSWER, query, [("_id", 1)], limit)

    async def comments(
        self, post_id: str, answer_id: str, *, after: tuple[str, str] | None, limit: int
    ) -> list[Document]:
        """Up to ``limit`` comments on the post (or on its answer ``answer_id``) in listing
        order -- thread by thread, by id inside a thread -- after ``after`` (thread, id).

        The keyset on two keys is two queries on ``comments_by_thread``, no ``$or``: the rest
        of the position's thread, then the threads after it.
        """
        base: dict[str, Any] = {"post_id": post_id, "answer_id": answer_id}
        found: list[Document] = []
        rest: dict[str, Any] = dict(base)
        if after is not None:
            thread, last = after
            found = await self.find(
                Kind.COMMENT,
                {**base, "thread_id": thread, "_id": {"$gt": last}},
                [("_id", 1)],
                limit,
            )
            rest["thread_id"] = {"$gt": thread}
        if len(found) < limit:
            found += await self.find(
                Kind.COMMENT, rest, [("thread_id", 1), ("_id", 1)], limit - len(found)
            )
        return found

    async def members_of(
        self, kind: Kind, item_ids: Sequence[str], field: str, person_id: str
    ) -> set[str]:
        """The items among ``item_ids`` whose array ``field`` holds ``person_id`` (one ``$in``
        read: which answers of a page the person voted up, for example)."""
        if not item_ids:
            return set()
        cursor = self.coll(kind).find(
            {"_id": {"$in": list(item_ids)}, field: person_id}, projection={"_id": 1}
        )
        return {str(d["_id"]) async for d in cursor}

    async def revision(self, current: Mapping[str, Any], number: int) -> RevisionData | None:
        if number == int(current["revision"]):
            return current_revision(current)
        doc = await self.db[REVISIONS].find_one({"_id": revision_id(str(current["_id"]), number)})
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
