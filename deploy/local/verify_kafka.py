"""Round trip of the pinned aiokafka against a running broker: the compatibility gate.

Run it (``make infra-verify``) after bumping the Kafka pin in
deploy/local/kafka/pom.xml or aiokafka in requirements/constraints.txt. It
exercises exactly the client features Guildhall relies on, each as a named
step, and exits 1 if any step fails:

- admin: create topics (several partitions, per-topic config), list and
  describe them, describe the cluster, delete them;
- producer: ``acks=all`` with ``enable_idempotence=True``, keyed records with
  CloudEvents binary-mode headers;
- consumer: a consumer group with auto-commit off, explicit commit of
  offset+1 after "processing", the committed offsets read back, a second
  member of the same group resuming after them, end offsets (consumer lag);
- admin: list and describe consumer groups.

The topics and group carry a random suffix and are deleted afterwards, so it
is safe against a broker that tests or services are using.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

RECORDS = 30
PARTITIONS = 3


class Report:
    """Collects named steps and their outcome, printing each as it ends."""

    def __init__(self) -> None:
        self.failures: list[str] = []

    async def step(self, name: str, action: Callable[[], Awaitable[str]]) -> bool:
        """Run one step; print OK with its detail or FAIL with the error. Never raises."""
        started = time.monotonic()
        try:
            detail = await asyncio.wait_for(action(), timeout=60)
        except Exception as exc:  # noqa: BLE001 - each failure is reported, then the next step runs
            self.failures.append(name)
            print(f"  FAIL {name}: {type(exc).__name__}: {exc}", flush=True)
            return False
        elapsed = time.monotonic() - started
        print(f"  ok   {name} ({elapsed:.2f}s){': ' + detail if detail else ''}", flush=True)
        return True


class RoundTrip:
    """The steps of one round trip, sharing a topic, a group and the clients."""

    def __init__(self, bootstrap: str) -> None:
        suffix = uuid.uuid4().hex[:8]
        self.bootstrap = bootstrap
        self.topic = f"guildhall-verify-{suffix}"
        self.dead_letter = f"{self.topic}-dlq"
        self.group = f"guildhall-verify-{suffix}"
        self.admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
        self.producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5
        )
        self.consumer = self.new_consumer()
        self.sent: dict[int, list[int]] = {}
        self.committed: dict[TopicPartition, int] = {}

    def new_consumer(self) -> AIOKafkaConsumer:
        """A member of the verification group: auto-commit off, as every service consumer."""
        return AIOKafkaConsumer(
            self.topic,
            bootstrap_servers=self.bootstrap,
            group_id=self.group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            session_timeout_ms=10000,
            heartbeat_interval_ms=1000,
        )

    async def start_admin(self) -> str:
        await self.admin.start()
        return ""

    async def describe_cluster(self) -> str:
        cluster: dict[str, Any] = await self.admin.describe_cluster()
        return f"cluster {cluster.get('cluster_id')}, controller {cluster.get('controller_id')}"

    async def create_topics(self) -> str:
        await self.admin.create_topics(
            [
                NewTopic(
                    self.topic,
                    num_partitions=PARTITIONS,
                    replication_factor=1,
                    topic_configs={"retention.ms": "3600000", "min.insync.replicas": "1"},
                ),
                NewTopic(self.dead_letter, num_partitions=1, replication_factor=1),
            ]
        )
        for _ in range(50):
            if {self.topic, self.dead_letter} <= set(await self.admin.list_topics()):
                return f"{self.topic} ({PARTITIONS} partitions), {self.dead_letter}"
            await asyncio.sleep(0.1)
        raise RuntimeError("created topics do not show up in list_topics")

    async def describe_topics(self) -> str:
        described: list[dict[str, Any]] = await self.admin.describe_topics([self.topic])
        partitions = described[0]["partitions"]
        if len(partitions) != PARTITIONS:
            raise RuntimeError(f"expected {PARTITIONS} partitions, got {described}")
        return f"{len(partitions)} partitions, leaders {[p['leader'] for p in partitions]}"

    async def produce(self) -> str:
        await self.producer.start()
        for i in range(RECORDS):
            headers = [
                ("ce_id", str(uuid.uuid4()).encode()),
                ("ce_type", b"guildhall.verify.v1.Checked"),
                ("ce_source", b"/guildhall/verify"),
                ("ce_specversion", b"1.0"),
                ("traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
            ]
            meta = await self.producer.send_and_wait(
                self.topic, value=b"%d" % i, key=f"aggregate-{i % 7}".encode(), headers=headers
            )
            self.sent.setdefault(meta.partition, []).append(meta.offset)
        await self.producer.send_and_wait(self.dead_letter, value=b"poison", key=b"aggregate-0")
        # Evidence that the broker granted idempotence (InitProducerId), not just
        # that the client asked for it. A private attribute: read defensively.
        txn_manager = getattr(self.producer, "_txn_manager", None)
        producer_id = getattr(txn_manager, "producer_id", "unknown")
        return (
            f"{RECORDS} records acked by all in-sync replicas, partitions {sorted(self.sent)}, "
            f"producer id {producer_id}"
        )

    async def consume_and_commit(self) -> str:
        await self.consumer.start()
        seen = 0
        headers_ok = True
        while seen < RECORDS:
            batches = await self.consumer.getmany(timeout_ms=1000)
            for tp, records in batches.items():
                for record in records:
                    names = {name for name, _ in record.headers}
                    headers_ok = headers_ok and {"ce_id", "ce_type", "traceparent"} <= names
                    seen += 1
                # "Processing" done: commit offset+1 of the last record of this partition.
                self.committed[tp] = records[-1].offset + 1
                await self.consumer.commit({tp: self.committed[tp]})
        if not headers_ok:
            raise RuntimeError("CloudEvents headers did not survive the round trip")
        for tp, offset in self.committed.items():
            read_back = await self.consumer.committed(tp)
            if read_back != offset:
                raise RuntimeError(f"committed {offset} on {tp}, broker has {read_back}")
        await self.consumer.stop()
        return (
            f"{seen} records, headers intact, commits read back {sorted(self.committed.values())}"
        )

    async def resume_in_group(self) -> str:
        second = self.new_consumer()
        await second.start()
        try:
            batches = await second.getmany(timeout_ms=3000)
            replayed = sum(len(records) for records in batches.values())
            if replayed:
                raise RuntimeError(f"{replayed} records redelivered after their offsets committed")
            partitions = list(second.assignment())
            ends = await second.end_offsets(partitions)
            lag = {tp.partition: ends[tp] - await second.position(tp) for tp in partitions}
            return f"nothing redelivered, lag per partition {dict(sorted(lag.items()))}"
        finally:
            await second.stop()

    async def describe_groups(self) -> str:
        groups: list[tuple[str, str]] = await self.admin.list_consumer_groups()
        if self.group not in {name for name, *_ in groups}:
            raise RuntimeError(f"{self.group} not listed in {groups}")
        described = await self.admin.describe_consumer_groups([self.group])
        return f"listed and described ({type(described[0]).__name__})"

    async def delete_topics(self) -> str:
        await self.admin.delete_topics([self.topic, self.dead_letter])
        return ""

    async def close(self) -> None:
        """Stop every client; errors are swallowed so they never mask a step's failure."""
        for close in (self.producer.stop, self.consumer.stop, self.admin.close):
            with contextlib.suppress(Exception):
                await close()


