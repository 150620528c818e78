"""The event bus against the real Kafka broker (and FerretDB for idempotent effects).

Every test uses its own topic prefix and consumer groups (the ``unique``
fixture), so tests never see each other's messages.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import suppress
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from google.protobuf import wrappers_pb2
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pymongo.asynchronous.database import AsyncDatabase

from guildhall_kit.bus import (
    BusConfig,
    Consumer,
    Event,
    Producer,
    Registry,
    RetryPolicy,
    TopicSpec,
    ensure_topics,
)
from guildhall_kit.bus.errors import MalformedEvent
from guildhall_kit.bus.idempotency import ProcessedEvents, apply_once
from guildhall_kit.mongo import Document, make_client

pytestmark = pytest.mark.integration

TOPIC = "test.bus.v1"
SOURCE = "guildhall/test"
REGISTRY = Registry(
    [
        TopicSpec(
            name=TOPIC,
            owner="test",
            event_types=("google.protobuf.StringValue", "google.protobuf.Struct"),
            partitions=3,
            retention_ms=3_600_000,
        )
    ]
)
WITHIN = 30.0  # seconds any single wait in these tests may take before it fails


@pytest.fixture
async def db(infra: Any, unique: str) -> AsyncIterator[AsyncDatabase[Document]]:
    client = make_client(infra.mongo_uri, app_name="test-bus")
    database = client[f"test_bus_{unique}"]
    yield database
    await client.drop_database(database.name)
    await client.close()


@pytest.fixture
async def producer(config: BusConfig) -> AsyncIterator[Producer]:
    await ensure_topics(config, REGISTRY)
    async with Producer(config, registry=REGISTRY) as started:
        yield started


def text_event(text: str, key: str = "agg-1") -> Event:
    return Event.from_message(wrappers_pb2.StringValue(value=text), source=SOURCE, key=key)


def text_of(event: Event) -> str:
    return event.parse(wrappers_pb2.StringValue).value


async def run_until(consumer: Consumer, done: asyncio.Event) -> None:
    """Run ``consumer`` until ``done`` is set (then stop it), failing after WITHIN seconds."""
    task = asyncio.create_task(consumer.run())
    waiter = asyncio.create_task(done.wait())
    try:
        finished, _ = await asyncio.wait(
            {task, waiter}, timeout=WITHIN, return_when=asyncio.FIRST_COMPLETED
        )
        if task in finished:
            task.result()  # the consumer died: raise its error
            pytest.fail("consumer returned before the expected events arrived")
        if not finished:
            pytest.fail(f"expected events did not arrive within {WITHIN}s")
        consumer.stop()
        async with asyncio.timeout(WITHIN):
            await task
    finally:
        waiter.cancel()
        if not task.done():
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task


async def committed_offsets(config: BusConfig, group: str) -> dict[TopicPartition, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=config.bootstrap_servers)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(config.group(group))
    finally:
        await admin.close()
    return {tp: meta.offset for tp, meta in offsets.items()}


async def read_all(config: BusConfig, physical_topic: str, partitions: int) -> list[Any]:
    """Every record now in ``physical_topic`` (up to its end offsets), without a group."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=config.bootstrap_servers,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        tps = [TopicPartition(physical_topic, p) for p in range(partitions)]
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        records: list[Any] = []
        async with asyncio.timeout(WITHIN):
            for tp in tps:
                await consumer.seek_to_beginning(tp)
                while await consumer.position(tp) < ends[tp]:
                    batch = await consumer.getmany(tp, timeout_ms=200)
                    records.extend(batch.get(tp, []))
        return records
    finally:
        await consumer.stop()


def span_named(spans: tuple[ReadableSpan, ...], prefix: str) -> ReadableSpan:
    (match,) = [s for s in spans if s.name.startswith(prefix)]
    return match


