"""Ordered lists of strings in bounded buckets, read and written by ``_id`` only.

Collections: ``lists`` (one head per list, :mod:`guildhall_profile.buckets`)
and ``list_buckets`` (the buckets: ``entries``, an unordered array of
strings, and ``live``). Every read and write is by ``_id``, an index search
on MongoDB and on the local FerretDB (docs/adr/0010); a page of a list is
one bucket read (plus the head, the first time a process reads that list).

What a list promises: every entry added, and not removed since, is found by
a read — entries are only ever *moved* between buckets by a split, copied
before they leave. Callers keep the list a superset of what it stands for and
check what they read (see docs/adr/0011).

Writes go through ``writer`` (one connection on FerretDB, whose updates are
not isolated from each other; see :mod:`guildhall_profile.repository`) and
each is one single-document update:

- *add*: ``$addToSet`` into the bucket the head names for the entry, only
  while that bucket is ``live``;
- *remove*: ``$pullAll`` of the exact entry (FerretDB 1.x ignores a
  condition in ``$pull``), likewise;
- *split*, when an add takes a bucket past :data:`~guildhall_profile.buckets.BUCKET_MAX`:
  (1) create two empty buckets, named by no head yet; (2) mark the bucket
  not live and record the split point and the two ids in it; from then on
  nobody adds to or removes from it as live; (3) copy its entries into the
  two new buckets (never re-creating one that is gone); (4) compare-and-set
  the head to name them instead; (5) delete it. Whoever meets a bucket that is
  not live — an add, a remove or a read — waits for the split to be published
  (milliseconds), and finishes it itself if it was marked long ago (every step
  is idempotent), so a crashed split never blocks a list.

Reads never use a bucket that is not live, and a live bucket covers the
same range as in any head that names it, so heads are cached per process and
re-read only when a bucket named by the cached head is gone or splitting.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from guildhall_kit.logging import get_logger
from guildhall_kit.mongo import Document
from guildhall_profile.buckets import (
    BUCKET_MAX,
    Head,
    after,
    bucket_document,
    build,
    group_by_bucket,
    head_document,
    head_from,
    in_range,
    partition,
    split_point,
)

HEADS: Final = "lists"
BUCKETS: Final = "list_buckets"

ATTEMPTS: Final = 20
"""How many times one operation re-reads a head that moved on before it gives up."""

SPLIT_GRACE_SECONDS: Final = 5.0
"""How long a split may stay marked before others take it for abandoned and finish it
(a split takes a few milliseconds; clocks of the service's replicas may differ a little)."""

_HEAD_CACHE: Final = 8192
_BULK: Final = 1000
"""Documents per bulk insert or ``$in`` read of a back-fill."""
_DUPLICATE_KEY: Final = 11000

_log = get_logger(__name__)


class ListBusy(Exception):  # noqa: N818 - a condition callers may retry, like WriteConflict
    """A list kept changing under one operation (splits racing it); try again."""


def new_bucket_id() -> str:
    return secrets.token_hex(10)


class ListStore:
    """Adds, removes and ordered reads of bucketed lists. PyMongo errors propagate."""

    def __init__(
        self,
        db: AsyncDatabase[Document],
        *,
        writer: AsyncDatabase[Document] | None = None,
        bucket_max: int | None = None,
    ) -> None:
        """``bucket_max``: most entries per bucket (default :data:`BUCKET_MAX`)."""
        w = writer if writer is not None else db
        self._heads = db[HEADS]
        self._buckets = db[BUCKETS]
        self._w_heads = w[HEADS]
        self._w_buckets = w[BUCKETS]
        self._max = bucket_max or BUCKET_MAX
        self._cache: OrderedDict[str, Head] = OrderedDict()

    # --- heads -----------------------------------------------------------------------------------

    async def head(self, list_id: str, *, fresh: bool = False) -> Head | None:
        """The list's head: cached unless ``fresh``; None while the list has none (not cached)."""
        if not fresh and (cached := self._cache.get(list_id)) is not None:
            self._cache.move_to_end(list_id)
            return cached
        doc = await self._heads.find_one({"_id": list_id})
        if doc is None:
            self._cache.pop(list_id, None)
            return None
        head = head_from(doc)
        self._remember(head)
        return head

    def _remember(self, head: Head) -> None:
        known = self._cache.get(head.list_id)
        if known is None or known.version <= head.version:
            self._cache[head.list_id] = head
            self._cache.move_to_end(head.list_id)
        while len(self._cache) > _HEAD_CACHE:
            self._cache.popitem(last=False)

    async def _create(self, list_id: str, entries: Sequence[str]) -> bool:
        """Create the list holding ``entries``; False if it exists already."""
        head_doc, bucket_docs = build(list_id, entries, new_bucket_id, fill=max(1, self._max // 2))
        await self._w_buckets.insert_many(bucket_docs)
        try:
            await self._w_heads.insert_one(head_doc)
        except DuplicateKeyError:
            await self._w_buckets.delete_many({"_id": {"$in": [d["_id"] for d in bucket_docs]}})
            return False
        self._remember(head_from(head_doc))
        return True

    # --- writes ----------------------------------------------------------------------------------

    async def add(self, list_id: str, entry: str) -> None:
        """Put ``entry`` in the list (no change if it is there). Returns once it is stored in a
        live bucket, so every read that starts afterwards finds it until it is removed.

        Raises:
            ListBusy: the list kept changing for :data:`ATTEMPTS` rounds.
        """
        await self.add_many(list_id, [entry])

    async def add_many(self, list_id: str, entries: Iterable[str]) -> None:
        """:meth:`add` of several entries: one update per bucket they fall in."""
        todo = sorted(set(entries))
        for attempt in range(ATTEMPTS):
            if not todo:
                return
            head = await self.head(list_id, fresh=attempt > 0)
            if head is None:
                if await self._create(list_id, todo):
                    return
                continue
            left: list[str] = []
            for bucket_id, group in group_by_bucket(head, todo).items():
                doc = await self._w_buckets.find_one_and_update(
                    {"_id": bucket_id, "live": True},
                    {"$addToSet": {"entries": {"$each": group}}},
                    # No projection: FerretDB 1.x refuses one in findAndModify.
                    return_document=ReturnDocument.AFTER,
                )
                if doc is None:
                    left += group
                    await self._settle(list_id, bucket_id)
                elif len(doc.get("entries") or ()) > self._max:
                    await self._split_quietly(list_id, bucket_id)
            todo = left
        if todo:
            raise ListBusy(list_id)

    async def remove(self, list_id: str, entry: str) -> None:
        """Take ``entry`` out of the list (no change if it is not there).

        A split racing the removal may leave a copy behind; a list may hold
        stale entries, which its readers check and drop.

        Raises:
            ListBusy: the list kept changing for :data:`ATTEMPTS` rounds.
        """
        for attempt in range(ATTEMPTS):
            head = await self.head(list_id, fresh=attempt > 0)
            if head is None:
                return
            bucket_id = head.bucket_for(entry).bucket_id
            pulled = await self._w_buckets.update_one(
                {"_id": bucket_id, "live": True}, {"$pullAll": {"entries": [entry]}}
            )
            if pulled.matched_count == 1:
                return
            await self._settle(list_id, bucket_id, pull=entry)
        raise ListBusy(list_id)

    async def _settle(self, list_id: str, bucket_id: str, *, pull: str | None = None) -> None:
        """A bucket the head named was not live (or is gone): wait until its split is
        published, taking ``pull`` out of it first so the copies leave it behind.

        The splitter finishes its own split, so only one process copies a bucket
        and a removal that waited for the new head cannot be undone by a late
        copy. A split marked longer than :data:`SPLIT_GRACE_SECONDS` ago is taken
        for abandoned (its splitter died) and finished here.
        """
        if pull is not None:
            await self._w_buckets.update_one({"_id": bucket_id}, {"$pullAll": {"entries": [pull]}})
        while True:
            doc = await self._w_buckets.find_one(
                {"_id": bucket_id}, projection={"live": 1, "marked_at": 1}
            )
            if doc is None or doc.get("live"):
                return
            marked = doc.get("marked_at")
            age = (datetime.now(UTC) - marked).total_seconds() if marked is not None else None
            if age is None or age > SPLIT_GRACE_SECONDS:
                await self.finish_split(list_id, bucket_id)
                return
            await asyncio.sleep(0.005)

    async def _split_quietly(self, list_id: str, bucket_id: str) -> None:
        # The add that got here is stored; a failed split is finished by the next one to meet it.
        try:
            await self.split(list_id, bucket_id)
        except Exception as exc:  # noqa: BLE001 - the add stands; see above
            _log.warning("bucket split failed", list_id=list_id, bucket=bucket_id, error=repr(exc))

    async def split(self, list_id: str, bucket_id: str) -> None:
        """Split bucket ``bucket_id`` if it holds more than the maximum, and its halves likewise."""
        pending = [bucket_id]
        while pending:
            current = pending.pop()
            doc = await self._w_buckets.find_one({"_id": current})
            if doc is None or not doc.get("live"):
                continue
            entries = [str(e) for e in doc.get("entries") or ()]
            if len(entries) <= self._max:
                continue
            at = split_point(entries)
            into = [new_bucket_id(), new_bucket_id()]
            # The halves exist (empty, named by no head) before the mark names them, and
            # are never created again: a bucket once deleted stays gone, which is what
            # lets a head cached elsewhere trust any bucket it finds live.
            await self._w_buckets.insert_many([bucket_document(list_id, i, []) for i in into])
            marked = await self._w_buckets.update_one(
                {"_id": current, "live": True},
                {
                    "$set": {
                        "live": False,
                        "split_at": at,
                        "into": into,
                        "marked_at": datetime.now(UTC),
                    }
                },
            )
            if marked.matched_count == 1:
                await self.finish_split(list_id, current)
                pending += into
            else:
                await self._w_buckets.delete_many({"_id": {"$in": into}})

    async def finish_split(self, list_id: str, bucket_id: str) -> None:
        """Complete the split of a bucket marked not live (idempotent; anyone may run it)."""
        for _ in range(ATTEMPTS):
            doc = await self._w_buckets.find_one({"_id": bucket_id})
            if doc is None or doc.get("live") or "split_at" not in doc:
                return
            head = await self.head(list_id, fresh=True)
            if head is None or not head.holds(bucket_id):
                # Published by someone else: only the old bucket is left to delete.
                await self._w_buckets.delete_one({"_id": bucket_id, "live": False})
                return
            at = str(doc["split_at"])
            left_id, right_id = (str(x) for x in doc["into"])
            lower, upper = partition((str(e) for e in doc.get("entries") or ()), at)
            for target, part in ((left_id, lower), (right_id, upper)):
                # No upsert: a half that is gone was published, split and copied on already.
                if part:
                    await self._w_buckets.update_one(
                        {"_id": target}, {"$addToSet": {"entries": {"$each": part}}}
                    )
            new = head.split(bucket_id, at, left_id, right_id)
            assert new is not None  # the head holds the bucket
            fields = head_document(new)
            del fields["_id"]
            moved = await self._w_heads.update_one(
                {"_id": list_id, "version": head.version}, {"$set": fields}
            )
            if moved.matched_count == 1:
                self._remember(new)
                await self._w_buckets.delete_one({"_id": bucket_id, "live": False})
                return
            await asyncio.sleep(0)  # another split of this list was published; re-read
        raise ListBusy(list_id)

    # --- reads -----------------------------------------------------------------------------------

    async def read(
        self, list_id: str, position: str | None, *, inclusive: bool = False, limit: int
    ) -> list[str]:
        """Up to ``limit`` entries after ``position`` (at or after it when ``inclusive``; from
        the start for None), in ascending order: one bucket read per bucket crossed.

        Raises:
            ListBusy: the list kept changing for :data:`ATTEMPTS` rounds.
        """
        found: list[str] = []
        head = await self.head(list_id)
        misses = 0
        while head is not None and len(found) < limit:
            index = head.index_of(position or "")
            bucket, hi = head.buckets[index], head.hi(index)
            doc = await self._buckets.find_one({"_id": bucket.bucket_id})
            if doc is None or not doc.get("live"):
                misses += 1
                if misses > ATTEMPTS:
                    raise ListBusy(list_id)
                await self._settle(list_id, bucket.bucket_id)
                head = await self.head(list_id, fresh=True)
                continue
            entries = in_range((str(e) for e in doc.get("entries") or ()), bucket.lo, hi)
            found += after(entries, position, inclusive=inclusive)[: limit - len(found)]
            if hi is None:
                break
            position, inclusive = hi, True
        return found

    # --- bulk ------------------------------------------------------------------------------------

    async def merge(self, list_id: str, entries: Iterable[str]) -> None:
        """Add many entries at once (a back-fill): builds the list if it has no head yet,
        else one update per bucket, then splits what grew past the maximum.

        Raises:
            ListBusy: the list kept changing for :data:`ATTEMPTS` rounds.
        """
        todo = sorted(set(entries))
        if not todo:
            return
        if await self.head(list_id, fresh=True) is None and await self._create(list_id, todo):
            return
        await self.add_many(list_id, todo)
        head = await self.head(list_id, fresh=True)
        for bucket in head.buckets if head is not None else ():
            await self.split(list_id, bucket.bucket_id)

    async def merge_all(self, lists: Mapping[str, Iterable[str]]) -> None:
        """:meth:`merge` of many lists. Lists that have no head yet are built in bulk
        (batched inserts of their buckets, then of their heads); a head someone else
        inserted meanwhile wins, and that list is merged entry by bucket instead.

        Raises:
            ListBusy: a list kept changing for :data:`ATTEMPTS` rounds.
        """
        wanted = {lid: sorted(set(entries)) for lid, entries in lists.items()}
        wanted = {lid: entries for lid, entries in wanted.items() if entries}
        ids = sorted(wanted)
        existing: set[str] = set()
        for start in range(0, len(ids), _BULK):
            chunk = ids[start : start + _BULK]
            existing |= {str(d["_id"]) async for d in self._heads.find({"_id": {"$in": chunk}})}
        new = {lid: wanted[lid] for lid in ids if lid not in existing}
        heads, buckets = built_documents(new, fill=max(1, self._max // 2))
        for start in range(0, len(buckets), _BULK):
            await self._w_buckets.insert_many(buckets[start : start + _BULK], ordered=False)
        lost: set[str] = set()
        for start in range(0, len(heads), _BULK):
            batch = heads[start : start + _BULK]
            try:
                await self._w_heads.insert_many(batch, ordered=False)
            except BulkWriteError as err:
                for failure in err.details.get("writeErrors", ()):
                    if failure.get("code") != _DUPLICATE_KEY:
                        raise
                    lost.add(str(batch[int(failure["index"])]["_id"]))
        if lost:  # their buckets are named by no head: drop them, merge into the winner's
            orphans = [b["_id"] for b in buckets if b["list"] in lost]
            for start in range(0, len(orphans), _BULK):
                chunk = orphans[start : start + _BULK]
                await self._w_buckets.delete_many({"_id": {"$in": chunk}})
        for list_id in sorted(existing | lost):
            await self.merge(list_id, wanted[list_id])


def built_documents(
    lists: Mapping[str, Sequence[str]], *, fill: int | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The head and bucket documents of whole lists (list id -> entries), as :meth:`ListStore.merge`
    would build them on an empty database: for bulk loads (a benchmark seed, a restore)."""
    heads: list[dict[str, Any]] = []
    buckets: list[dict[str, Any]] = []
    for list_id, entries in lists.items():
        if not entries:
            continue
        head, docs = build(list_id, entries, new_bucket_id, fill=fill or BUCKET_MAX // 2)
        heads.append(head)
        buckets += docs
    return heads, buckets


__all__ = [
    "BUCKETS",
    "HEADS",
    "ListBusy",
    "ListStore",
    "bucket_document",
    "built_documents",
    "new_bucket_id",
]