async def verify(bootstrap: str) -> list[str]:
    """Run every step against ``bootstrap``; return the names of the failed steps."""
    import aiokafka

    trip = RoundTrip(bootstrap)
    print(f"aiokafka {aiokafka.__version__} -> {bootstrap} (topic {trip.topic})", flush=True)
    report = Report()
    try:
        await report.step("admin client: start", trip.start_admin)
        await report.step("admin: describe_cluster", trip.describe_cluster)
        await report.step("admin: create_topics", trip.create_topics)
        await report.step("admin: describe_topics", trip.describe_topics)
        await report.step("producer: acks=all, idempotent, keyed, headers", trip.produce)
        await report.step("consumer: group, manual commit of offset+1", trip.consume_and_commit)
        await report.step("consumer: same group resumes after commits", trip.resume_in_group)
        await report.step("admin: list/describe consumer groups", trip.describe_groups)
        await report.step("admin: delete_topics", trip.delete_topics)
    finally:
        await trip.close()
    return report.failures


def main() -> int:
    """Entry point; 0 if every step passed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--bootstrap",
        default=os.environ.get(
            "GUILDHALL_KAFKA_BOOTSTRAP_SERVERS",
            f"127.0.0.1:{os.environ.get('GUILDHALL_KAFKA_PORT', '19092')}",
        ),
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="    %(name)s %(levelname)s %(message)s")
    failures = asyncio.run(verify(args.bootstrap))
    if failures:
        print(f"{len(failures)} step(s) failed: {', '.join(failures)}", flush=True)
        return 1
    print("all steps passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