async def test_round_trip_carries_every_cloudevents_header_and_the_trace(
    config: BusConfig, producer: Producer
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")

    async with Producer(config, registry=REGISTRY, tracer_provider=provider) as traced:
        with tracer.start_as_current_span("request") as request_span:
            event = Event.from_message(
                wrappers_pb2.StringValue(value="hello"),
                source=SOURCE,
                key="agg-1",
                subject="thing/agg-1",
            )
        # Published outside the request span, as the outbox relay would: the
        # event's captured context still makes it part of the request's trace.
        published = await traced.publish(TOPIC, event)

    received: list[Event] = []
    handler_spans: list[trace.SpanContext] = []
    done = asyncio.Event()

    async def handler(e: Event) -> None:
        received.append(e)
        handler_spans.append(trace.get_current_span().get_span_context())
        done.set()

    consumer = Consumer(
        config,
        group="roundtrip",
        topics=[TOPIC],
        handler=handler,
        registry=REGISTRY,
        tracer_provider=provider,
    )
    await run_until(consumer, done)

    (got,) = received
    assert (got.id, got.type, got.source, got.subject, got.key, got.time, got.data) == (
        event.id,
        "google.protobuf.StringValue",
        SOURCE,
        "thing/agg-1",
        "agg-1",
        event.time,
        event.data,
    )
    assert text_of(got) == "hello"

    (record,) = [
        r
        for r in await read_all(config, config.topic(TOPIC), partitions=3)
        if (r.partition, r.offset) == (published.partition, published.offset)
    ]
    headers = dict(record.headers)
    assert headers["ce_specversion"] == b"1.0"
    assert headers["ce_id"] == event.id.encode()
    assert headers["ce_type"] == b"google.protobuf.StringValue"
    assert headers["ce_source"] == SOURCE.encode()
    assert headers["ce_subject"] == b"thing/agg-1"
    assert headers["ce_time"] == event.time.isoformat().replace("+00:00", "Z").encode()
    assert headers["content-type"] == b"application/protobuf"
    assert record.key == b"agg-1"

    spans = exporter.get_finished_spans()
    request_ctx = request_span.get_span_context()
    publish = span_named(spans, "publish ")
    process = span_named(spans, "process ")
    assert publish.kind is trace.SpanKind.PRODUCER
    assert process.kind is trace.SpanKind.CONSUMER
    assert publish.context is not None
    assert process.context is not None
    assert publish.parent is not None
    assert publish.parent.span_id == request_ctx.span_id
    assert process.parent is not None
    assert process.parent.span_id == publish.context.span_id
    assert {publish.context.trace_id, process.context.trace_id} == {request_ctx.trace_id}
    assert headers["traceparent"].decode().split("-")[1:3] == [
        f"{request_ctx.trace_id:032x}",
        f"{publish.context.span_id:016x}",
    ]
    assert handler_spans[0].span_id == process.context.span_id


async def test_per_key_order_holds_across_partitions(config: BusConfig, producer: Producer) -> None:
    keys = [f"agg-{k}" for k in range(20)]
    per_key = 25

    async def publish_key(key: str) -> None:
        for seq in range(per_key):
            await producer.publish(TOPIC, text_event(f"{key}:{seq}", key=key))

    # Keys concurrently, each key's events one after another (as one aggregate's writes are).
    await asyncio.gather(*(publish_key(k) for k in keys))

    seen: dict[str, list[int]] = defaultdict(list)
    mismatched_keys: list[str] = []
    done = asyncio.Event()
    lag_seen: list[int] = []

    async def handler(e: Event) -> None:
        lag_seen.extend(consumer.lag().values())
        key, seq = text_of(e).split(":")
        if key != e.key:
            mismatched_keys.append(e.key)
        seen[key].append(int(seq))
        if sum(map(len, seen.values())) == len(keys) * per_key:
            done.set()

    consumer = Consumer(config, group="order", topics=[TOPIC], handler=handler, registry=REGISTRY)
    await run_until(consumer, done)

    assert not mismatched_keys
    assert {k: seen[k] for k in keys} == {k: list(range(per_key)) for k in keys}
    partitions: dict[bytes, set[int]] = defaultdict(set)
    for record in await read_all(config, config.topic(TOPIC), partitions=3):
        partitions[record.key].add(record.partition)
    assert all(len(p) == 1 for p in partitions.values())  # one key, one partition
    assert len(set().union(*partitions.values())) == 3  # and every partition was used
    committed = await committed_offsets(config, "order")
    assert sum(committed.values()) == len(keys) * per_key
    # Consumer lag: positive while the backlog drains, zero on every partition at the end.
    assert max(lag_seen) > 0
    assert len(consumer.lag()) == 3
    assert set(consumer.lag().values()) == {0}


class ConsumerCrash(BaseException):
    """Stands for the process dying: not an ``Exception``, so it is not a handler failure."""


async def test_a_consumer_that_dies_before_committing_gets_the_event_again_and_the_effect_happens_once(  # noqa: E501
    config: BusConfig, producer: Producer, db: AsyncDatabase[Document]
) -> None:
    published = await producer.publish(TOPIC, text_event("count me", key="counter-1"))
    tp = TopicPartition(config.topic(TOPIC), published.partition)
    counters = db["counters"]
    calls: list[tuple[str, str, bool]] = []

    async def effect(e: Event) -> bool:
        return await apply_once(counters, e.key, {"$inc": {"n": 1}}, event_id=e.id, upsert=True)

    async def handle_then_die(e: Event) -> None:
        calls.append(("first", e.id, await effect(e)))
        raise ConsumerCrash

    first = Consumer(
        config, group="once", topics=[TOPIC], handler=handle_then_die, registry=REGISTRY
    )
    with pytest.raises(ConsumerCrash):
        async with asyncio.timeout(WITHIN):
            await first.run()
    assert tp not in await committed_offsets(config, "once")  # the effect is stored, not the offset

    done = asyncio.Event()

    async def handle(e: Event) -> None:
        calls.append(("second", e.id, await effect(e)))
        done.set()

    second = Consumer(config, group="once", topics=[TOPIC], handler=handle, registry=REGISTRY)
    await run_until(second, done)

    event_id = calls[0][1]
    assert calls == [("first", event_id, True), ("second", event_id, False)]
    counter = await counters.find_one({"_id": "counter-1"})
    assert counter is not None
    assert counter["n"] == 1
    assert (await committed_offsets(config, "once"))[tp] == published.offset + 1


async def test_redelivered_duplicates_are_skipped_by_the_processed_events_store(
    config: BusConfig, producer: Producer, db: AsyncDatabase[Document]
) -> None:
    event = text_event("twice")
    await producer.publish(TOPIC, event)
    await producer.publish(TOPIC, event)  # an outbox re-publish after a crash looks like this
    await producer.publish(TOPIC, text_event("last"))
    handled: list[str] = []
    done = asyncio.Event()

    async def handler(e: Event) -> None:
        handled.append(text_of(e))
        if text_of(e) == "last":
            done.set()

    consumer = Consumer(
        config,
        group="dedupe",
        topics=[TOPIC],
        handler=handler,
        registry=REGISTRY,
        processed=ProcessedEvents(db["processed_events"], group="dedupe"),
    )
    await run_until(consumer, done)
    assert handled == ["twice", "last"]
    assert consumer.stats.duplicates == 1
    assert await db["processed_events"].count_documents({"group": "dedupe"}) == 2


async def test_a_poison_event_goes_to_the_dead_letter_topic_and_the_consumer_moves_on(
    config: BusConfig, producer: Producer
) -> None:
    garbage = await producer.send_record(config.topic(TOPIC), b"agg-1", b"not an event", [])
    poison = text_event("poison")
    poisoned = await producer.publish(TOPIC, poison)
    good = await producer.publish(TOPIC, text_event("good"))
    assert garbage.partition == poisoned.partition == good.partition  # one key, one partition

    attempts: list[str] = []
    handled: list[str] = []
    done = asyncio.Event()

    async def handler(e: Event) -> None:
        attempts.append(text_of(e))
        if text_of(e) == "poison":
            raise ValueError("cannot handle poison")
        handled.append(text_of(e))
        done.set()

    consumer = Consumer(
        config,
        group="dlq",
        topics=[TOPIC],
        handler=handler,
        registry=REGISTRY,
        retry=RetryPolicy(attempts=3, backoff_seconds=0.01),
    )
    await run_until(consumer, done)

    assert attempts == ["poison", "poison", "poison", "good"]
    assert handled == ["good"]
    tp = TopicPartition(config.topic(TOPIC), good.partition)
    assert (await committed_offsets(config, "dlq"))[tp] == good.offset + 1

    undecodable, dead = await read_all(config, consumer.dead_letter_topic(TOPIC), partitions=1)
    headers = dict(dead.headers)
    assert dead.key == b"agg-1"
    assert dead.value == poison.data
    assert headers["ce_id"] == poison.id.encode()  # the original headers travel along
    assert headers["dlq-error-type"] == b"builtins.ValueError"
    assert headers["dlq-error-message"] == b"cannot handle poison"
    assert headers["dlq-attempts"] == b"3"
    assert headers["dlq-original-topic"] == config.topic(TOPIC).encode()
    assert headers["dlq-original-partition"] == str(poisoned.partition).encode()
    assert headers["dlq-original-offset"] == str(poisoned.offset).encode()
    assert headers["dlq-consumer-group"] == b"dlq"
    assert headers["dlq-failed-at"].endswith(b"Z")

    undecodable_headers = dict(undecodable.headers)
    assert undecodable.value == b"not an event"
    assert undecodable_headers["dlq-error-type"] == (
        f"{MalformedEvent.__module__}.{MalformedEvent.__qualname__}".encode()
    )
    assert undecodable_headers["dlq-attempts"] == b"0"
    assert undecodable_headers["dlq-original-offset"] == str(garbage.offset).encode()


async def test_stop_finishes_the_event_in_hand_and_commits_it(
    config: BusConfig, producer: Producer
) -> None:
    first = await producer.publish(TOPIC, text_event("slow"))
    await producer.publish(TOPIC, text_event("never"))
    started = asyncio.Event()
    release = asyncio.Event()
    handled: list[str] = []

    async def handler(e: Event) -> None:
        started.set()
        await release.wait()
        handled.append(text_of(e))

    consumer = Consumer(config, group="drain", topics=[TOPIC], handler=handler, registry=REGISTRY)
    task = asyncio.create_task(consumer.run())
    async with asyncio.timeout(WITHIN):
        await started.wait()
    consumer.stop()  # asked to stop while the handler is mid-event
    release.set()
    async with asyncio.timeout(WITHIN):
        await task
    assert handled == ["slow"]
    tp = TopicPartition(config.topic(TOPIC), first.partition)
    assert (await committed_offsets(config, "drain"))[tp] == first.offset + 1


async def test_cancelling_run_drains_the_event_in_hand_then_commits_it(
    config: BusConfig, producer: Producer
) -> None:
    first = await producer.publish(TOPIC, text_event("slow"))
    await producer.publish(TOPIC, text_event("never"))
    started = asyncio.Event()
    release = asyncio.Event()
    handled: list[str] = []

    async def handler(e: Event) -> None:
        started.set()
        await release.wait()
        handled.append(text_of(e))

    consumer = Consumer(
        config, group="cancel", topics=[TOPIC], handler=handler, registry=REGISTRY, drain_seconds=5
    )
    task = asyncio.create_task(consumer.run())
    async with asyncio.timeout(WITHIN):
        await started.wait()
    task.cancel()  # what the service runtime does to background jobs at shutdown
    await asyncio.sleep(0)  # let the cancellation land while the handler is still waiting
    release.set()
    with pytest.raises(asyncio.CancelledError):
        async with asyncio.timeout(WITHIN):
            await task
    assert handled == ["slow"]
    tp = TopicPartition(config.topic(TOPIC), first.partition)
    assert (await committed_offsets(config, "cancel"))[tp] == first.offset + 1
