"""Benchmark of the outbox relay draining a backlog, as after a Kafka outage.

Run: ``.venv/bin/python -m bench.outbox_drain [--documents N] [--fresh N]``

Against the local stack (FerretDB, Kafka): ``--documents`` documents (default
3,000: a one-minute outage at 50 writes a second) each hold one unpublished
event, as the service's writes leave them while Kafka is away. Then one relay,
the service's own (:class:`guildhall_kit.outbox.OutboxRelay`, batches of 100,
its writer and reader handles as a service gives them on FerretDB), drains
them. Meanwhile ``--fresh`` new writes (default 20), one every 50 ms, are
hinted to the relay the way a service hints its writes; each one's delay from
write to cleared is what a person waits for their event while the backlog
drains. Prints the drain time and rate, and the fresh writes' p50 / max delay.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from typing import Any

from google.protobuf import wrappers_pb2

from guildhall_kit.bus import BusConfig, Producer, Registry, TopicSpec, ensure_topics
from guildhall_kit.mongo import ensure_indexes, make_client, single_connection_uri
from guildhall_kit.outbox import OUTBOX_FIELD, Outbox, OutboxRelay, outbox_indexes

TOPIC = "bench.outbox.v1"
REGISTRY = Registry(
    [
        TopicSpec(
            name=TOPIC,
            owner="bench",
            event_types=("google.protobuf.StringValue",),
            partitions=6,
            retention_ms=3_600_000,
        )
    ]
)
KAFKA = os.environ.get("GUILDHALL_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092")
MONGO = os.environ.get("GUILDHALL_MONGO_URI", "mongodb://127.0.0.1:27027/")


async def _cleared(things: Any, document_id: str) -> None:
    while await things.find_one({"_id": document_id, OUTBOX_FIELD: {"$exists": True}}):  # noqa: ASYNC110 - polling the database
        await asyncio.sleep(0.05)


async def run(documents: int, fresh: int) -> None:
    unique = os.urandom(3).hex()
    config = BusConfig(bootstrap_servers=KAFKA, topic_prefix=f"bench{unique}.", client_id="bench")
    reader_client = make_client(MONGO, app_name="bench-outbox")
    writer_client = make_client(single_connection_uri(MONGO), app_name="bench-outbox-writer")
    db = reader_client[f"bench_outbox_{unique}"]
    writer_db = writer_client[db.name]
    things = db["things"]
    outbox = Outbox(REGISTRY, topic=TOPIC, source="guildhall/bench")
    await ensure_indexes(db, outbox_indexes("things"))
    await ensure_topics(config, REGISTRY)
    try:
        started = time.perf_counter()
        for first in range(0, documents, 1000):
            await things.insert_many(
                [
                    {
                        "_id": f"d{n:07d}",
                        **outbox.fields(
                            outbox.event(wrappers_pb2.StringValue(value=f"v{n}"), key=f"d{n:07d}")
                        ),
                    }
                    for n in range(first, min(documents, first + 1000))
                ]
            )
        print(
            f"outbox drain: {documents:,} documents with one pending event each "
            f"(written in {time.perf_counter() - started:.1f}s)"
        )
        async with Producer(config, registry=REGISTRY) as producer:
            relay = OutboxRelay(writer_db, ["things"], producer, poll_seconds=3600, reader=db)
            delays: list[float] = []

            async def fresh_writes() -> None:
                await asyncio.sleep(0.2)  # the drain is under way
                for n in range(fresh):
                    document_id = f"fresh{n:04d}"
                    event = outbox.event(wrappers_pb2.StringValue(value="fresh"), key=document_id)
                    written = time.perf_counter()
                    await writer_db["things"].insert_one(
                        {"_id": document_id, **outbox.fields(event)}
                    )
                    relay.hint("things", document_id)
                    asyncio.get_running_loop().create_task(_measure(document_id, written))
                    await asyncio.sleep(0.05)

            async def _measure(document_id: str, written: float) -> None:
                await _cleared(things, document_id)
                delays.append(time.perf_counter() - written)

            running = asyncio.create_task(relay.run())
            writer = asyncio.create_task(fresh_writes())
            started = time.perf_counter()
            while await relay.pending_count() > 0 or len(delays) < fresh:  # noqa: ASYNC110 - polling the database
                await asyncio.sleep(0.25)
            drained = time.perf_counter() - started
            relay.stop()
            await writer
            await running
        total = documents + fresh
        print(f"  drained {total:,} events in {drained:.2f}s: {total / drained:,.0f} events/s")
        if delays:
            print(
                f"  fresh writes during the drain (n={len(delays)}): write to published and "
                f"cleared p50 {statistics.median(delays) * 1000:.0f} ms, "
                f"max {max(delays) * 1000:.0f} ms"
            )
        print(
            f"  a one-minute outage at 50 writes/s (3,000 events) drains in about "
            f"{3000 / (total / drained):.1f}s at this rate"
        )
    finally:
        await reader_client.drop_database(db.name)
        await reader_client.close()
        await writer_client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=3_000, help="backlog documents")
    parser.add_argument("--fresh", type=int, default=20, help="writes made during the drain")
    args = parser.parse_args()
    asyncio.run(run(args.documents, args.fresh))


if __name__ == "__main__":
    main()
