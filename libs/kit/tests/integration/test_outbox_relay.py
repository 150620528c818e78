"""The transactional outbox against real FerretDB and Kafka, with relays killed by SIGKILL."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from google.protobuf import wrappers_pb2
from pymongo.asynchronous.database import AsyncDatabase

from guildhall_kit.bus import (
    BusConfig,
    Consumer,
    Event,
    Producer,
    Registry,
    TopicSpec,
    ensure_topics,
    from_kafka,
)
from guildhall_kit.bus.idempotency import ProcessedEvents
from guildhall_kit.mongo import Document, ensure_indexes, make_client
from guildhall_kit.outbox import (
    MIGRATIONS,
    OUTBOX_FIELD,
    OUTBOX_INDEX,
    OUTBOX_PENDING_FIELD,
    OUTBOX_SINCE_FIELD,
    Outbox,
    OutboxRelay,
    outbox_indexes,
)

pytestmark = pytest.mark.integration

TOPIC = "test.outbox.v1"  # the same registry as _procs/outbox_relay.py
REGISTRY = Registry(
    [
        TopicSpec(
            name=TOPIC,
            owner="test",
            event_types=("google.protobuf.StringValue",),
            partitions=1,
            retention_ms=3_600_000,
        )
    ]
)
PROC = Path(__file__).parent / "_procs" / "outbox_relay.py"
KIT_SRC = Path(__file__).parents[2] / "src"
WITHIN = 30.0


@pytest.fixture
async def db(infra: Any, unique: str) -> AsyncIterator[AsyncDatabase[Document]]:
    client = make_client(infra.mongo_uri, app_name="test-outbox")
    database = client[f"test_outbox_{unique}"]
    await ensure_indexes(database, outbox_indexes("things"))
    yield database
    await client.drop_database(database.name)
    await client.close()


@pytest.fixture
async def producer(config: BusConfig) -> AsyncIterator[Producer]:
    await ensure_topics(config, REGISTRY)
    async with Producer(config, registry=REGISTRY) as started:
        yield started


@pytest.fixture
def outbox() -> Outbox:
    return Outbox(REGISTRY, topic=TOPIC, source="guildhall/test")


def text(value: str) -> wrappers_pb2.StringValue:
    return wrappers_pb2.StringValue(value=value)


async def topic_events(config: BusConfig) -> list[Event]:
    """Every event now on the test topic, in log order (reads up to the end offset)."""
    tp = TopicPartition(config.topic(TOPIC), 0)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=config.bootstrap_servers,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        consumer.assign([tp])
        end = (await consumer.end_offsets([tp]))[tp]
        await consumer.seek_to_beginning(tp)
        events: list[Event] = []
        async with asyncio.timeout(WITHIN):
            while await consumer.position(tp) < end:
                batch = await consumer.getmany(tp, timeout_ms=200)
                events += [from_kafka(r.key, r.value, r.headers) for r in batch.get(tp, [])]
        return events
    finally:
        await consumer.stop()


async def test_ferretdb_supports_the_outbox_writes_scan_and_clear(
    db: AsyncDatabase[Document], outbox: Outbox
) -> None:
    things = db["things"]
    index_names = [ix["name"] async for ix in await things.list_indexes()]
    assert OUTBOX_INDEX in index_names

    a1, a2, b1 = (outbox.event(text(t), key=k) for t, k in (("a1", "a"), ("a2", "a"), ("b1", "b")))
    await things.insert_one({"_id": "a", "v": 1, **outbox.fields(a1)})
    await things.insert_one({"_id": "b", "v": 1, **outbox.fields(b1)})
    await things.insert_one({"_id": "c", "v": 1})  # nothing pending
    await things.insert_one({"_id": "d", "v": 1})  # nothing pending yet
    result = await things.update_one({"_id": "a"}, outbox.update({"$set": {"v": 2}}, a2))
    assert result.modified_count == 1
    d1 = outbox.event(text("d1"), key="d")
    await things.update_one({"_id": "d"}, outbox.update({"$set": {"v": 2}}, d1))
    doc = await things.find_one({"_id": "d"})
    assert doc is not None
    assert doc[OUTBOX_SINCE_FIELD] == d1.time  # $min sets an absent field
    await things.delete_one({"_id": "d"})

    doc = await things.find_one({"_id": "a"})
    assert doc is not None
    assert doc["v"] == 2
    assert [e["id"] for e in doc[OUTBOX_FIELD]] == [a1.id, a2.id]
    assert doc[OUTBOX_SINCE_FIELD] == a1.time  # event times are whole milliseconds, as BSON keeps

    relay = OutboxRelay(db, ["things"], producer=None, poll_seconds=1)  # type: ignore[arg-type]
    assert await relay.pending_count() == 2

    # Clear a prefix only, as after a relay published a1 while a2 was being appended.
    first, second = doc[OUTBOX_FIELD]
    await relay._clear("things", [("a", [first], False)])
    doc = await things.find_one({"_id": "a"})
    assert doc is not None
    assert [e["id"] for e in doc[OUTBOX_FIELD]] == [a2.id]
    assert OUTBOX_SINCE_FIELD in doc  # still pending
    await relay._clear("things", [("a", [second], False)])
    doc = await things.find_one({"_id": "a"})
    assert doc is not None
    assert OUTBOX_FIELD not in doc
    assert OUTBOX_SINCE_FIELD not in doc
    assert doc["v"] == 2
    assert await relay.pending_count() == 1

    # The whole outbox as read was published, but a writer appended b2 meanwhile:
    # the one-update clear must not match, and the careful way keeps b2.
    doc = await things.find_one({"_id": "b"})
    assert doc is not None
    as_read = doc[OUTBOX_FIELD]
    b2 = outbox.event(text("b2"), key="b")
    await things.update_one({"_id": "b"}, outbox.update({"$set": {"v": 3}}, b2))
    await relay._clear("things", [("b", as_read, True)])
    doc = await things.find_one({"_id": "b"})
    assert doc is not None
    assert [e["id"] for e in doc[OUTBOX_FIELD]] == [b2.id]
    assert OUTBOX_SINCE_FIELD in doc
    # Unchanged since read: one update clears it all.
    await relay._clear("things", [("b", doc[OUTBOX_FIELD], True)])
    doc = await things.find_one({"_id": "b"})
    assert doc is not None
    assert OUTBOX_FIELD not in doc
    assert OUTBOX_SINCE_FIELD not in doc
    assert await relay.pending_count() == 0


async def test_relay_publishes_in_write_order_and_clears(
    config: BusConfig, db: AsyncDatabase[Document], producer: Producer, outbox: Outbox
) -> None:
    things = db["things"]
    written: dict[str, list[str]] = defaultdict(list)
    for doc_id in ("x", "y", "z"):
        first = outbox.event(text(f"{doc_id}0"), key=doc_id)
        await things.insert_one({"_id": doc_id, **outbox.fields(first)})
        written[doc_id].append(first.id)
        for n in range(1, 4):
            event = outbox.event(text(f"{doc_id}{n}"), key=doc_id)
            await things.update_one({"_id": doc_id}, outbox.update({"$inc": {"n": 1}}, event))
            written[doc_id].append(event.id)

    relay = OutboxRelay(db, ["things"], producer, poll_seconds=1, batch_size=2)
    assert await relay.publish_pending() == 12
    assert await relay.pending_count() == 0

    published: dict[str, list[str]] = defaultdict(list)
    for event in await topic_events(config):
        published[event.key].append(event.id)
    assert published == written
    assert await things.count_documents({OUTBOX_FIELD: {"$exists": True}}) == 0
    assert await relay.publish_pending() == 0  # nothing twice


async def test_documents_before_the_pending_marker_are_marked_once_per_database(
    config: BusConfig, db: AsyncDatabase[Document], producer: Producer, outbox: Outbox
) -> None:
    things = db["things"]
    legacy = outbox.fields(outbox.event(text("old"), key="old"))
    del legacy[OUTBOX_PENDING_FIELD]  # as written before the marker existed
    await things.insert_one({"_id": "old", **legacy})

    relay = OutboxRelay(db, ["things"], producer, poll_seconds=60)
    assert await relay.mark_legacy() == 1
    assert await relay.publish_pending() == 1
    assert [e.key for e in await topic_events(config)] == ["old"]
    assert await db[MIGRATIONS].find_one({"_id": "pending-marker:things"}) is not None

    # A later start (a restart, another replica) finds the record and reads no collection:
    # a document without the marker now is one no current writer made, and stays unmarked.
    await things.insert_one({"_id": "stray", **legacy})
    again = OutboxRelay(db, ["things"], producer, poll_seconds=60)
    assert await again.mark_legacy() == 0
    stray = await things.find_one({"_id": "stray"})
    assert stray is not None
    assert OUTBOX_PENDING_FIELD not in stray


async def test_wake_publishes_without_waiting_for_the_poll(
    config: BusConfig, db: AsyncDatabase[Document], producer: Producer, outbox: Outbox
) -> None:
    relay = OutboxRelay(db, ["things"], producer, poll_seconds=60)
    task = asyncio.create_task(relay.run())
    try:
        event = outbox.event(text("now"), key="w")
        await db["things"].insert_one({"_id": "w", **outbox.fields(event)})
        relay.wake()
        async with asyncio.timeout(10):  # far below the 60 s poll: only the wake can do it
            while await relay.pending_count():  # noqa: ASYNC110 - polls the database
                await asyncio.sleep(0.02)
    finally:
        relay.stop()
        async with asyncio.timeout(WITHIN):
            await task
    assert [e.id for e in await topic_events(config)] == [event.id]


async def test_a_hint_publishes_that_document_without_a_scan(
    config: BusConfig, db: AsyncDatabase[Document], producer: Producer, outbox: Outbox
) -> None:
    relay = OutboxRelay(db, ["things"], producer, poll_seconds=60)
    task = asyncio.create_task(relay.run())
    try:
        await asyncio.sleep(0.2)  # the start-up scan has run; the next one is 60 s away
        first = outbox.event(text("hinted"), key="h")
        await db["things"].insert_one({"_id": "h", **outbox.fields(first)})
        second = outbox.event(text("not hinted"), key="n")
        await db["things"].insert_one({"_id": "n", **outbox.fields(second)})
        relay.hint("things", "h")
        pending_h = {"_id": "h", "_outbox_since": {"$exists": True}}
        async with asyncio.timeout(10):
            while await db["things"].count_documents(pending_h):  # noqa: ASYNC110 - polls the db
                await asyncio.sleep(0.02)
        # Only the hinted document went out: the other waits for a scan.
        assert (
            await db["things"].count_documents({"_id": "n", "_outbox_since": {"$exists": True}})
            == 1
        )
        with pytest.raises(ValueError, match="does not watch"):
            relay.hint("elsewhere", "x")
    finally:
        relay.stop()
        async with asyncio.timeout(WITHIN):
            await task
    assert [e.id for e in await topic_events(config)] == [first.id]


async def test_a_write_during_a_backlog_drain_goes_out_before_the_backlog_is_done(
    config: BusConfig, db: AsyncDatabase[Document], producer: Producer, outbox: Outbox
) -> None:
    """After an outage the backlog drains batch by batch; a hinted fresh write goes out
    between two batches, not behind the whole backlog."""
    backlog = [outbox.event(text(f"old {n}"), key=f"old{n:04d}") for n in range(400)]
    await db["things"].insert_many([{"_id": e.key, **outbox.fields(e)} for e in backlog])
    relay = OutboxRelay(db, ["things"], producer, poll_seconds=60, batch_size=20)
    pending = {"_outbox_since": {"$exists": True}}
    task = asyncio.create_task(relay.run())
    try:
        async with asyncio.timeout(WITHIN):
            while await db["things"].count_documents(pending) > 380:  # noqa: ASYNC110 - polls the db
                await asyncio.sleep(0.01)
        fresh = outbox.event(text("fresh"), key="fresh")
        await db["things"].insert_one({"_id": "fresh", **outbox.fields(fresh)})
        relay.hint("things", "fresh")
        async with asyncio.timeout(WITHIN):
            while await db["things"].count_documents({"_id": "fresh", **pending}):  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        left = await db["things"].count_documents({"_id": {"$ne": "fresh"}, **pending})
        assert left > 0, "the fresh write waited for the whole backlog"
        async with asyncio.timeout(WITHIN):
            while await relay.pending_count():  # noqa: ASYNC110 - polls the database
                await asyncio.sleep(0.05)
    finally:
        relay.stop()
        async with asyncio.timeout(WITHIN):
            await task
    on_topic = [e.id for e in await topic_events(config)]
    assert sorted(on_topic) == sorted([e.id for e in backlog] + [fresh.id])


async def test_concurrent_relays_corrupt_nothing(
    config: BusConfig, db: AsyncDatabase[Document], producer: Producer, outbox: Outbox
) -> None:
    things = db["things"]
    written: dict[str, list[str]] = {}
    for d in range(10):
        events = [outbox.event(text(f"{d}:{n}"), key=f"d{d}") for n in range(5)]
        await things.insert_one({"_id": f"d{d}", **outbox.fields(*events)})
        written[f"d{d}"] = [e.id for e in events]

    relays = [OutboxRelay(db, ["things"], producer, poll_seconds=1, batch_size=3) for _ in range(3)]
    async with asyncio.timeout(WITHIN):
        await asyncio.gather(*(r.publish_pending() for r in relays))
    assert await relays[0].pending_count() == 0

    first_seen: dict[str, list[str]] = defaultdict(list)
    for event in await topic_events(config):
        if event.id not in first_seen[event.key]:
            first_seen[event.key].append(event.id)
    assert first_seen == written  # every event at least once, first copies in write order


@contextmanager
def relay_process(mode: str, config: BusConfig, database: str, infra: Any) -> Iterator[Any]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(KIT_SRC), os.environ.get("PYTHONPATH")])),
        "GUILDHALL_KAFKA_BOOTSTRAP_SERVERS": config.bootstrap_servers,
        "GUILDHALL_MONGO_URI": infra.mongo_uri,
        "GUILDHALL_TOPIC_PREFIX": config.topic_prefix,
    }
    proc = subprocess.Popen(
        [sys.executable, str(PROC), mode, "--database", database],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=WITHIN)
        if proc.stdout is not None:
            proc.stdout.close()


async def next_line(proc: Any, expected: str) -> str:
    """The process's next stdout line; fails unless it starts with ``expected`` in time."""
    async with asyncio.timeout(WITHIN):
        line: str = await asyncio.to_thread(proc.stdout.readline)
    assert line.startswith(expected), f"expected {expected!r}, got {line!r} (rc={proc.poll()})"
    return line.split(" ", 1)[1].strip() if " " in line.strip() else ""


