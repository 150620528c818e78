"""MongoDB persistence of posts, answers, comments and their revisions.

Collections of the post service's own database:

- ``posts``      one document per item, holding its current revision in full, its
  counters, idea voters and reactions, and its outbox entries;
- ``answers``    one document per answer (score, up/down voters, current revision);
- ``comments``   one document per comment (thread id, reactions, current revision);
- ``revisions``  one document per revision, ``_id`` ``"<item id>:<number, 10 digits>"``
  -- the natural key, so storing a copy twice is a no-op (see below).

Each collection declares the ordinary indexes its queries need
(:func:`content_indexes`); every listing is a keyset page on a string key: feeds
``_id`` descending within spaces (ULIDs sort by creation), answers ``_id`` within a
question, comments ``(thread_id, _id)`` within a post or answer, revisions ``_id``
descending within an item (docs/adr/0006-feeds-fan-out.md, 0012-post-child-lists.md).

Every state change and its events are one single-document write (the kit's
outbox), so an event is published if and only if its change was stored. Counters
on a parent (a question's answer count, an item's comment count) are a second,
best-effort write: they may lag after a crash, the events never do.

Reads use the service's pooled handle; every write uses the kit's writer handle
(``ServiceContext.writer_db``), which is the same handle on MongoDB and a
single-connection client on FerretDB 1.x, whose updates are not isolated from each
other (docs/adr/0007, section 6): through one connection this process's writes
are applied one at a time, so the conditional filters below hold. After a write
that added events the repository hints the relay with the document, which
publishes it at once without a scan.

Revisions survive a crash without transactions: the item's document always holds
its current revision, so the history is "stored revisions + the current one"
(:func:`guildhall_post.domain.revisions.merge_history`). An edit first stores a copy
of the revision it replaces (an idempotent insert by natural key), then moves the
item from revision N to N+1 with a filter on N -- so of two concurrent edits from
the same base exactly one wins and the other is ABORTED, and nothing is ever lost
-- and finally stores the new revision's copy (which the next edit re-derives if a
crash skipped it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from guildhall_kit.bus import Event
from guildhall_kit.errors import Aborted
from guildhall_kit.logging import get_logger
from guildhall_kit.mongo import Document, IndexSpec
from guildhall_kit.outbox import Outbox
from guildhall_post.adapters.repository.cache import KEEP, PostCache
from guildhall_post.adapters.repository.documents import (
    PUBLIC,
    answer_document,
    answer_from,
    comment_document,
    comment_from,
    post_document,
    post_from,
    revision_document,
    revision_from,
    revision_id,
)
from guildhall_post.application.ports import Item, OwnMarks
from guildhall_post.domain.answers import Answer, Vote
from guildhall_post.domain.comments import Comment
from guildhall_post.domain.content import ItemState, ReactionCounts, ReactionKind
from guildhall_post.domain.ideas import IdeaStatus
from guildhall_post.domain.posts import Post, PostType
from guildhall_post.domain.revisions import Revision, merge_history

POSTS: Final = "posts"
ANSWERS: Final = "answers"
COMMENTS: Final = "comments"
REVISIONS: Final = "revisions"
OUTBOX_COLLECTIONS: Final = (POSTS, ANSWERS, COMMENTS)
ID_BATCH: Final = 500
"""Most ids in one ``{_id: {$in: ...}}`` read."""
WRITE_BATCH: Final = 1000
"""Most documents in one bulk insert."""
FEED_CHUNK: Final = 100
"""Most spaces in one feed query; a home feed over more runs one query per chunk and
merges them (each already sorted), so no single ``$in`` grows with a person's memberships."""


