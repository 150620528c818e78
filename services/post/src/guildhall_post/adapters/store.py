"""MongoDB persistence of posts, answers, comments and their revisions.

Collections of the post service's own database:

- ``posts``      one document per item, holding its current revision in full, its
  counters, idea voters and reactions, and its outbox entries;
- ``answers``    one document per answer (score, up/down voters, current revision);
- ``comments``   one document per comment (thread id, reactions, current revision);
- ``revisions``  ``{_id: "<item id>:<revision, 10 digits>", item_id, revision, title,
  body, tags, author_id, created_at, summary, restored_from}``;
- ``feed_months``, ``feed_days``, ``feed_buckets``: each space's timeline -- its months,
  each month's days, and one bucket of post entries per UTC day
  (:mod:`guildhall_post.domain.timeline`), from which the feeds are read by ``_id``
  only (docs/adr/0006-feeds-fan-out.md);
- ``children``   per parent, the list of its answers (``"<question id>:answers"``) or of
  its comments (``"<post or answer id>:comments"``), from which those listings are read by
  ``_id`` only (:mod:`guildhall_post.domain.children`, docs/adr/0012-post-child-lists.md);
- ``migrations``   one document per one-off data step that has completed.

A revision's ``_id`` follows from its item and number, so a page of history is one
``_id $in`` read of the numbers it needs.

Child-list entries are a superset of the answers and comments: an entry is written before
its child and never removed (the listings verify each entry against its child).

Timeline entries are a superset of the published posts: a post's entry is written
before the post (so a post is never stored without one) and removed after the post
is deleted (a crash in between leaves an entry that the feed reads rule out).

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

from pymongo import ReturnDocument, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from guildhall_kit.bus import Event
from guildhall_kit.errors import Aborted
from guildhall_kit.logging import get_logger
from guildhall_kit.mongo import Document, IndexSpec
from guildhall_kit.outbox import OUTBOX_FIELD, OUTBOX_SINCE_FIELD, Outbox
from guildhall_post.adapters.clock import aware, now_ms
from guildhall_post.domain.children import (
    ChildEntry,
    answer_entry,
    comment_entry,
    revision_numbers,
)
from guildhall_post.domain.content import IdeaStatus, ItemState, PostType
from guildhall_post.domain.revisions import RevisionData, merge_history
from guildhall_post.domain.timeline import TimelineItem, group_writes

_log = get_logger(__name__)


class Kind(enum.StrEnum):
    """The three kinds of item documents, named by their collection."""

    POST = "posts"
    ANSWER = "answers"
    COMMENT = "comments"


REVISIONS: Final = "revisions"
FEED_MONTHS: Final = "feed_months"
FEED_DAYS: Final = "feed_days"
FEED_BUCKETS: Final = "feed_buckets"
KNOWN_DAYS_MAX: Final = 100_000
"""Most (space, day) pairs a store remembers as listed (then it forgets them all)."""
CHILDREN: Final = "children"
MIGRATIONS: Final = "migrations"
CHILDREN_BACKFILL: Final = "child_lists_backfill"
"""The ``migrations`` document of the one-off back-fill (:meth:`Store.backfill_children`)."""
TIMELINE_BACKFILL: Final = "feed_timeline_backfill"
"""The ``migrations`` document of the one-off back-fill (:meth:`Store.backfill_timeline`)."""
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


def store_indexes() -> list[IndexSpec]:
    # The feeds read the timeline by _id only (ADR 0006), answers and comments their
    # parents' child lists and revisions their deterministic ids (ADR 0012): no index
    # serves those.
    return [
        IndexSpec(
            Kind.POST,
            [("type", 1), ("state", 1), ("accepted_answer_id", 1), ("tags", 1), ("_id", -1)],
            name="open_questions",
        ),
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


def timeline_item(doc: Mapping[str, Any]) -> TimelineItem:
    """The timeline's view of a post document."""
    return TimelineItem(str(doc["space_id"]), str(doc["_id"]), str(doc["type"]))