def sigkill(proc: Any) -> None:
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=WITHIN) == -signal.SIGKILL


async def handled_once(config: BusConfig, db: AsyncDatabase[Document], expected: int) -> list[str]:
    """Consume the topic as an idempotent group; return the ids its handler saw."""
    handled: list[str] = []

    async def handler(e: Event) -> None:
        handled.append(e.id)

    consumer = Consumer(
        config,
        group="idempotent",
        topics=[TOPIC],
        handler=handler,
        registry=REGISTRY,
        processed=ProcessedEvents(db["processed_events"], group="idempotent"),
    )
    task = asyncio.create_task(consumer.run())
    try:
        async with asyncio.timeout(WITHIN):
            while consumer.stats.handled + consumer.stats.duplicates < expected:  # noqa: ASYNC110
                await asyncio.sleep(0.02)
    finally:
        consumer.stop()
        async with asyncio.timeout(WITHIN):
            await task
    return handled


@pytest.mark.slow
async def test_relay_killed_between_write_and_publish_publishes_after_restart(
    config: BusConfig, db: AsyncDatabase[Document], producer: Producer, infra: Any
) -> None:
    with relay_process("write", config, db.name, infra) as writer:
        event_id = await next_line(writer, "WRITTEN")
        sigkill(writer)  # the write is in the database; nothing was published

    doc = await db["things"].find_one({"_id": "thing-1"})
    assert doc is not None
    assert doc["text"] == "created"  # the state change
    assert [e["id"] for e in doc[OUTBOX_FIELD]] == [event_id]  # and its event, in one write
    assert await topic_events(config) == []

    with relay_process("relay", config, db.name, infra) as relay:
        await next_line(relay, "DRAINED")
        assert relay.wait(timeout=WITHIN) == 0

    assert [e.id for e in await topic_events(config)] == [event_id]
    assert await handled_once(config, db, expected=1) == [event_id]
    doc = await db["things"].find_one({"_id": "thing-1"})
    assert doc is not None
    assert OUTBOX_FIELD not in doc


