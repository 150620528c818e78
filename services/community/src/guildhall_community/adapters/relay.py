"""The community service's outbox relay: publish what was just written, scan only rarely.

The kit's :class:`~guildhall_kit.outbox.OutboxRelay` finds pending events by
scanning for documents whose ``_outbox_since`` is set. On MongoDB that is an
index range; on FerretDB 1.x, which pushes down nothing but ``_id``
equality, it is a scan of every document of every outbox collection — about
2 seconds per 25,000 memberships on the local stack, minutes at enterprise
scale — and the kit's relay runs one after every write and every poll.

This relay is told which documents a write gave events (:meth:`HintedRelay.hint`)
and publishes exactly those, each by one ``_id`` read, at once. A scan for
pending documents (ids only) still runs at start-up — to publish what a
previous process wrote but did not publish — and then every
``scan_seconds``, for anything a hint missed (another replica that died); what
it finds is published like a hint. A document whose publish fails (Kafka not
up yet, a broker away) is tried again every ``retry_seconds`` until it goes
out. Guarantees are the kit's: a document's entries go out in array order,
and only after every entry before them; published entries are removed by
exact value (``$pullAll``); a crash between publish and removal publishes
again (consumers drop the copy by ``ce_id``).

Every write (the removal included) goes through the same database handle as
the service's state writes, so on FerretDB they never interleave (see
``guildhall_community.app.writer_database``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from guildhall_kit.bus.errors import BusError, MalformedEvent, NotStarted, PublishFailed
from guildhall_kit.bus.producer import Producer
from guildhall_kit.bus.registry import RegistryError
from guildhall_kit.logging import get_logger
from guildhall_kit.mongo import Document
from guildhall_kit.outbox import OUTBOX_FIELD, OUTBOX_SINCE_FIELD, parse_entry

_log = get_logger(__name__)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Hint = tuple[str, str]
"""(collection, document id) of a document that was just written with events."""


class HintedRelay:
    """Publishes the outboxes of hinted documents at once; scans every ``scan_seconds``."""

    def __init__(
        self,
        db: AsyncDatabase[Document],
        collections: Sequence[str],
        producer: Producer,
        *,
        scan_seconds: float,
        retry_seconds: float = 0.5,
    ) -> None:
        if scan_seconds <= 0 or retry_seconds <= 0:
            raise ValueError("scan_seconds and retry_seconds must be positive")
        self._db = db
        self._collections = list(collections)
        self._producer = producer
        self._scan_seconds = scan_seconds
        self._retry_seconds = retry_seconds
        self._hints: set[Hint] = set()
        self._wakeup = asyncio.Event()

    def hint(self, hints: Sequence[Hint]) -> None:
        """These documents have new outbox entries: publish them now (non-blocking)."""
        if hints:
            self._hints.update(hints)
            self._wakeup.set()

    async def run(self) -> None:
        """Scan once, then publish hinted documents as they come, scanning every ``scan_seconds``.

        Runs until cancelled. Never raises for an unreachable Kafka or
        database: it logs and tries again later.
        """
        await self._scan()
        self._wakeup.set()
        loop = asyncio.get_running_loop()
        next_scan = loop.time() + self._scan_seconds
        while True:
            timeout = max(0.0, next_scan - loop.time())
            try:
                async with asyncio.timeout(timeout):
                    await self._wakeup.wait()
            except TimeoutError:
                pass
            self._wakeup.clear()
            if loop.time() >= next_scan:
                await self._scan()
                next_scan = loop.time() + self._scan_seconds
            if not await self.publish_hinted():
                # Some publish failed (Kafka not up yet, a broker away): try again soon.
                await asyncio.sleep(self._retry_seconds)
                self._wakeup.set()

    async def publish_hinted(self) -> bool:
        """Publish every hinted document's outbox; False if some must be tried again."""
        hints, self._hints = self._hints, set()
        ok = True
        for collection, doc_id in sorted(hints):
            try:
                done = await self._publish_document(collection, doc_id)
            except PyMongoError as exc:
                _log.warning("outbox read failed; will retry", document=doc_id, error=repr(exc))
                done = False
            if not done:
                self._hints.add((collection, doc_id))
                ok = False
        return ok

    async def _scan(self) -> None:
        """Queue every document with pending events, oldest first (ids only)."""
        found = 0
        for name in self._collections:
            cursor = (
                self._db[name]
                .find({OUTBOX_SINCE_FIELD: {"$gte": _EPOCH}}, projection={"_id": 1})
                .sort(OUTBOX_SINCE_FIELD, 1)
            )
            try:
                async for doc in cursor:
                    self._hints.add((name, doc["_id"]))
                    found += 1
            except PyMongoError as exc:
                _log.warning("outbox scan failed; next scan later", error=repr(exc))
        if found:
            _log.info("outbox scan found documents with pending events", count=found)

    async def _publish_document(self, collection: str, doc_id: Any) -> bool:
        """Publish one document's pending entries in order and remove them; True when done."""
        coll = self._db[collection]
        doc = await coll.find_one({"_id": doc_id})
        entries = (doc or {}).get(OUTBOX_FIELD) or []
        published: list[Document] = []
        ok = True
        for raw in entries:
            try:
                pending = parse_entry(raw)
                await self._producer.publish(pending.topic, pending.event)
            except (MalformedEvent, RegistryError) as exc:
                # Left pending, and everything after it: fixing it needs a person.
                _log.error("outbox entry cannot be published", document=doc_id, error=repr(exc))
                return True
            except (PublishFailed, NotStarted, BusError) as exc:
                _log.warning("outbox publish failed; will retry", document=doc_id, error=repr(exc))
                ok = False
                break
            published.append(raw)
        if published:
            await coll.update_one({"_id": doc_id}, {"$pullAll": {OUTBOX_FIELD: published}})
            await coll.update_one(
                {"_id": doc_id, OUTBOX_FIELD: {"$size": 0}},
                {"$unset": {OUTBOX_FIELD: "", OUTBOX_SINCE_FIELD: ""}},
            )
        return ok