def child_entry(kind: Kind, doc: Mapping[str, Any]) -> ChildEntry:
    """The child-list entry of an answer or comment document."""
    if kind is Kind.ANSWER:
        return answer_entry(doc)
    if kind is Kind.COMMENT:
        return comment_entry(doc)
    raise ValueError(f"{kind.value} are not listed under a parent")


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
        """Insert a new item with its first revision's copy; ``events`` travel in the same write.

        A post's timeline entry, an answer's or a comment's child-list entry, is written
        first, so an item is never stored without one.
        """
        if kind is Kind.POST:
            await self.timeline_add([timeline_item(doc)])
        else:
            await self.children_add([child_entry(kind, doc)])
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
        """Bulk insert of new posts (built by :func:`post_document`) without events: their
        timeline entries first, then the posts and their first revisions' copies -- what
        CreatePost leaves once the relay has published and cleared its events.

        For seeding benchmarks: no event is published, so the search index and the other
        services never learn of these posts.
        """
        await self.timeline_add(
            [timeline_item(d) for d in docs if d.get("state") == ItemState.PUBLISHED.value]
        )
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
        await self.children_add([child_entry(kind, d) for d in docs])
        for start in range(0, len(docs), WRITE_BATCH):
            chunk = docs[start : start + WRITE_BATCH]
            await self._writer[kind.value].insert_many([dict(d) for d in chunk])
            await self._writer[REVISIONS].insert_many(
                [_revision_doc(current_revision(d)) for d in chunk]
            )

    # ------------------------------------------------------------------ child lists

    async def children_add(self, entries: Sequence[ChildEntry]) -> None:
        """Add the entries to their parents' lists: one idempotent upsert per list
        (``$addToSet``), so a retry or a repeated back-fill adds nothing twice."""
        grouped: dict[str, list[str]] = {}
        meta: dict[str, ChildEntry] = {}
        for e in entries:
            grouped.setdefault(e.list_id, []).append(e.key)
            meta.setdefault(e.list_id, e)
        await self._bulk_upsert(
            CHILDREN,
            [
                UpdateOne(
                    {"_id": list_id},
                    {
                        "$addToSet": {"entries": {"$each": keys}},
                        "$setOnInsert": {
                            "parent_id": meta[list_id].parent_id,
                            "kind": meta[list_id].kind.value,
                        },
                    },
                    upsert=True,
                )
                for list_id, keys in grouped.items()
            ],
        )

    async def children(self, list_id: str) -> list[str]:
        """The entries of one child list ([] when it has none): one read by ``_id``."""
        doc = await self.db[CHILDREN].find_one({"_id": list_id}, projection={"entries": 1})
        return [] if doc is None else [str(k) for k in doc.get("entries") or ()]

    async def backfill_children(self) -> int | None:
        """Once per database: give every answer and comment its child-list entry.

        For a database written before the lists existed. Returns how many children it
        added, or None when it had run already (one point read). Idempotent and safe to
        interrupt (``$addToSet``; the marker is written last). It reads ``answers`` and
        ``comments`` once in full, so it must run before any reader relies on old children
        and while no process writes children without entries (every version since the
        lists writes them first).
        """
        if await self.db[MIGRATIONS].find_one({"_id": CHILDREN_BACKFILL}) is not None:
            return None
        added = 0
        fields = {
            Kind.ANSWER: {"_id": 1, "question_id": 1},
            Kind.COMMENT: {"_id": 1, "post_id": 1, "answer_id": 1, "thread_id": 1},
        }
        for kind, projection in fields.items():
            batch: list[ChildEntry] = []
            cursor = self.coll(kind).find({}, projection=projection, batch_size=WRITE_BATCH)
            async for doc in cursor:
                try:
                    batch.append(child_entry(kind, doc))
                except KeyError:
                    _log.warning("child-list back-fill skipped an item", item_id=str(doc["_id"]))
                    continue
                if len(batch) >= WRITE_BATCH:
                    await self.children_add(batch)
                    added, batch = added + len(batch), []
            await self.children_add(batch)
            added += len(batch)
        await self._writer[MIGRATIONS].update_one(
            {"_id": CHILDREN_BACKFILL},
            {"$set": {"done_at": now_ms(), "children": added}},
            upsert=True,
        )
        return added

    # ------------------------------------------------------------------ timeline

    async def timeline_add(self, items: Sequence[TimelineItem]) -> None:
        """Add the posts' entries to their spaces' timelines: the months, the days, then the
        buckets, each an idempotent upsert by ``_id`` (``$addToSet``), so a retry or a
        repeated back-fill adds nothing twice.

        The month and day lists only ever grow, so a day this store has listed once is not
        listed again (remembered in memory, up to :data:`KNOWN_DAYS_MAX` days): a post
        then costs one timeline write, its bucket's.
        """
        if not items:
            return
        writes = group_writes(items, listed=lambda s, d: (s, d) in self._known_days)
        await self._bulk_upsert(
            FEED_MONTHS,
            [
                UpdateOne({"_id": s}, {"$addToSet": {"months": {"$each": m}}}, upsert=True)
                for s, m in writes.months.items()
            ],
        )
        await self._bulk_upsert(
            FEED_DAYS,
            [
                UpdateOne(
                    {"_id": d.days_id},
                    {
                        "$addToSet": {"days": {"$each": d.days}},
                        "$setOnInsert": {"space_id": d.space_id, "month": d.month},
                    },
                    upsert=True,
                )
                for d in writes.days
            ],
        )
        if len(self._known_days) > KNOWN_DAYS_MAX:
            self._known_days.clear()
        self._known_days.update((d.space_id, day) for d in writes.days for day in d.days)
        await self._bulk_upsert(
            FEED_BUCKETS,
            [
                UpdateOne(
                    {"_id": b.bucket_id},
                    {
                        "$addToSet": {"entries": {"$each": b.entries}},
                        "$setOnInsert": {"space_id": b.space_id, "day": b.day},
                    },
                    upsert=True,
                )
                for b in writes.buckets
            ],
        )

    async def _bulk_upsert(self, collection: str, ops: Sequence[UpdateOne]) -> None:
        for start in range(0, len(ops), UPDATE_BATCH):
            chunk = list(ops[start : start + UPDATE_BATCH])
            try:
                await self._writer[collection].bulk_write(chunk, ordered=False)
            except BulkWriteError as exc:
                # Two first upserts of one _id can race on MongoDB; the loser finds the
                # document on a retry, and repeating the others is harmless (idempotent).
                errors = exc.details.get("writeErrors", [])
                if not errors or any(e.get("code") != 11000 for e in errors):
                    raise
                await self._writer[collection].bulk_write(chunk, ordered=False)

    async def timeline_remove(self, doc: Mapping[str, Any]) -> None:
        """Best-effort removal of a deleted post's entry, by exact value (FerretDB 1.x's
        ``$pull`` with a condition removes nothing). The day stays listed."""
        item = timeline_item(doc)
        await self._writer[FEED_BUCKETS].update_one(
            {"_id": item.bucket}, {"$pullAll": {"entries": [item.entry]}}
        )

    async def timeline_months(self, space_ids: Iterable[str]) -> dict[str, list[str]]:
        """The months each space has buckets in (spaces without any are left out)."""
        docs = await self._by_ids(FEED_MONTHS, space_ids, {"months": 1})
        return {str(d["_id"]): [str(x) for x in d.get("months") or ()] for d in docs}

    async def timeline_days(self, ids: Iterable[str]) -> list[Document]:
        """Lists of days (``feed_days``) by ``_id`` (missing ones left out)."""
        return await self._by_ids(FEED_DAYS, ids, {"days": 1})

    async def timeline_buckets(self, ids: Iterable[str]) -> list[Document]:
        """Bucket documents by ``_id`` (missing buckets left out)."""
        return await self._by_ids(FEED_BUCKETS, ids)

    async def backfill_timeline(self) -> int | None:
        """Once per database: give every published post its timeline entry.

        For a database written before the timeline existed. Returns how many posts it
        added, or None when it had run already (one point read). Idempotent and safe to
        interrupt: entries are added with ``$addToSet`` and the marker is written last. It
        reads the posts collection once in full, so it must run before any reader relies on
        old posts and while no process writes posts without entries (every version since
        the timeline writes them first).
        """
        if await self.db[MIGRATIONS].find_one({"_id": TIMELINE_BACKFILL}) is not None:
            return None
        added = 0
        batch: list[TimelineItem] = []
        cursor = self.coll(Kind.POST).find(
            {"state": ItemState.PUBLISHED.value},
            projection={"_id": 1, "space_id": 1, "type": 1},
            batch_size=WRITE_BATCH,
        )
        async for doc in cursor:
            try:
                item = timeline_item(doc)
                _ = item.day  # an id that is not a ULID has no day
            except (KeyError, ValueError):
                _log.warning("timeline back-fill skipped a post", post_id=str(doc.get("_id")))
                continue
            batch.append(item)
            if len(batch) >= WRITE_BATCH:
                await self.timeline_add(batch)
                added, batch = added + len(batch), []
        await self.timeline_add(batch)
        added += len(batch)
        await self._writer[MIGRATIONS].update_one(
            {"_id": TIMELINE_BACKFILL},
            {"$set": {"done_at": now_ms(), "posts": added}},
            upsert=True,
        )
        return added

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
        """Revisions of the item ``current``, newest first, below ``before`` (exclusive).

        Revision ids follow from the item and the number, so a page is one ``_id $in`` read
        of the numbers it needs (another below it only if a stored copy is missing, which
        an edit's order of writes rules out).
        """
        item, now = str(current["_id"]), int(current["revision"])
        top = now if before is None else min(before - 1, now)
        projection = None if bodies else {"body": 0}
        stored: list[RevisionData] = []
        numbers = revision_numbers(top, limit)
        while True:
            wanted = [revision_id(item, n) for n in numbers if n < now]
            stored += [_revision_from(d) for d in await self._by_ids(REVISIONS, wanted, projection)]
            history = merge_history(stored, current_revision(current))
            page = [r for r in history if r.revision <= top][:limit]
            if len(page) >= limit or not numbers or numbers[-1] <= 1:
                return page
            numbers = revision_numbers(numbers[-1] - 1, limit - len(page))

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