def content_indexes() -> list[IndexSpec]:
    """The indexes of the content collections, one per query shape (equality fields, then
    the keyset's sort key)."""
    return [
        # Space and home feeds: newest first within the spaces, keyset on _id (a ULID). A
        # tag filter walks space_feed and filters (ADR 0006 section 3 says why no tag index).
        IndexSpec(POSTS, [("space_id", 1), ("state", 1), ("_id", -1)], name="space_feed"),
        IndexSpec(
            POSTS,
            [("space_id", 1), ("state", 1), ("type", 1), ("_id", -1)],
            name="space_feed_by_type",
        ),
        # Questions for me: open questions carrying one of the person's tags, newest first.
        IndexSpec(
            POSTS,
            [("tags", 1), ("type", 1), ("state", 1), ("accepted_answer_id", 1), ("_id", -1)],
            name="open_questions_by_tag",
        ),
        IndexSpec(ANSWERS, [("question_id", 1), ("_id", 1)], name="answers_by_question"),
        IndexSpec(
            COMMENTS,
            [("post_id", 1), ("answer_id", 1), ("thread_id", 1), ("_id", 1)],
            name="comments_by_thread",
        ),
        IndexSpec(REVISIONS, [("item_id", 1), ("_id", -1)], name="revisions_by_item"),
    ]


def _collection(item: Item) -> str:
    if isinstance(item, Post):
        return POSTS
    return ANSWERS if isinstance(item, Answer) else COMMENTS


def _item_id(item: Item) -> str:
    if isinstance(item, Post):
        return item.post_id
    return item.answer_id if isinstance(item, Answer) else item.comment_id


def _from(collection: str, doc: Mapping[str, Any]) -> Item:
    if collection == POSTS:
        return post_from(doc)
    return answer_from(doc) if collection == ANSWERS else comment_from(doc)


def _revised_fields(item: Item) -> Document:
    """The fields an edit sets, from the item at its new revision."""
    fields: Document = {
        "body": item.body,
        "mentions": list(item.mentions),
        "revision": item.revision,
        "edited_by": item.edited_by,
        "updated_at": item.updated_at,
    }
    if isinstance(item, Post):
        fields |= {
            "title": item.title,
            "tags": list(item.tags),
            "revision_summary": item.revision_summary,
            "restored_from": item.restored_from,
        }
    return fields


_log = get_logger(__name__)

BUILDS_AT_ONCE: Final = 8
"""Space timelines one process builds at a time (in the background, after a cold page)."""