@pytest.mark.slow
async def test_relay_killed_after_publish_before_clear_republishes_and_consumers_dedupe(
    config: BusConfig, db: AsyncDatabase[Document], producer: Producer, outbox: Outbox, infra: Any
) -> None:
    event = outbox.event(text("created"), key="thing-1")
    await db["things"].insert_one({"_id": "thing-1", "text": "created", **outbox.fields(event)})

    with relay_process("stall-before-clear", config, db.name, infra) as relay:
        assert await next_line(relay, "PUBLISHED") == event.id
        sigkill(relay)  # published, not cleared

    assert [e.id for e in await topic_events(config)] == [event.id]
    doc = await db["things"].find_one({"_id": "thing-1"})
    assert doc is not None
    assert [e["id"] for e in doc[OUTBOX_FIELD]] == [event.id]  # still pending

    with relay_process("relay", config, db.name, infra) as relay:
        await next_line(relay, "DRAINED")
        assert relay.wait(timeout=WITHIN) == 0

    on_topic = await topic_events(config)
    assert [e.id for e in on_topic] == [event.id, event.id]  # at least once: here twice
    assert on_topic[0] == on_topic[1]  # the very same event, not a new one
    assert await handled_once(config, db, expected=2) == [event.id]  # once, as far as consumers see
