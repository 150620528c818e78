"""Test support for the profile service (its integration tests and the cross-service ones).

- :class:`Harness`: dev keys, tokens, settings and an in-process profile
  service against the real Kafka and FerretDB, with a topic prefix and a
  database of its own, cleaned up afterwards;
- :func:`repository`: the repository of a running service, on its database;
- :func:`read_topic`: every event on a topic, from the beginning to the end
  offsets of the moment.

Tests that need the community service's access decision start the real one
(tests/integration/test_profile_partner_visibility.py); there is no double.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from guildhall.profile.v1 import profile_pb2_grpc
from guildhall_kit.auth import PrincipalKind, mint_token
from guildhall_kit.auth.devkeys import DevKeys, ensure_dev_keys
from guildhall_kit.bus import Event, from_kafka, load_registry
from guildhall_kit.mongo import make_client
from guildhall_kit.service import RunningService, start_service
from guildhall_kit.settings import load_settings
from guildhall_profile.adapters.repository import ProfileRepository
from guildhall_profile.app import build
from guildhall_profile.settings import ProfileSettings

WITHIN = 30.0
"""Seconds any single wait of a test may take before it fails."""


@dataclass
class Harness:
    """One test module's world: keys, a topic prefix, a database, running services."""

    kafka: str
    mongo_uri: str
    unique: str
    keys_dir: Path
    community_addr: str = "127.0.0.1:1"
    services: list[RunningService[ProfileSettings]] = field(default_factory=list)
    channels: list[grpc.aio.Channel] = field(default_factory=list)

    @property
    def keys(self) -> DevKeys:
        return ensure_dev_keys(self.keys_dir)

    @property
    def topic_prefix(self) -> str:
        return f"t{self.unique}."

    @property
    def database(self) -> str:
        return f"profile_test_{self.unique}"

    def settings(self, **overrides: Any) -> ProfileSettings:
        values: dict[str, Any] = {
            "kafka_bootstrap_servers": self.kafka,
            "mongo_uri": self.mongo_uri,
            "mongo_database": self.database,
            "topic_prefix": self.topic_prefix,
            "grpc_port": 0,
            "jwt_jwks_file": self.keys.jwks_path,
            "community_addr": self.community_addr,
            "community_deadline_seconds": 2.0,
            "drain_seconds": 0.0,
        }
        values.update(overrides)
        return load_settings(ProfileSettings, **values)

    async def start(self, **overrides: Any) -> RunningService[ProfileSettings]:
        """Start a profile service and wait until it is ready and its consumers are assigned."""
        service = await start_service(self.settings(**overrides), build)
        self.services.append(service)
        await service.app.wait_ready(WITHIN)
        await service.wait_consumers_assigned(WITHIN)
        return service

    def stub(
        self, service: RunningService[ProfileSettings]
    ) -> profile_pb2_grpc.ProfileServiceAsyncStub:
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{service.port}")
        self.channels.append(channel)
        return profile_pb2_grpc.ProfileServiceStub(channel)

    def token(
        self,
        subject: str,
        *,
        kind: PrincipalKind = PrincipalKind.EMPLOYEE,
        org_id: str = "home",
        admin: bool = False,
    ) -> tuple[tuple[str, str]]:
        """Call metadata carrying a dev token for ``subject``."""
        token = mint_token(
            self.keys.private_key_pem,
            kid=self.keys.kid,
            subject=subject,
            kind=kind,
            org_id=org_id,
            roles=["admin"] if admin else [],
        )
        return (("authorization", f"Bearer {token}"),)

    async def close(self) -> None:
        """Stop every service, drop the database, delete the topics."""
        for channel in self.channels:
            await channel.close()
        for service in self.services:
            await service.stop(drain_s=0)
            await consumers_closed(service)
        client = make_client(self.mongo_uri, app_name="profile-test-cleanup")
        await client.drop_database(self.database)
        await client.close()
        admin = AIOKafkaAdminClient(bootstrap_servers=self.kafka)
        await admin.start()
        try:
            mine = [t for t in await admin.list_topics() if t.startswith(self.topic_prefix)]
            if mine:
                await admin.delete_topics(mine)
        finally:
            await admin.close()


def repository(service: RunningService[ProfileSettings]) -> ProfileRepository:
    """A repository on the running service's database, writing as the service does."""
    return ProfileRepository(service.ctx.db, service.ctx.outbox(), writer=service.ctx.writer_db)


async def consumers_closed(service: RunningService[Any]) -> None:
    """Wait until the service's consumers have left their groups.

    ``RunningService.stop`` cancels the consumer tasks and returns while their
    (shielded) close still runs; deleting the topics before it finished makes
    the LeaveGroup request hang for the whole request timeout.
    """
    await eventually(
        lambda: all(getattr(c, "_consumer", None) is None for c in service.consumers),
        what="consumers closed",
    )


async def relay_idle(service: RunningService[Any]) -> None:
    """Wait until the service's outbox has nothing pending (everything written is published)."""
    relay = service.ctx.relay
    assert relay is not None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WITHIN
    while loop.time() < deadline:
        if await relay.pending_count() == 0:
            return
        relay.wake()
        await asyncio.sleep(0.05)
    raise AssertionError("the outbox never drained")


async def eventually(check: Callable[[], bool], *, what: str, within: float = WITHIN) -> None:
    """Poll ``check`` (state with no event to wait on) until it holds.

    Raises:
        AssertionError: naming ``what``, when it does not hold within ``within`` seconds.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not within {within}s: {what}")


async def read_topic(kafka: str, topic: str) -> list[Event]:
    """Every event now on physical ``topic`` (all partitions), in per-partition order.

    The partition count comes from the topic registry (the logical name is the
    part after the test's prefix).
    """
    logical = next(spec for spec in load_registry() if topic.endswith(spec.name))
    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(logical.partitions)]
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        await consumer.seek_to_beginning(*tps)
        events: list[Event] = []
        async with asyncio.timeout(WITHIN):
            for tp in tps:
                while await consumer.position(tp) < ends[tp]:
                    batch = await consumer.getmany(tp, timeout_ms=200)
                    events += [from_kafka(r.key, r.value, r.headers) for r in batch.get(tp, [])]
        return events
    finally:
        await consumer.stop()


async def wait_for_events(
    kafka: str, topic: str, predicate: Any, count: int, within: float = WITHIN
) -> list[Event]:
    """Poll ``topic`` until ``count`` events satisfy ``predicate``; return those events."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        matching = [e for e in await read_topic(kafka, topic) if predicate(e)]
        if len(matching) >= count or asyncio.get_running_loop().time() > deadline:
            return matching
        await asyncio.sleep(0.2)


def ids(events: Sequence[Event]) -> list[tuple[str, str | None]]:
    """(short type, subject) of each event, for compact assertions."""
    return [(e.type.rsplit(".", 1)[-1], e.subject) for e in events]