class ContentRepository:
    """Reads and writes of posts, answers, comments and revisions; no access decisions.

    With a :class:`PostCache` (ADR 0021) the unfiltered feeds read ids from space
    timelines and posts from their copies, and every write of a post updates both after
    the database; without one, everything reads MongoDB.
    """

    def __init__(
        self,
        db: AsyncDatabase[Document],
        outbox: Outbox,
        *,
        writer: AsyncDatabase[Document] | None = None,
        hint: Callable[[str, Any], None] | None = None,
        cache: PostCache | None = None,
    ) -> None:
        """``db`` for reads, ``writer`` for writes (default ``db``); ``hint(collection, id)``
        tells the outbox relay a document has new events; ``cache`` the Redis cache."""
        self.db = db
        self._outbox = outbox
        self._w = writer if writer is not None else db
        self._hint = hint
        self._cache = cache
        self._builds: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ reads

    async def post(self, post_id: str) -> Post | None:
        if self._cache is not None:
            return (await self.posts([post_id])).get(post_id)
        doc = await self.db[POSTS].find_one({"_id": post_id}, projection=PUBLIC)
        return None if doc is None else post_from(doc)

    async def posts(self, post_ids: Iterable[str]) -> dict[str, Post]:
        """Posts by id (missing ones left out): their cached copies, then one ``$in`` read
        per :data:`ID_BATCH` ids for the rest (whose copies are then stored)."""
        return {k: post_from(d) for k, d in (await self._post_docs(post_ids)).items()}

    async def _post_docs(self, post_ids: Iterable[str]) -> dict[str, Document]:
        wanted = sorted(set(post_ids))
        out: dict[str, Document] = {}
        if self._cache is not None and wanted:
            out = await self._cache.copies(wanted) or {}
            wanted = [p for p in wanted if p not in out]
        if not wanted:
            return out
        chunks = [wanted[i : i + ID_BATCH] for i in range(0, len(wanted), ID_BATCH)]
        found = await asyncio.gather(
            *(self._find(POSTS, {"_id": {"$in": c}}, [], len(c)) for c in chunks)
        )
        read = {str(d["_id"]): d for docs in found for d in docs}
        if self._cache is not None and read:
            await self._cache.store(read.values())
        return out | read

    async def answer(self, answer_id: str) -> Answer | None:
        doc = await self.db[ANSWERS].find_one({"_id": answer_id}, projection=PUBLIC)
        return None if doc is None else answer_from(doc)

    async def comment(self, comment_id: str) -> Comment | None:
        doc = await self.db[COMMENTS].find_one({"_id": comment_id}, projection=PUBLIC)
        return None if doc is None else comment_from(doc)

    async def _find(
        self, collection: str, query: Mapping[str, Any], sort: Sequence[tuple[str, int]], limit: int
    ) -> list[Document]:
        cursor = self.db[collection].find(dict(query), projection=PUBLIC)
        if sort:
            cursor = cursor.sort(list(sort))
        return await cursor.limit(limit).to_list(length=limit)

    async def feed(
        self,
        space_ids: Sequence[str],
        *,
        before: str | None,
        limit: int,
        post_type: PostType | None = None,
        tag: str = "",
        pinned_only: bool = False,
    ) -> list[Post]:
        """Up to ``limit`` published posts of the spaces, newest first, below ``before``.

        One keyset query per :data:`FEED_CHUNK` spaces (``space_feed``, or
        ``space_feed_by_type`` with a type; a tag or pin is filtered on the way), run
        concurrently and merged by ``_id``: each chunk's newest ``limit`` are the only
        candidates it can contribute.
        """
        spaces = sorted(set(space_ids))
        if not spaces or limit <= 0:
            return []
        base: dict[str, Any] = {"state": ItemState.PUBLISHED.value}
        if before is not None:
            base["_id"] = {"$lt": before}
        if self._cache is not None and post_type is None and not tag and not pinned_only:
            cached = await self._cached_feed(self._cache, spaces, base, before=before, limit=limit)
            if cached is not None:
                return cached
        if post_type is not None:
            base["type"] = post_type.value
        if tag:
            base["tags"] = tag
        if pinned_only:
            base["pinned"] = True
        return await self._db_feed(spaces, base, limit)

    async def _db_feed(self, spaces: Sequence[str], base: Document, limit: int) -> list[Post]:
        """The keyset query of :meth:`feed` with the filter ``base``, per chunk of spaces."""
        if not spaces:
            return []
        chunks = [spaces[i : i + FEED_CHUNK] for i in range(0, len(spaces), FEED_CHUNK)]
        found = await asyncio.gather(
            *(
                self._find(
                    POSTS,
                    {"space_id": c[0] if len(c) == 1 else {"$in": c}, **base},
                    [("_id", -1)],
                    limit,
                )
                for c in chunks
            )
        )
        docs = [d for batch in found for d in batch]
        if len(found) > 1:
            docs = sorted(docs, key=lambda d: str(d["_id"]), reverse=True)[:limit]
        return [post_from(d) for d in docs]

    async def _cached_feed(
        self,
        cache: PostCache,
        spaces: Sequence[str],
        base: Document,
        *,
        before: str | None,
        limit: int,
    ) -> list[Post] | None:
        """The feed from the space timelines and the posts' copies; the spaces without a
        complete timeline from the database (their timelines then built in the
        background). None when the cache cannot answer or a listed post turns out not
        to be published any more (the caller then reads the database)."""
        read = await cache.timelines(spaces, before=before, limit=limit)
        if read is None:
            return None
        warm_ids = sorted((p for ids in read.ids.values() for p in ids), reverse=True)[:limit]
        cold_posts, docs = await asyncio.gather(
            self._db_feed(read.cold, base, limit), self._post_docs(warm_ids)
        )
        if read.cold:
            self._build_later(cache, read.cold)
        warm: list[Post] = []
        stale = []
        for post_id in warm_ids:
            doc = docs.get(post_id)
            if doc is None or doc.get("state") != ItemState.PUBLISHED.value:
                stale.append(post_id)
            else:
                warm.append(post_from(doc))
        if stale:
            for post_id in stale:
                space = next((s for s, ids in read.ids.items() if post_id in ids), "")
                await cache.unposted(space, [post_id])
            return None
        merged = sorted([*warm, *cold_posts], key=lambda p: p.post_id, reverse=True)
        return merged[:limit]

    def _build_later(self, cache: PostCache, spaces: Sequence[str]) -> None:
        """Build the timelines of some of ``spaces`` in the background (bounded)."""
        room = BUILDS_AT_ONCE - len(self._builds)
        chosen = cache.claim_builds(spaces, room) if room > 0 else []
        if not chosen:
            return
        task = asyncio.get_running_loop().create_task(self._build(cache, chosen))
        self._builds.add(task)
        task.add_done_callback(self._builds.discard)

    async def _build(self, cache: PostCache, spaces: Sequence[str]) -> None:
        try:
            for space in spaces:
                docs = await self._find(
                    POSTS,
                    {"space_id": space, "state": ItemState.PUBLISHED.value},
                    [("_id", -1)],
                    KEEP,
                )
                await cache.store(docs[:20])
                await cache.build_timelines({space: [str(d["_id"]) for d in docs]}, KEEP)
        except Exception as exc:  # noqa: BLE001 - a background fill; the feed read the database
            _log.warning("timeline build failed", error=type(exc).__name__)
        finally:
            cache.release_builds(spaces)

    async def refresh(self, post_ids: Iterable[str]) -> None:
        """Store the current copies of these posts and move them on their timelines, from
        the database (the ``post.cache`` consumer, after their events)."""
        if self._cache is None:
            return
        wanted = sorted(set(post_ids))
        docs = await self._find(POSTS, {"_id": {"$in": wanted}}, [], len(wanted))
        await self._cache.store(docs, timelines=True)

    async def open_questions(
        self,
        tags: Sequence[str],
        *,
        not_by: str,
        spaces: Sequence[str] | None,
        before: str | None,
        limit: int,
    ) -> list[Post]:
        """Up to ``limit`` published questions without an accepted answer carrying one of
        ``tags``, not by ``not_by``, newest first below ``before`` (index
        ``open_questions_by_tag``); only in ``spaces`` when given."""
        query: dict[str, Any] = {
            "tags": tags[0] if len(tags) == 1 else {"$in": list(tags)},
            "type": PostType.QUESTION.value,
            "state": ItemState.PUBLISHED.value,
            "accepted_answer_id": "",
            "author_id": {"$ne": not_by},
        }
        if spaces is not None:
            query["space_id"] = {"$in": list(spaces)}
        if before is not None:
            query["_id"] = {"$lt": before}
        return [post_from(d) for d in await self._find(POSTS, query, [("_id", -1)], limit)]

    async def answers(
        self, question_id: str, *, after: str | None, limit: int, visible_to: str | None
    ) -> list[Answer]:
        """Up to ``limit`` answers of the question by ``_id``, after ``after``; with
        ``visible_to`` only published ones and that person's own (deleted or not)."""
        query: dict[str, Any] = {"question_id": question_id}
        if after is not None:
            query["_id"] = {"$gt": after}
        if visible_to is not None:
            query["$or"] = [{"state": ItemState.PUBLISHED.value}, {"author_id": visible_to}]
        return [answer_from(d) for d in await self._find(ANSWERS, query, [("_id", 1)], limit)]

    async def comments(
        self, post_id: str, answer_id: str, *, after: tuple[str, str] | None, limit: int
    ) -> list[Comment]:
        """Up to ``limit`` comments on the post (or on its answer ``answer_id``) in listing
        order -- thread by thread, by id inside a thread -- after ``after`` (thread, id).

        The keyset on two keys is two queries on ``comments_by_thread``, no ``$or``: the
        rest of the position's thread, then the threads after it.
        """
        base: dict[str, Any] = {"post_id": post_id, "answer_id": answer_id}
        docs: list[Document] = []
        rest: dict[str, Any] = dict(base)
        if after is not None:
            thread, last = after
            docs = await self._find(
                COMMENTS, {**base, "thread_id": thread, "_id": {"$gt": last}}, [("_id", 1)], limit
            )
            rest["thread_id"] = {"$gt": thread}
        if len(docs) < limit:
            docs += await self._find(
                COMMENTS, rest, [("thread_id", 1), ("_id", 1)], limit - len(docs)
            )
        return [comment_from(d) for d in docs]

    async def revisions(
        self, current: Revision, *, before: int | None, limit: int, bodies: bool
    ) -> list[Revision]:
        """Up to ``limit`` revisions of the item whose current revision is ``current``,
        newest first, below ``before`` (exclusive): one keyset read of its stored copies
        by ``_id`` descending (index ``revisions_by_item``), ``current`` winning over its
        copy."""
        item, now = current.item_id, current.revision
        top = now if before is None else min(before - 1, now)
        if top < 1:
            return []
        cursor = (
            self.db[REVISIONS]
            .find(
                {"item_id": item, "_id": {"$lte": revision_id(item, top)}},
                projection=None if bodies else {"body": 0},
            )
            .sort("_id", -1)
            .limit(limit)
        )
        stored = [revision_from(d) for d in await cursor.to_list(length=limit)]
        history = merge_history(stored, current)
        return [r for r in history if r.revision <= top][:limit]

    async def revision(self, current: Revision, number: int) -> Revision | None:
        if number == current.revision:
            return current
        doc = await self.db[REVISIONS].find_one({"_id": revision_id(current.item_id, number)})
        return None if doc is None else revision_from(doc)

    async def own_marks(self, post_id: str, person_id: str) -> OwnMarks:
        doc = await self.db[POSTS].find_one(
            {"_id": post_id}, projection={"voters": 1, "reactors": 1}
        )
        doc = doc or {}
        reactors = doc.get("reactors") or {}
        return OwnMarks(
            voted=person_id in (doc.get("voters") or ()),
            reactions=frozenset(k for k in ReactionKind if person_id in reactors.get(k.value, ())),
        )

    async def answer_votes(self, answer_ids: Sequence[str], person_id: str) -> dict[str, Vote]:
        """The person's vote on each of the answers they voted on: one ``$in`` read per
        direction, whatever the page size."""
        if not answer_ids:
            return {}

        async def voted(vote: Vote) -> list[Document]:
            cursor = self.db[ANSWERS].find(
                {"_id": {"$in": list(answer_ids)}, vote.value: person_id}, projection={"_id": 1}
            )
            return await cursor.to_list(length=None)

        ups, downs = await asyncio.gather(voted(Vote.UP), voted(Vote.DOWN))
        out = {str(d["_id"]): Vote.DOWN for d in downs}
        out |= {str(d["_id"]): Vote.UP for d in ups}
        return out

    # ------------------------------------------------------------------ writes

    async def insert_post(self, post: Post, events: Sequence[Event]) -> None:
        """Insert a new post with its first revision's copy; ``events`` in the same write."""
        doc = post_document(post)
        await self._insert(POSTS, doc, events)
        if self._cache is not None:
            await asyncio.gather(
                self.keep_revision(post.current_revision()),
                self._cache.store([doc], timelines=True),
            )
        else:
            await self.keep_revision(post.current_revision())

    async def insert_answer(self, answer: Answer, events: Sequence[Event]) -> None:
        await self._insert(ANSWERS, answer_document(answer), events)
        await self.keep_revision(answer.current_revision())

    async def insert_comment(self, comment: Comment, events: Sequence[Event]) -> None:
        await self._insert(COMMENTS, comment_document(comment), events)
        await self.keep_revision(comment.current_revision())

    async def _insert(self, collection: str, doc: Document, events: Sequence[Event]) -> None:
        fields = self._outbox.fields(*events) if events else {}
        await self._w[collection].insert_one({**doc, **fields})
        if events:
            self._hinted(collection, doc["_id"])

    async def _update(
        self,
        collection: str,
        query: Mapping[str, Any],
        update: Mapping[str, Any],
        events: Sequence[Event] = (),
    ) -> Document | None:
        """Apply ``update`` (plus ``events``) to the document matching ``query`` (which names
        its ``_id``); the document after the change, or None when nothing matched."""
        full = self._outbox.update(update, *events) if events else dict(update)
        full.setdefault("$inc", {})["version"] = 1
        # FerretDB 1.x's findAndModify takes no projection: the hidden fields are dropped
        # when the document becomes a domain object.
        after = await self._w[collection].find_one_and_update(
            dict(query), full, return_document=ReturnDocument.AFTER
        )
        if after is not None and events:
            self._hinted(collection, after["_id"])
        if after is not None and collection == POSTS and self._cache is not None:
            await self._cache.store([after], timelines=True)
        return after

    def _hinted(self, collection: str, item_id: Any) -> None:
        if self._hint is not None:
            self._hint(collection, item_id)

    async def keep_revision(self, rev: Revision) -> None:
        """Store ``rev``'s copy unless it is stored already (idempotent: natural key)."""
        try:
            await self._w[REVISIONS].insert_one(revision_document(rev))
        except DuplicateKeyError:
            return

    async def revise(self, before: Item, after: Item, events: Sequence[Event]) -> None:
        """Move the item from its revision in ``before`` to the next one, ``after``.

        Raises:
            Aborted: the item changed since ``before`` was read (another edit won, or it
                was deleted); nothing was written.
        """
        collection = _collection(before)
        await self.keep_revision(before.current_revision())
        done = await self._update(
            collection,
            {
                "_id": _item_id(before),
                "revision": before.revision,
                "state": ItemState.PUBLISHED.value,
            },
            {"$set": _revised_fields(after)},
            events,
        )
        if done is None:
            raise Aborted(
                f"the item changed since revision {before.revision} was read; re-read it and retry"
            )
        await self.keep_revision(after.current_revision())

    async def delete(
        self, item: Item, *, actor_id: str, at: datetime, events: Sequence[Event]
    ) -> Item | None:
        """Mark a published item deleted; the item afterwards, or None if it was not
        published any more."""
        collection = _collection(item)
        fields: Document = {
            "state": ItemState.DELETED.value,
            "deleted_by": actor_id,
            "deleted_at": at,
        }
        if isinstance(item, Post):
            fields["pinned"] = False
        after = await self._update(
            collection,
            {"_id": _item_id(item), "state": ItemState.PUBLISHED.value},
            {"$set": fields},
            events,
        )
        return None if after is None else _from(collection, after)

    async def pin(self, post_id: str, pinned: bool) -> Post | None:
        after = await self._update(POSTS, {"_id": post_id}, {"$set": {"pinned": pinned}})
        return None if after is None else post_from(after)

    async def change_idea_status(
        self, idea_id: str, current: IdeaStatus, target: IdeaStatus, at: datetime, event: Event
    ) -> Post | None:
        """Move the idea from ``current`` to ``target``; None if its status was not
        ``current`` any more."""
        after = await self._update(
            POSTS,
            {"_id": idea_id, "idea_status": current.value},
            {"$set": {"idea_status": target.value, "updated_at": at}},
            [event],
        )
        return None if after is None else post_from(after)

    async def vote_idea(
        self, idea_id: str, person_id: str, *, withdraw: bool, count: int, event: Event
    ) -> Post | None:
        """Add (or withdraw) the person's vote if the idea still has ``count`` votes and
        the person's vote is as expected; None otherwise (re-read and retry)."""
        update: dict[str, Any] = {"$inc": {"vote_count": -1 if withdraw else 1}}
        update["$pull" if withdraw else "$addToSet"] = {"voters": person_id}
        after = await self._update(
            POSTS,
            {
                "_id": idea_id,
                "vote_count": count,
                "voters": person_id if withdraw else {"$ne": person_id},
            },
            update,
            [event],
        )
        return None if after is None else post_from(after)

    async def accept_answer(
        self, question_id: str, *, previous: str, answer: Answer, at: datetime, event: Event
    ) -> Post | None:
        """Make ``answer`` the accepted one if ``previous`` still is; None otherwise."""
        after = await self._update(
            POSTS,
            {"_id": question_id, "accepted_answer_id": previous},
            {
                "$set": {
                    "accepted_answer_id": answer.answer_id,
                    "accepted_answer_author_id": answer.author_id,
                    "accepted_at": at,
                }
            },
            [event],
        )
        return None if after is None else post_from(after)

    async def clear_accepted(self, question_id: str, answer_id: str) -> None:
        await self._update(
            POSTS,
            {"_id": question_id, "accepted_answer_id": answer_id},
            {"$set": {"accepted_answer_id": "", "accepted_answer_author_id": ""}},
        )

    async def vote_answer(
        self, answer_id: str, person_id: str, *, current: Vote | None, wanted: Vote | None
    ) -> bool:
        """Move the person's vote from ``current`` to ``wanted`` if it still is ``current``;
        False when it changed meanwhile (re-read and retry)."""
        value = {Vote.UP: 1, Vote.DOWN: -1, None: 0}
        query: dict[str, Any] = {
            "_id": answer_id,
            "up": person_id if current is Vote.UP else {"$ne": person_id},
            "down": person_id if current is Vote.DOWN else {"$ne": person_id},
        }
        update: dict[str, Any] = {"$inc": {"score": value[wanted] - value[current]}}
        if current is not None:
            update["$pull"] = {current.value: person_id}
        if wanted is not None:
            update["$addToSet"] = {wanted.value: person_id}
        return await self._update(ANSWERS, query, update) is not None

    async def react(
        self,
        item: Post | Comment,
        person_id: str,
        kind: ReactionKind,
        *,
        add: bool,
        events: Sequence[Event],
    ) -> ReactionCounts | None:
        """Add (or remove) the person's reaction; the counts afterwards, or None when it was
        already so (nothing written)."""
        collection = _collection(item)
        field = f"reactors.{kind.value}"
        after = await self._update(
            collection,
            {"_id": _item_id(item), field: {"$ne": person_id} if add else person_id},
            {
                "$addToSet" if add else "$pull": {field: person_id},
                "$inc": {f"reaction_counts.{kind.value}": 1 if add else -1},
            },
            events,
        )
        if after is None:
            return None
        return (post_from(after) if collection == POSTS else comment_from(after)).reaction_counts

    async def count_children(
        self, post_id: str, *, answer_id: str = "", answers: int = 0, comments: int = 0
    ) -> None:
        """Best-effort counter change on the parents (see the module docstring)."""
        counters = {k: v for k, v in (("answer_count", answers), ("comment_count", comments)) if v}
        if counters:
            await self._update(POSTS, {"_id": post_id}, {"$inc": counters})
        if answer_id and comments:
            await self._w[ANSWERS].update_one(
                {"_id": answer_id}, {"$inc": {"comment_count": comments}}
            )

    # ------------------------------------------------------------------ seeding

    async def seed(self, items: Sequence[Item]) -> None:
        """Bulk insert of new items without events, with their revisions' copies -- what the
        creating RPCs leave once the relay has published and cleared their events. Parents'
        counters are left alone.

        For seeding benchmarks and tests: no event is published, so the search index and
        the other services never learn of these items.
        """
        by_collection: dict[str, list[Document]] = {}
        for item in items:
            doc = (
                post_document(item)
                if isinstance(item, Post)
                else answer_document(item)
                if isinstance(item, Answer)
                else comment_document(item)
            )
            by_collection.setdefault(_collection(item), []).append(doc)
        for collection, docs in by_collection.items():
            for start in range(0, len(docs), WRITE_BATCH):
                await self._w[collection].insert_many(docs[start : start + WRITE_BATCH])
        revisions = [revision_document(i.current_revision()) for i in items]
        for start in range(0, len(revisions), WRITE_BATCH):
            await self._w[REVISIONS].insert_many(revisions[start : start + WRITE_BATCH])
