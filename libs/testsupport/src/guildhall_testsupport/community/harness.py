"""A real community service for integration tests and benchmarks.

:class:`CommunityHarness` boots the service in-process exactly as
``python -m guildhall_community`` does (``start_service`` with the service's
``build``), against the real Kafka broker and MongoDB-protocol server, with
its own database and topic prefix so runs never see each other. It mints
tokens for test people, publishes the profile events the service consumes,
reads back what the service published, and restarts the service in place.

Nothing here is mocked: calls go through gRPC, the interceptor, the outbox
relay and Kafka.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from google.protobuf.message import Message

from guildhall.community.v1 import community_pb2 as pb
from guildhall.community.v1 import community_pb2_grpc
from guildhall.profile.v1 import events_pb2 as pev
from guildhall.profile.v1 import profile_pb2 as ppb
from guildhall_community.adapters.repository import OUTBOX_COLLECTIONS
from guildhall_community.app import build
from guildhall_community.settings import CommunitySettings
from guildhall_kit.auth import PrincipalKind, mint_token
from guildhall_kit.auth.devkeys import DevKeys, ensure_dev_keys
from guildhall_kit.bus import BusConfig, Event, Producer, from_kafka, load_registry, source_for
from guildhall_kit.mongo import make_client
from guildhall_kit.service import RunningService, start_service
from guildhall_kit.settings import load_settings

COMMUNITY_TOPIC = "guildhall.community.v1"
PROFILE_TOPIC = "guildhall.profile.v1"
HOME_ORG = "home"


@dataclass(frozen=True)
class Person:
    """Who calls: an employee (maybe a home admin), a partner user, or a service."""

    subject: str
    kind: PrincipalKind = PrincipalKind.EMPLOYEE
    org_id: str = HOME_ORG
    admin: bool = False

    @property
    def principal(self) -> pb.Principal:
        """This person as the principal of a CheckAccess or ListSpaces request."""
        return pb.Principal(
            person_id=self.subject,
            org_id=self.org_id,
            kind=(
                pb.PRINCIPAL_KIND_PARTNER_USER
                if self.kind is PrincipalKind.PARTNER
                else pb.PRINCIPAL_KIND_EMPLOYEE
            ),
            home_admin=self.admin,
        )


def employee(subject: str, *, admin: bool = False) -> Person:
    return Person(subject, PrincipalKind.EMPLOYEE, HOME_ORG, admin)


def partner(subject: str, org_id: str) -> Person:
    return Person(subject, PrincipalKind.PARTNER, org_id)


SERVICE = Person("post", PrincipalKind.SERVICE, HOME_ORG)
"""Another Guildhall service asking on behalf of someone."""


@dataclass
class CommunityHarness:
    """One running community service with its own database and topics."""

    settings: CommunitySettings
    keys: DevKeys
    running: RunningService[CommunitySettings]
    channel: grpc.aio.Channel
    stub: community_pb2_grpc.CommunityServiceAsyncStub
    _tokens: dict[Person, str] = field(default_factory=dict)

    @classmethod
    async def start(
        cls,
        *,
        kafka: str,
        mongo: str,
        keys_dir: Path,
        name: str = "test",
        **overrides: Any,
    ) -> CommunityHarness:
        """Boot a service; waits until it is ready and its consumers have partitions."""
        unique = secrets.token_hex(4)
        keys = ensure_dev_keys(keys_dir)
        values: dict[str, Any] = {
            "kafka_bootstrap_servers": kafka,
            "mongo_uri": mongo,
            "mongo_database": f"community_{name}_{unique}",
            "topic_prefix": f"t{unique}.",
            "grpc_port": 0,
            "jwt_jwks_file": keys.jwks_path,
            "drain_seconds": 0,
            **overrides,
        }
        settings = load_settings(CommunitySettings, **values)
        running, channel, stub = await _boot(settings)
        return cls(settings, keys, running, channel, stub)

    # ------------------------------------------------------------------ calls

    def token(self, who: Person) -> str:
        if who not in self._tokens:
            self._tokens[who] = mint_token(
                self.keys.private_key_pem,
                kid=self.keys.kid,
                subject=who.subject,
                kind=who.kind,
                org_id=who.org_id,
                roles=["admin"] if who.admin else [],
            )
        return self._tokens[who]

    def auth(self, who: Person) -> tuple[tuple[str, str], ...]:
        """Call metadata that authenticates as ``who``."""
        return (("authorization", f"Bearer {self.token(who)}"),)

    async def check(self, who: Person, space_id: str, action: pb.Action.ValueType) -> bool:
        """CheckAccess for ``who``, asked by ``who`` themself."""
        reply = await self.stub.CheckAccess(
            pb.CheckAccessRequest(principal=who.principal, space_id=space_id, action=action),
            metadata=self.auth(who),
            timeout=10,
        )
        return reply.allowed

    # ---------------------------------------------------------- profile facts

    async def publish_profile(self, *events: tuple[Message, str]) -> None:
        """Publish profile events (message, key) as the profile service would."""
        config = BusConfig.from_settings(self.settings, client_id="test-profile")
        async with Producer(config, registry=load_registry()) as producer:
            for message, key in events:
                event = Event.from_message(message, source=source_for("profile"), key=key)
                await producer.publish(PROFILE_TOPIC, event)

    async def register_people(self, people: Iterable[Person]) -> None:
        """Publish PersonJoined for each person and wait until the service knows them all."""
        people = [p for p in people if p.kind is not PrincipalKind.SERVICE]
        messages = [
            (
                pev.PersonJoined(
                    person=ppb.Person(
                        person_id=p.subject,
                        org_id=p.org_id,
                        kind=(
                            ppb.PERSON_KIND_PARTNER_USER
                            if p.kind is PrincipalKind.PARTNER
                            else ppb.PERSON_KIND_EMPLOYEE
                        ),
                        display_name=p.subject,
                    )
                ),
                p.subject,
            )
            for p in people
        ]
        await self.publish_profile(*messages)
        people_coll = self.running.ctx.db["people"]
        wanted = {p.subject for p in people}

        async def known() -> bool:
            found = await people_coll.count_documents({"_id": {"$in": sorted(wanted)}})
            return found == len(wanted)

        await wait_until(known, within=30, what="the service to learn the people")

    async def register_orgs(self, *org_ids: str) -> None:
        """Publish OrgRegistered (vendors) and wait until the service knows them."""
        await self.publish_profile(
            *(
                (
                    pev.OrgRegistered(
                        org=ppb.Org(
                            org_id=o,
                            kind=ppb.ORG_KIND_VENDOR,
                            display_name=o,
                            state=ppb.ORG_STATE_ACTIVE,
                            version=1,
                        ),
                        actor_id="admin",
                    ),
                    o,
                )
                for o in org_ids
            )
        )
        orgs = self.running.ctx.db["orgs"]

        async def known() -> bool:
            return await orgs.count_documents({"_id": {"$in": list(org_ids)}}) == len(org_ids)

        await wait_until(known, within=30, what="the service to learn the orgs")

    async def suspend_org(self, org_id: str, version: int = 2) -> None:
        """Publish OrgSuspended and wait until the service has applied it."""
        await self.publish_profile(
            (pev.OrgSuspended(org_id=org_id, actor_id="admin", version=version), org_id)
        )
        orgs = self.running.ctx.db["orgs"]

        async def applied() -> bool:
            doc = await orgs.find_one({"_id": org_id})
            return doc is not None and bool(doc.get("suspended"))

        await wait_until(applied, within=30, what=f"the suspension of {org_id}")

    # ------------------------------------------------------------ own events

    async def wait_outbox_drained(self, within: float = 30) -> None:
        """Wait until the relay has published every pending event (no outbox left)."""
        db = self.running.ctx.db

        async def drained() -> bool:
            for name in OUTBOX_COLLECTIONS:
                if await db[name].count_documents({"_outbox_since": {"$exists": True}}):
                    return False
            return True

        await wait_until(drained, within=within, what="the outbox relay to drain")

    async def published(self) -> list[Event]:
        """Every event now on the service's topic, in partition then offset order."""
        topic = self.settings.topic(COMMUNITY_TOPIC)
        partitions = load_registry().get(COMMUNITY_TOPIC).partitions
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap_servers,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        try:
            tps = [TopicPartition(topic, p) for p in range(partitions)]
            consumer.assign(tps)
            ends = await consumer.end_offsets(tps)
            records: list[Any] = []
            async with asyncio.timeout(30):
                for tp in tps:
                    await consumer.seek_to_beginning(tp)
                    while await consumer.position(tp) < ends[tp]:
                        batch = await consumer.getmany(tp, timeout_ms=200)
                        records.extend(batch.get(tp, []))
            return [from_kafka(r.key, r.value, r.headers) for r in records]
        finally:
            await consumer.stop()

    async def wait_published(
        self, done: Callable[[list[Event]], bool], *, within: float = 30
    ) -> list[Event]:
        """Poll the topic until ``done(events)``; the events then. Raises TimeoutError."""
        deadline = time.monotonic() + within
        while True:
            events = await self.published()
            if done(events):
                return events
            if time.monotonic() > deadline:
                raise TimeoutError(f"expected events not published within {within}s: {events!r}")
            await asyncio.sleep(0.2)

    # ---------------------------------------------------------------- life cycle

    async def restart(self) -> None:
        """Stop the service (as on SIGTERM) and start it again on the same database and topics."""
        await self.channel.close()
        await self.running.stop(drain_s=0)
        self.running, self.channel, self.stub = await _boot(self.settings)

    async def stop(self, *, drop: bool = True) -> None:
        """Stop the service; with ``drop``, delete its database and topics."""
        await self.channel.close()
        await self.running.stop(drain_s=0)
        if not drop:
            return
        client = make_client(self.settings.mongo_uri, app_name="community-test-cleanup")
        try:
            await client.drop_database(self.settings.database_name)
        finally:
            await client.close()
        admin = AIOKafkaAdminClient(bootstrap_servers=self.settings.kafka_bootstrap_servers)
        await admin.start()
        try:
            mine = [
                t for t in await admin.list_topics() if t.startswith(self.settings.topic_prefix)
            ]
            if mine:
                await admin.delete_topics(mine)
        finally:
            await admin.close()


async def _boot(
    settings: CommunitySettings,
) -> tuple[
    RunningService[CommunitySettings],
    grpc.aio.Channel,
    community_pb2_grpc.CommunityServiceAsyncStub,
]:
    running = await start_service(settings, build)
    await running.app.wait_ready(60)
    await running.wait_consumers_assigned(60)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{running.port}")
    return running, channel, community_pb2_grpc.CommunityServiceStub(channel)


async def wait_until(
    condition: Callable[[], Any], *, within: float, what: str, every: float = 0.1
) -> None:
    """Poll the async ``condition`` until it is true. Raises TimeoutError naming ``what``."""
    deadline = time.monotonic() + within
    while not await condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(every)


async def gather_limited(calls: Sequence[Callable[[], Any]], limit: int = 64) -> list[Any]:
    """Run the async ``calls`` concurrently, at most ``limit`` at a time; results in order."""
    gate = asyncio.Semaphore(limit)

    async def one(call: Callable[[], Any]) -> Any:
        async with gate:
            return await call()

    return list(await asyncio.gather(*(one(c) for c in calls)))
