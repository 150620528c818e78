"""Subprocess entry point for the outbox kill tests (run by test_outbox_relay.py).

Modes, each printing one line on stdout when it reaches its point:

- ``write``: insert one document with its state and one pending event in one
  write, print ``WRITTEN <event id>``, then hang without publishing (the test
  SIGKILLs it: a crash between the database write and the publish);
- ``stall-before-clear``: run the relay, which publishes the pending events and
  then, instead of clearing them, prints ``PUBLISHED <ids>`` and hangs (the
  test SIGKILLs it: a crash after the publish, before the clear);
- ``relay``: run the relay as a service would until no event is pending, print
  ``DRAINED <count>``, stop cleanly.

Configuration comes from the same GUILDHALL_* variables services use, plus the
arguments below.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from typing import Any

from google.protobuf import wrappers_pb2

from guildhall_kit.bus.config import BusConfig
from guildhall_kit.bus.producer import Producer
from guildhall_kit.bus.registry import Registry, TopicSpec
from guildhall_kit.mongo import make_client
from guildhall_kit.outbox import Outbox, OutboxRelay

TOPIC = "test.outbox.v1"
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


def say(line: str) -> None:
    print(line, flush=True)


class StallBeforeClear(OutboxRelay):
    """A relay that dies (hangs, then is killed) right after publishing."""

    async def _clear(self, collection: str, cleared: Sequence[tuple[Any, list[Any], bool]]) -> None:
        say("PUBLISHED " + ",".join(str(e["id"]) for _, entries, _ in cleared for e in entries))
        await asyncio.Event().wait()


async def main(args: argparse.Namespace) -> None:
    client = make_client(os.environ["GUILDHALL_MONGO_URI"], app_name="outbox-proc")
    db = client[args.database]
    config = BusConfig(
        bootstrap_servers=os.environ["GUILDHALL_KAFKA_BOOTSTRAP_SERVERS"],
        topic_prefix=os.environ["GUILDHALL_TOPIC_PREFIX"],
        client_id="outbox-proc",
        publish_timeout_seconds=10,
    )
    if args.mode == "write":
        outbox = Outbox(REGISTRY, topic=TOPIC, source="guildhall/test")
        event = outbox.event(wrappers_pb2.StringValue(value=args.text), key=args.document_id)
        await db[args.collection].insert_one(
            {"_id": args.document_id, "text": args.text, **outbox.fields(event)}
        )
        say(f"WRITTEN {event.id}")
        await asyncio.Event().wait()
        return

    relay_cls = StallBeforeClear if args.mode == "stall-before-clear" else OutboxRelay
    async with Producer(config, registry=REGISTRY) as producer:
        relay = relay_cls(db, [args.collection], producer, poll_seconds=0.2)
        task = asyncio.create_task(relay.run())
        async with asyncio.timeout(60):
            while await relay.pending_count():  # noqa: ASYNC110 - polls the database
                await asyncio.sleep(0.05)
        relay.stop()
        await task
        say("DRAINED")
    await client.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["write", "stall-before-clear", "relay"])
    parser.add_argument("--database", required=True)
    parser.add_argument("--collection", default="things")
    parser.add_argument("--document-id", default="thing-1")
    parser.add_argument("--text", default="created")
    asyncio.run(main(parser.parse_args()))
    sys.exit(0)
