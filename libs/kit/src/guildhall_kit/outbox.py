"""The transactional outbox: state and its events in one write, published by a relay.

A service never publishes directly from a request. It writes the state change
and the events describing it in ONE single-document write, which MongoDB and
FerretDB both apply atomically, so either both happen or neither does::

    event = outbox.event(PostCreated(...), key=post_id, subject=f"post/{post_id}")
    await posts.insert_one({"_id": post_id, ..., **outbox.fields(event)})
    await posts.update_one({"_id": post_id}, outbox.update({"$set": {...}}, event2))
    relay.wake()

The pending events sit in the document itself::

    _outbox:        [{id, topic, type, source, subject, key, time, data,
                      traceparent, tracestate}, ...]   in write order
    _outbox_since:  time of the oldest pending event; absent when none is pending

:class:`OutboxRelay` finds documents whose ``_outbox_since`` is set (indexed),
publishes their entries in order with the idempotent producer, and then removes
exactly the entries it published (``$pullAll`` of the very subdocuments it read;
FerretDB 1.x's ``$pull`` ignores query conditions such as ``{id: {$in: ...}}``
and silently removes nothing, while exact-value ``$pullAll`` works on both). A crash after the
publish and before the removal publishes them again after the restart: delivery
is at-least-once, and consumers drop the duplicates by ``ce_id``. Events are
never lost once the write returned.

Ordering: the entries of one document are published in array order, and a
document's entry is only published after every entry before it. One document is
one aggregate, and events are keyed by its id, so per-aggregate order holds on
the topic. Events written through two different documents but keyed alike are
not ordered with each other.

Several relays over the same collections (several replicas of a service) do
not corrupt anything: each publishes what it read and pulls only those ids.
They may publish an entry twice, which consumers drop as any redelivery;
the first copy of every event still appears in per-document order.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import pymongo
from bson import Binary
from google.protobuf.message import Message
from opentelemetry import metrics
from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from guildhall_kit.bus.errors import BusError, MalformedEvent, NotStarted, PublishFailed
from guildhall_kit.bus.event import Event
from guildhall_kit.bus.producer import Producer
from guildhall_kit.bus.registry import Registry, RegistryError
from guildhall_kit.logging import get_logger
from guildhall_kit.mongo import Document, IndexSpec

_log = get_logger(__name__)

OUTBOX_FIELD: Final = "_outbox"
"""Array of pending events, in the order they were written."""
OUTBOX_SINCE_FIELD: Final = "_outbox_since"
"""Time of the oldest pending event: the order the relay publishes in."""
OUTBOX_PENDING_FIELD: Final = "_outbox_pending"
"""Present, with the value :data:`PENDING`, exactly while the document has pending events:
the relay's (indexed) work queue is an equality on it. An equality on a string is
what every MongoDB-protocol server answers from an index, the local FerretDB
included (ADR 0018), where a range on the date would read the whole collection."""
PENDING: Final = "1"
OUTBOX_INDEX: Final = "outbox_queue"

# Every real time sorts after this; documents without the field never match it.
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
MIGRATIONS: Final = "_outbox_migrations"
"""One document per outbox collection whose documents written before the pending marker
were given it (``_id``: ``pending-marker:<collection>``): that scan runs once per
database, not at every start."""
LEGACY_TIMEOUT_SECONDS: Final = 600.0
"""How long that scan may take (it reads whole collections on the local FerretDB)."""
LEGACY_RETRY_SECONDS: Final = 60.0
"""How long the relay waits before trying that scan again after it failed."""

# The relay's work queue: documents with pending events.
_QUEUE: Final = {OUTBOX_PENDING_FIELD: PENDING}


@dataclass(frozen=True, slots=True)
class PendingEvent:
    """An event waiting in a document's outbox, with the topic it goes to."""

    topic: str
    event: Event


def entry(topic: str, event: Event) -> Document:
    """The outbox subdocument for ``event`` on logical ``topic``. Pure."""
    return {
        "id": event.id,
        "topic": topic,
        "type": event.type,
        "source": event.source,
        "subject": event.subject,
        "key": event.key,
        "time": event.time,
        "data": Binary(event.data),
        "content_type": event.content_type,
        "traceparent": event.traceparent,
        "tracestate": event.tracestate,
    }


def parse_entry(raw: Mapping[str, Any]) -> PendingEvent:
    """The pending event an outbox subdocument holds. Pure.

    Raises:
        MalformedEvent: a field is missing or invalid.
    """
    try:
        time = raw["time"]
        if isinstance(time, datetime) and time.tzinfo is None:
            time = time.replace(tzinfo=UTC)  # clients without tz_aware return naive UTC
        return PendingEvent(
            topic=str(raw["topic"]),
            event=Event(
                id=str(raw["id"]),
                type=str(raw["type"]),
                source=str(raw["source"]),
                subject=raw.get("subject"),
                key=str(raw["key"]),
                time=time,
                data=bytes(raw["data"]),
                content_type=str(raw.get("content_type") or "application/protobuf"),
                traceparent=raw.get("traceparent"),
                tracestate=raw.get("tracestate"),
            ),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedEvent(f"invalid outbox entry: {exc!r}") from None


def outbox_indexes(collection: str) -> list[IndexSpec]:
    """The index the relay's scan needs on ``collection``; declare it with the service's indexes.

    (A database written before the pending marker also holds the index
    ``outbox_pending`` on the date alone; nothing reads it any more and it can
    be dropped.)
    """
    return [
        IndexSpec(
            collection=collection,
            keys=[(OUTBOX_PENDING_FIELD, 1), (OUTBOX_SINCE_FIELD, 1)],
            name=OUTBOX_INDEX,
        )
    ]


class Outbox:
    """Builds outbox writes for one topic, checked against the registry before any write."""

    def __init__(self, registry: Registry, *, topic: str, source: str) -> None:
        """Raises :class:`~guildhall_kit.bus.registry.UnknownTopic` for an unregistered topic."""
        registry.get(topic)
        self._registry = registry
        self._topic = topic
        self._source = source

    @property
    def topic(self) -> str:
        """The logical topic this outbox writes events for."""
        return self._topic

    def event(
        self,
        message: Message,
        *,
        key: str,
        subject: str | None = None,
        time: datetime | None = None,
    ) -> Event:
        """An event from this service carrying ``message``, continuing the current trace.

        Raises:
            UndeclaredEventType: the topic does not list the message's type.
            MalformedEvent: an attribute is invalid (e.g. empty key).
        """
        event = Event.from_message(
            message, source=self._source, key=key, subject=subject, time=time
        )
        self._registry.check_publish(self._topic, event.type)
        return event

    def _entries(self, events: Sequence[Event]) -> list[Document]:
        if not events:
            raise ValueError("no events given")
        for event in events:
            self._registry.check_publish(self._topic, event.type)
        return [entry(self._topic, event) for event in events]

    def fields(self, *events: Event) -> Document:
        """Fields to add to a document being inserted so it carries ``events``.

        Raises:
            UndeclaredEventType: an event's type is not declared for the topic.
            ValueError: no events given.
        """
        entries = self._entries(events)
        return {
            OUTBOX_FIELD: entries,
            OUTBOX_SINCE_FIELD: _oldest(events),
            OUTBOX_PENDING_FIELD: PENDING,
        }

    def update(self, update: Mapping[str, Any], *events: Event) -> dict[str, Any]:
        """``update`` (an operator update) extended to append ``events`` to the outbox.

        The result is one update document, so the state change and its events
        are applied together or not at all. Pure.

        Raises:
            ValueError: ``update`` is not an operator update, already writes the
                outbox fields, or no events given.
            UndeclaredEventType: an event's type is not declared for the topic.
        """
        return with_outbox(update, self._entries(events), _oldest(events))


def _oldest(events: Sequence[Event]) -> datetime:
    return min(event.time for event in events)


def with_outbox(
    update: Mapping[str, Any], entries: Sequence[Document], oldest: datetime
) -> dict[str, Any]:
    """``update`` plus ``$push`` of ``entries`` and ``$min`` of the pending marker. Pure.

    Raises:
        ValueError: ``update`` is not an operator update or already touches the outbox.
    """
    if not update or not all(str(op).startswith("$") for op in update):
        raise ValueError("update must be an operator update such as {'$set': {...}}")
    for op, op_fields in update.items():
        if not isinstance(op_fields, Mapping):
            raise ValueError(f"{op} must map field names to values")
        for name in op_fields:
            if str(name).split(".")[0] in (OUTBOX_FIELD, OUTBOX_SINCE_FIELD, OUTBOX_PENDING_FIELD):
                raise ValueError(f"update must not touch {name}; the outbox owns it")
    merged: dict[str, Any] = {op: dict(fields) for op, fields in update.items()}
    merged.setdefault("$push", {})[OUTBOX_FIELD] = {"$each": list(entries)}
    # $min keeps the oldest pending time when events pile up on a busy document.
    merged.setdefault("$min", {})[OUTBOX_SINCE_FIELD] = oldest
    merged.setdefault("$set", {})[OUTBOX_PENDING_FIELD] = PENDING
    return merged


_CLEAR_CHUNK: Final = 50
"""Updates per bulk write when clearing. The local FerretDB 1.24 stops answering an
``update`` command of 100 statements or more (measured: 80 take 0.15 s, 100 hang
past the socket timeout); MongoDB takes any number, and 50 costs it nothing."""


# The update that ends a document's pending state.
_DONE: Final = {"$unset": {OUTBOX_FIELD: "", OUTBOX_SINCE_FIELD: "", OUTBOX_PENDING_FIELD: ""}}


async def _bulk(coll: Any, updates: Sequence[UpdateOne]) -> None:
    """``updates`` as unordered bulk writes of at most :data:`_CLEAR_CHUNK` statements."""
    for first in range(0, len(updates), _CLEAR_CHUNK):
        await coll.bulk_write(list(updates[first : first + _CLEAR_CHUNK]), ordered=False)


class OutboxRelay:
    """Publishes pending outbox events of some collections of one database, then clears them.

    Run it beside the service with ``await relay.run()``. Two ways in:

    - :meth:`hint` ``(collection, document id)`` right after a write that gave
      that document events: the relay reads that one document by ``_id`` and
      publishes it at once. This is the hot path, one indexed read per write
      on any backend.
    - a scan of every collection for documents still holding events, at
      start (what a previous process left), every ``poll_seconds``, and when
      :meth:`wake` asks for one. It catches what a hint missed: a publish that
      failed, a replica that died between write and publish.

    Give it the service's *writer* database handle (``ServiceContext.writer_db``)
    so its clears are serialised with the service's writes where the backend
    needs it (FerretDB 1.x), and the pooled handle as ``reader``
    (``ServiceContext.db``) for its reads: on FerretDB a scan reads every
    document of the collections, and on the writer's single connection it would
    hold up every write for as long.
    """

    def __init__(
        self,
        db: AsyncDatabase[Document],
        collections: Sequence[str],
        producer: Producer,
        *,
        poll_seconds: float,
        batch_size: int = 100,
        concurrency: int = 64,
        retry_seconds: float = 0.5,
        reader: AsyncDatabase[Document] | None = None,
    ) -> None:
        if not collections:
            raise ValueError("the relay needs at least one collection")
        if poll_seconds <= 0 or batch_size < 1 or concurrency < 1 or retry_seconds <= 0:
            raise ValueError(
                "poll_seconds, batch_size, concurrency and retry_seconds must be positive"
            )
        self._db = db
        self._reader = reader if reader is not None else db
        self._collections = list(collections)
        self._producer = producer
        self._poll_seconds = poll_seconds
        self._retry_seconds = retry_seconds
        self._batch_size = batch_size
        self._limit = asyncio.Semaphore(concurrency)
        self._wakeup = asyncio.Event()
        self._stopping = asyncio.Event()
        self._scan_requested = True
        self._hints: set[tuple[str, Any]] = set()
        self._stuck: set[tuple[str, Any]] = set()
        self._legacy_marked = False
        self._legacy_retry_at = 0.0

    def hint(self, collection: str, document_id: Any) -> None:
        """That document just got events: publish it now (cheap, non-blocking)."""
        if collection not in self._collections:
            raise ValueError(f"the relay does not watch collection {collection!r}")
        self._hints.add((collection, document_id))
        self._wakeup.set()

    def wake(self) -> None:
        """Ask for a full scan now (cheap, non-blocking)."""
        self._scan_requested = True
        self._wakeup.set()

    def stop(self) -> None:
        """Ask :meth:`run` to return after the pass in progress."""
        self._stopping.set()
        self._wakeup.set()

    async def run(self) -> None:
        """Publish pending events until stopped or cancelled.

        Never raises for an unreachable Kafka or database: it logs and tries
        again (hinted documents after ``retry_seconds``, the scan at the next
        poll). Cancellation between a publish and its clear leaves the entries
        pending; they are published again later.
        """
        self._stopping.clear()
        loop = asyncio.get_running_loop()
        next_scan = loop.time()
        while not self._stopping.is_set():
            self._wakeup.clear()
            if self._scan_requested or loop.time() >= next_scan:
                self._scan_requested = False
                await self._mark_legacy_once(loop.time())
                try:
                    await self.publish_pending()
                except PyMongoError as exc:
                    _log.warning("outbox scan failed; retrying at next poll", error=repr(exc))
                next_scan = loop.time() + self._poll_seconds
            if not await self.publish_hinted():
                await asyncio.sleep(self._retry_seconds)
                self._wakeup.set()
                continue
            try:
                async with asyncio.timeout(max(0.0, next_scan - loop.time())):
                    await self._wakeup.wait()
            except TimeoutError:
                pass

    async def _mark_legacy_once(self, now: float) -> None:
        """:meth:`mark_legacy` before the first scan; when it fails, the scans go on and it
        is tried again after :data:`LEGACY_RETRY_SECONDS`, not at every poll (it reads
        whole collections on the local FerretDB)."""
        if self._legacy_marked or now < self._legacy_retry_at:
            return
        try:
            await self.mark_legacy()
        except PyMongoError as exc:
            self._legacy_retry_at = now + LEGACY_RETRY_SECONDS
            _log.warning(
                "outbox: marking documents written before the pending marker failed; "
                f"retrying in {LEGACY_RETRY_SECONDS:.0f} s",
                error=repr(exc),
            )

    async def mark_legacy(self) -> int:
        """Give the pending marker to documents written before it existed; return how many.

        Runs before the relay's first scan, once per collection and database: a
        collection done is recorded in :data:`MIGRATIONS` and skipped by every later
        start (documents written since carry the marker from their first write). On
        MongoDB it is an index range on the date where the old index exists; on the
        local FerretDB one read of the whole collection.
        """
        marked = 0
        done = self._db[MIGRATIONS]
        for name in self._collections:
            key = f"pending-marker:{name}"
            if await done.find_one({"_id": key}) is not None:
                continue
            # A migration step, not a request: it may read the whole collection, so it
            # gets minutes rather than the client's request timeout.
            with pymongo.timeout(LEGACY_TIMEOUT_SECONDS):
                result = await self._db[name].update_many(
                    {
                        OUTBOX_SINCE_FIELD: {"$gte": _EPOCH},
                        OUTBOX_PENDING_FIELD: {"$exists": False},
                    },
                    {"$set": {OUTBOX_PENDING_FIELD: PENDING}},
                )
            marked += result.modified_count
            await done.update_one(
                {"_id": key},
                {"$set": {"marked": result.modified_count, "at": datetime.now(UTC)}},
                upsert=True,
            )
        if marked:
            _log.info("outbox: marked documents written before the pending marker", count=marked)
        self._legacy_marked = True
        return marked

    async def publish_hinted(self) -> bool:
        """Publish every hinted document's outbox; ``False`` if some must be tried again."""
        hints, self._hints = self._hints, set()
        ok = True
        for collection, document_id in hints:
            try:
                document = await self._reader[collection].find_one(
                    {"_id": document_id}, projection={OUTBOX_FIELD: 1}
                )
                done = True
                if document is not None and document.get(OUTBOX_FIELD):
                    _, done = await self._relay_document(collection, document)
                    # An entry that can never be published is left for a person (logged);
                    # retrying it would only repeat the error. The scans still see it.
                    done = done or (collection, document_id) in self._stuck
            except PyMongoError as exc:
                _log.warning(
                    "outbox read failed; will retry", collection=collection, error=repr(exc)
                )
                done = False
            if not done:
                self._hints.add((collection, document_id))
                ok = False
        return ok

    async def publish_pending(self) -> int:
        """One pass: publish and clear everything pending now; return how many were published.

        A document whose publish fails keeps its remaining entries (and the
        rest of the pass goes on); they are retried on the next pass.

        Raises:
            pymongo.errors.PyMongoError: the scan itself failed.
        """
        published = 0
        for name in self._collections:
            while not self._stopping.is_set():
                # One short query per batch (an index range on the pending marker): no
                # cursor stays open while the batch is published and cleared.
                documents = await (
                    self._reader[name]
                    .find(_QUEUE, projection={OUTBOX_FIELD: 1})
                    .sort(OUTBOX_SINCE_FIELD, 1)
                    .limit(self._batch_size)
                    .to_list(length=self._batch_size)
                )
                if not documents:
                    break
                count, complete = await self._relay_batch(name, documents)
                published += count
                if not complete or len(documents) < self._batch_size:
                    break  # a failure (the next pass retries) or the last batch
                # A long backlog (after a Kafka outage) drains batch by batch; writes
                # made meanwhile go out between batches instead of behind the backlog.
                if self._hints:
                    await self.publish_hinted()
        return published

    async def _relay_batch(self, collection: str, documents: list[Document]) -> tuple[int, bool]:
        """Publish a batch of documents (concurrently), then clear it in bulk writes."""
        results = await asyncio.gather(*(self._publish_document(collection, d) for d in documents))
        cleared = await self._clear_many(
            collection,
            [
                (d["_id"], published, whole)
                for d, (published, whole) in zip(documents, results, strict=True)
            ],
        )
        return (
            sum(len(published) for published, _ in results),
            cleared and all(ok for _, ok in results),
        )

    async def _relay_document(self, collection: str, document: Document) -> tuple[int, bool]:
        """Publish one document's entries in order; clear those published. ``(count, all_ok)``."""
        published, ok = await self._publish_document(collection, document)
        if published:
            ok = await self._clear_many(collection, [(document["_id"], published, ok)]) and ok
        return len(published), ok

    async def _publish_document(
        self, collection: str, document: Document
    ) -> tuple[list[Document], bool]:
        """Publish one document's entries in order; ``(entries published, all_ok)``."""
        async with self._limit:
            entries = document.get(OUTBOX_FIELD) or []
            published: list[Document] = []
            ok = True
            for raw in entries:
                try:
                    pending = parse_entry(raw)
                    await self._producer.publish(pending.topic, pending.event)
                except (MalformedEvent, RegistryError) as exc:
                    # Stays pending (later entries wait behind it): fixing it needs a person.
                    self._stuck.add((collection, document["_id"]))
                    _log.error(
                        "outbox entry cannot be published",
                        collection=collection,
                        document_id=str(document["_id"]),
                        entry_id=str(raw.get("id")),
                        error=repr(exc),
                    )
                    ok = False
                    break
                except (PublishFailed, NotStarted, BusError) as exc:
                    _log.warning(
                        "outbox publish failed; will retry",
                        collection=collection,
                        document_id=str(document["_id"]),
                        error=repr(exc),
                    )
                    ok = False
                    break
                published.append(raw)
            return published, ok

    async def _clear_many(
        self, collection: str, cleared: Sequence[tuple[Any, list[Document], bool]]
    ) -> bool:
        """Clear what was published from each document; ``False`` if the clear failed.

        ``cleared`` holds ``(document id, entries published, whether that was the
        whole outbox as read)``. Published but not cleared means published again
        next pass (consumers deduplicate by event id), so a failure is logged,
        not raised.
        """
        cleared = [c for c in cleared if c[1]]
        if not cleared:
            return True
        try:
            await self._clear(collection, cleared)
        except PyMongoError as exc:
            _log.warning("outbox clear failed", collection=collection, error=repr(exc))
            return False
        return True

    async def _clear(
        self, collection: str, cleared: Sequence[tuple[Any, list[Document], bool]]
    ) -> None:
        """Remove exactly the published entries from each document's outbox; drop the
        marker of each outbox left empty.

        The usual case, a document whose whole outbox (as read) was published, is
        one update: unset the outbox *if it still equals what was read* (entries
        carry their own event ids, so an equal array holds exactly the published
        events). Where that did not match (a writer appended meanwhile, another
        relay cleared first) or only a prefix was published, two updates, each
        atomic on its own: the pull removes only what was published, whatever was
        appended; the second removes the marker only if the outbox is then empty.
        Bulk writes of at most :data:`_CLEAR_CHUNK` statements.
        """
        coll = self._db[collection]
        whole = [(document_id, entries) for document_id, entries, all_of_it in cleared if all_of_it]
        careful = [
            (document_id, entries) for document_id, entries, all_of_it in cleared if not all_of_it
        ]
        await _bulk(
            coll,
            [UpdateOne({"_id": d, OUTBOX_FIELD: entries}, _DONE) for d, entries in whole],
        )
        if whole:
            # Which of them still hold an entry we published: those take the careful way.
            ids = [entry["id"] for _, entries in whole for entry in entries]
            left = {
                d["_id"]
                async for d in coll.find(
                    {"_id": {"$in": [d for d, _ in whole]}, f"{OUTBOX_FIELD}.id": {"$in": ids}},
                    projection={"_id": 1},
                )
            }
            careful += [(d, entries) for d, entries in whole if d in left]
        await _bulk(
            coll,
            [
                UpdateOne({"_id": d}, {"$pullAll": {OUTBOX_FIELD: entries}})
                for d, entries in careful
            ],
        )
        await _bulk(
            coll, [UpdateOne({"_id": d, OUTBOX_FIELD: {"$size": 0}}, _DONE) for d, _ in careful]
        )

    async def pending_count(self) -> int:
        """How many documents have pending events now (for readiness and tests)."""
        total = 0
        for name in self._collections:
            total += await self._reader[name].count_documents(_QUEUE)
        return total


# --- backlog metrics ----------------------------------------------------------

_BACKLOG_CAP: Final = 10_000
"""The backlog count stops here: a bounded read even when the relay is far behind."""

# (database, collection) -> (documents with pending events, time of the oldest one)
_backlog: dict[tuple[str, str], tuple[int, datetime | None]] = {}


_last_observed = float("-inf")
"""``time.monotonic()`` of the last read of the backlog gauges (a scrape or an OTLP export)."""


def _observe_pending(_options: metrics.CallbackOptions) -> Iterable[metrics.Observation]:
    global _last_observed  # noqa: PLW0603 - one process-wide reading clock for the gauges
    _last_observed = time.monotonic()
    for (database, collection), (count, _) in list(_backlog.items()):
        yield metrics.Observation(count, {"db.name": database, "db.collection": collection})


def _observe_age(_options: metrics.CallbackOptions) -> Iterable[metrics.Observation]:
    now = datetime.now(UTC)
    for (database, collection), (_, oldest) in list(_backlog.items()):
        age = 0.0 if oldest is None else max(0.0, (now - oldest).total_seconds())
        yield metrics.Observation(age, {"db.name": database, "db.collection": collection})


_outbox_meter = metrics.get_meter("guildhall_kit.outbox")
_outbox_meter.create_observable_gauge(
    "guildhall.outbox.pending",
    callbacks=[_observe_pending],
    unit="{document}",
    description="Documents holding unpublished outbox events (counted up to 10000)",
)
_outbox_meter.create_observable_gauge(
    "guildhall.outbox.oldest_age",
    callbacks=[_observe_age],
    unit="s",
    description="Age of the oldest unpublished outbox event; 0 when none is pending",
)


async def sample_backlog(db: AsyncDatabase[Document], collections: Sequence[str]) -> None:
    """Read each collection's outbox backlog once (two indexed reads) for the gauges."""
    for name in collections:
        count = await db[name].count_documents(_QUEUE, limit=_BACKLOG_CAP)
        oldest: datetime | None = None
        if count:
            first = await (
                db[name]
                .find(_QUEUE, projection={OUTBOX_SINCE_FIELD: 1})
                .sort(OUTBOX_SINCE_FIELD, 1)
                .limit(1)
                .to_list(length=1)
            )
            if first:
                since = first[0][OUTBOX_SINCE_FIELD]
                oldest = since if since.tzinfo else since.replace(tzinfo=UTC)
        _backlog[(db.name, name)] = (count, oldest)


async def watch_backlog(
    db: AsyncDatabase[Document],
    collections: Sequence[str],
    *,
    every_seconds: float = 15.0,
    idle_after_seconds: float = 120.0,
    tick_seconds: float = 1.0,
) -> None:
    """Sample the outbox backlog every ``every_seconds`` while someone reads the gauges.

    The gauges count as read when a Prometheus scrape or an OTLP export asked
    for them within ``idle_after_seconds``; the first read after a quiet spell
    starts sampling within ``tick_seconds`` (that read itself reports the last
    known values). On MongoDB each sample is two index ranges; on the local
    FerretDB the date range is not pushed down (ADR 0018) and scans the
    collection, so a service nobody observes (tests, benchmarks, ``make run``)
    must not pay for it. Runs until cancelled; never raises.
    """
    last_sample = float("-inf")
    while True:
        now = time.monotonic()
        if now - _last_observed <= idle_after_seconds and now - last_sample >= every_seconds:
            last_sample = now
            try:
                await sample_backlog(db, collections)
            except PyMongoError as exc:
                _log.warning("outbox backlog sample failed", error=repr(exc))
        await asyncio.sleep(tick_seconds)
