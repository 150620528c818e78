"""An in-process post service for integration tests and benchmarks.

:class:`PostHarness` boots the service exactly as ``python -m guildhall_post``
does (``start_service`` with the service's ``build``), against the real Kafka
broker and MongoDB-protocol server, with its own database and topic prefix.

The community side: the harness publishes the community and profile events the
post service consumes (as the community and profile services would) and serves
``CheckAccess`` / ``ListSpaces`` from :class:`CommunityDouble`, a small gRPC
server that applies the partner rules of docs/access-model.md (rule 11) to the
same state the events describe. The double stands in for the community service
until its implementation serves; it is driven only through the contract, so
the post service cannot tell the two apart. Revoking a grant updates the double
at once (as the real service's exact decision does) and publishes the event
(which the read model sees after the consumer lag).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from guildhall.community.v1 import community_pb2 as cpb
from guildhall.community.v1 import community_pb2_grpc
from guildhall.community.v1 import events_pb2 as cev
from guildhall.post.v1 import post_pb2_grpc
from guildhall.profile.v1 import events_pb2 as pev
from guildhall.profile.v1 import profile_pb2 as ppb
from guildhall_kit.auth import PrincipalKind, mint_token
from guildhall_kit.auth.devkeys import DevKeys, ensure_dev_keys
from guildhall_kit.bus import BusConfig, Event, Producer, from_kafka, load_registry, source_for
from guildhall_kit.clock import new_id
from guildhall_kit.mongo import make_client
from guildhall_kit.service import RunningService, start_service
from guildhall_kit.settings import load_settings
from guildhall_post.adapters.search import assign_all
from guildhall_post.app import build, content_of
from guildhall_post.domain.content import normalise_tags
from guildhall_post.domain.posts import PostType, new_post
from guildhall_post.settings import PostSettings

COMMUNITY_TOPIC = "guildhall.community.v1"
PROFILE_TOPIC = "guildhall.profile.v1"
POST_TOPIC = "guildhall.post.v1"
HOME = "home"

_VISIBILITY = {
    "open": cpb.COMMUNITY_VISIBILITY_OPEN,
    "private": cpb.COMMUNITY_VISIBILITY_PRIVATE,
    "secret": cpb.COMMUNITY_VISIBILITY_SECRET,
}
_ROLE = {"member": cpb.ROLE_MEMBER, "moderator": cpb.ROLE_MODERATOR, "owner": cpb.ROLE_OWNER}
_LEVEL = {"viewer": cpb.GRANT_LEVEL_VIEWER, "contributor": cpb.GRANT_LEVEL_CONTRIBUTOR}
_LEVEL_ACTIONS: dict[str, list[Any]] = {
    "viewer": [cpb.ACTION_READ],
    "contributor": [cpb.ACTION_READ, cpb.ACTION_POST, cpb.ACTION_COMMENT],
}


def _now() -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(datetime.now(UTC))
    return ts


@dataclass
class _Pinhole:
    community_id: str
    state: str = "proposed"
    grants: dict[str, str] = field(default_factory=dict)
    version: int = 1


class CommunityDouble(community_pb2_grpc.CommunityServiceServicer):
    """CheckAccess and ListSpaces for partner users, from the harness's pinhole state.

    Employees are never asked by the post service (it decides them from its read
    model); asking about one answers ``allowed=false``. ``delay_s`` slows every
    answer (deadline tests); ``fail`` makes every call UNAVAILABLE.
    """

    def __init__(self) -> None:
        self.pinholes: dict[str, _Pinhole] = {}
        self.calls = 0
        self.delay_s = 0.0
        self.fail = False

    def _actions(self, principal: cpb.Principal, space_id: str) -> list[Any]:
        pinhole = self.pinholes.get(space_id)
        if principal.kind != cpb.PRINCIPAL_KIND_PARTNER_USER or pinhole is None:
            return []
        if pinhole.state != "open":
            return []
        level = pinhole.grants.get(principal.org_id)
        return _LEVEL_ACTIONS[level] if level else []

    async def _gate(self, context: Any) -> None:
        self.calls += 1
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.fail:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "double told to fail")

    async def CheckAccess(
        self, request: cpb.CheckAccessRequest, context: Any
    ) -> cpb.CheckAccessResponse:
        await self._gate(context)
        allowed = request.action in self._actions(request.principal, request.space_id)
        return cpb.CheckAccessResponse(allowed=allowed)

    async def ListSpaces(
        self, request: cpb.ListSpacesRequest, context: Any
    ) -> cpb.ListSpacesResponse:
        await self._gate(context)
        out = []
        for space_id in sorted(self.pinholes):
            actions = self._actions(request.principal, space_id)
            if request.action in actions:
                out.append(
                    cpb.SpaceAccess(
                        space=cpb.Space(
                            space_id=space_id,
                            kind=cpb.SPACE_KIND_PINHOLE,
                            community_id=self.pinholes[space_id].community_id,
                        ),
                        allowed_actions=actions,
                    )
                )
        return cpb.ListSpacesResponse(spaces=out)


@dataclass(frozen=True)
class SeedPost:
    """A post for :meth:`PostHarness.seed_posts`: what a CreatePost request would carry."""

    space_id: str
    author_id: str
    at: datetime
    """Its creation time (its id is minted from it, so it decides its place in feeds)."""
    post_type: PostType = PostType.DISCUSSION
    title: str = "Seeded"
    body: str = "Seeded body"
    tags: tuple[str, ...] = ()


@dataclass
class PostHarness:
    """A running post service, its community double, and helpers to drive both."""

    service: RunningService[PostSettings]
    settings: PostSettings
    keys: DevKeys
    producer: Producer
    bus: BusConfig
    double: CommunityDouble
    double_server: grpc.aio.Server
    channel: grpc.aio.Channel
    stub: post_pb2_grpc.PostServiceAsyncStub
    _versions: dict[str, int] = field(default_factory=dict)

    # ------------------------------------------------------------------ people

    def auth(
        self, person: str, *, partner_org: str | None = None, admin: bool = False
    ) -> tuple[tuple[str, str], ...]:
        """Call metadata for an employee (or a home admin), or a partner user of ``partner_org``."""
        token = mint_token(
            self.keys.private_key_pem,
            kid=self.keys.kid,
            subject=person,
            kind=PrincipalKind.PARTNER if partner_org else PrincipalKind.EMPLOYEE,
            org_id=partner_org or HOME,
            roles=["admin"] if admin else [],
        )
        return (("authorization", f"Bearer {token}"),)

    # ------------------------------------------------------------------ content

    async def seed_posts(self, posts: Sequence[SeedPost]) -> list[str]:
        """Store ``posts`` in bulk, as CreatePost leaves them once its events are published:
        the same documents, through the service's own store. No event
        is published (the search index and other services never see them). Their ids, in
        order.
        """
        made = []
        for p in posts:
            at = p.at.replace(microsecond=p.at.microsecond // 1000 * 1000)  # what BSON keeps
            made.append(
                new_post(
                    post_id=new_id(at),
                    space_id=p.space_id,
                    post_type=p.post_type,
                    title=p.title,
                    body=p.body,
                    tags=normalise_tags(p.tags),
                    mentions=(),
                    quoted_post_id="",
                    author_id=p.author_id,
                    pinned=False,
                    summary="",
                    at=at,
                )
            )
        await content_of(self.service).seed(made)
        return [p.post_id for p in made]

    # ------------------------------------------------------------------ events

    async def _publish(self, topic: str, message: Message, key: str) -> None:
        event = Event.from_message(message, source=source_for(topic.split(".")[1]), key=key)
        await self.producer.publish(topic, event)

    def _next(self, aggregate: str) -> int:
        self._versions[aggregate] = self._versions.get(aggregate, 0) + 1
        return self._versions[aggregate]

    async def community(
        self,
        community_id: str,
        *,
        owner: str,
        visibility: str = "open",
        members: dict[str, str] | None = None,
        archived: bool = False,
    ) -> None:
        """Publish a community (created, then its members) as the community service would."""
        community = cpb.Community(
            community_id=community_id,
            main_space_id=community_id,
            name=community_id,
            visibility=_VISIBILITY[visibility],
            state=cpb.COMMUNITY_STATE_ACTIVE,
            version=self._next(community_id),
        )
        await self._publish(
            COMMUNITY_TOPIC,
            cev.CommunityCreated(community=community, owner_id=owner),
            community_id,
        )
        self._versions.setdefault(f"{community_id}:{owner}", 1)
        for person, role in (members or {}).items():
            await self._publish(
                COMMUNITY_TOPIC,
                cev.MemberJoined(
                    community_id=community_id,
                    person_id=person,
                    role=_ROLE[role],
                    joined_at=_now(),
                    membership_version=self._next(f"{community_id}:{person}"),
                ),
                community_id,
            )
        if archived:
            community.state = cpb.COMMUNITY_STATE_ARCHIVED
            community.version = self._next(community_id)
            await self._publish(
                COMMUNITY_TOPIC,
                cev.CommunityUpdated(community=community, changed_fields=["state"]),
                community_id,
            )

    async def membership_event(
        self, community_id: str, person: str, role: str | None, membership_version: int
    ) -> None:
        """Publish one membership event with an explicit version (out-of-order tests)."""
        message: Message
        if role is None:
            message = cev.MemberLeft(
                community_id=community_id,
                person_id=person,
                left_at=_now(),
                membership_version=membership_version,
            )
        else:
            message = cev.MemberJoined(
                community_id=community_id,
                person_id=person,
                role=_ROLE[role],
                joined_at=_now(),
                membership_version=membership_version,
            )
        await self._publish(COMMUNITY_TOPIC, message, community_id)

    async def leave(self, community_id: str, person: str) -> None:
        await self._publish(
            COMMUNITY_TOPIC,
            cev.MemberLeft(
                community_id=community_id,
                person_id=person,
                left_at=_now(),
                membership_version=self._next(f"{community_id}:{person}"),
            ),
            community_id,
        )

    async def pinhole(
        self, pinhole_id: str, community_id: str, *, grants: dict[str, str] | None = None
    ) -> None:
        """Publish a pinhole proposed, then opened with ``grants`` (org -> viewer/contributor)."""
        grants = dict(grants or {})
        self.double.pinholes[pinhole_id] = _Pinhole(community_id)
        await self._publish(
            COMMUNITY_TOPIC,
            cev.PinholeProposed(
                pinhole=cpb.Pinhole(
                    pinhole_id=pinhole_id,
                    community_id=community_id,
                    title=pinhole_id,
                    state=cpb.PINHOLE_STATE_PROPOSED,
                    version=self._next(pinhole_id),
                )
            ),
            pinhole_id,
        )
        await self._publish(
            COMMUNITY_TOPIC,
            cev.PinholeOpened(
                pinhole_id=pinhole_id,
                community_id=community_id,
                opened_at=_now(),
                grants=[cpb.PinholeGrant(org_id=o, level=_LEVEL[lvl]) for o, lvl in grants.items()],
                version=self._next(pinhole_id),
            ),
            pinhole_id,
        )
        state = self.double.pinholes[pinhole_id]
        state.state, state.grants = "open", grants

    async def revoke(self, pinhole_id: str, org_id: str) -> None:
        """Revoke a grant: the exact decision changes now, the event follows."""
        state = self.double.pinholes[pinhole_id]
        state.grants.pop(org_id, None)
        await self._publish(
            COMMUNITY_TOPIC,
            cev.PinholeRevoked(
                pinhole_id=pinhole_id,
                community_id=state.community_id,
                org_id=org_id,
                revoked_at=_now(),
                version=self._next(pinhole_id),
            ),
            pinhole_id,
        )

    async def person(self, person_id: str, *, partner_org: str | None = None) -> None:
        kind = ppb.PERSON_KIND_PARTNER_USER if partner_org else ppb.PERSON_KIND_EMPLOYEE
        await self._publish(
            PROFILE_TOPIC,
            pev.PersonJoined(
                person=ppb.Person(person_id=person_id, kind=kind, org_id=partner_org or HOME)
            ),
            person_id,
        )

    async def expertise(self, person_id: str, tags: Sequence[str]) -> None:
        await self._publish(
            PROFILE_TOPIC,
            pev.ExpertiseDeclared(person_id=person_id, tags=sorted(tags)),
            person_id,
        )

    async def settle(self, check: Callable[[Any], Any], within: float = 30.0) -> None:
        """Wait until ``check(db)`` (an awaitable predicate over the service's database) holds."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if await check(self.service.ctx.db):
                return
            await asyncio.sleep(0.05)
        raise TimeoutError("the post service's read model did not catch up")

    async def known(
        self,
        *,
        communities: Sequence[str] = (),
        pinholes: Sequence[str] = (),
        members: Sequence[tuple[str, str]] = (),
        people: Sequence[str] = (),
        expertise: Sequence[str] = (),
        gone_members: Sequence[tuple[str, str]] = (),
    ) -> None:
        """Wait until the read model holds these (pinholes: open; members: community, person)."""

        wanted: list[tuple[str, dict[str, Any], bool]] = [
            *(("rm_communities", {"_id": c}, True) for c in communities),
            *(("rm_pinholes", {"_id": p, "state": "open"}, True) for p in pinholes),
            *(
                ("rm_memberships", {"_id": f"{c}:{p}", "role": {"$ne": ""}}, True)
                for c, p in members
            ),
            *(
                ("rm_memberships", {"_id": f"{c}:{p}", "role": {"$ne": ""}}, False)
                for c, p in gone_members
            ),
            *(("rm_people", {"_id": p}, True) for p in people),
            *(("rm_expertise", {"_id": p}, True) for p in expertise),
        ]

        async def check(db: Any) -> bool:
            for collection, query, present in wanted:
                if (await db[collection].find_one(query) is not None) != present:
                    return False
            return True

        await self.settle(check)

    async def post_events(self, *, min_count: int = 0, within: float = 15.0) -> list[Event]:
        """Every event on this harness's post topic so far (waiting for at least ``min_count``)."""
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bus.bootstrap_servers,
            enable_auto_commit=False,
            group_id=None,
        )
        await consumer.start()
        try:
            tps = await assign_all(consumer, self.bus.topic(POST_TOPIC))
            await consumer.seek_to_beginning(*tps)
            out: list[Event] = []
            deadline = time.monotonic() + within
            while time.monotonic() < deadline:
                ends = await consumer.end_offsets(tps)
                batch = await consumer.getmany(timeout_ms=300)
                for records in batch.values():
                    out.extend(from_kafka(r.key, r.value, list(r.headers or ())) for r in records)
                caught_up = all([await consumer.position(tp) >= ends[tp] for tp in tps])
                if caught_up and len(out) >= min_count:
                    break
            return out
        finally:
            await consumer.stop()

    async def index_has(self, item_id: str, *, within: float = 15.0, gone: bool = False) -> None:
        """Wait until the search index holds (or, with ``gone``, no longer holds) ``item_id``."""
        from guildhall_post.app import search_index_of

        index = search_index_of(self.service)
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            present = (await asyncio.to_thread(index.get, item_id)) is not None
            committed = index.pending_changes == 0
            if present != gone and committed:
                return
            await asyncio.sleep(0.1)
        raise TimeoutError(f"search index never {'dropped' if gone else 'got'} {item_id}")

    @property
    def db(self) -> Any:
        return self.service.ctx.db


@asynccontextmanager
async def running_post_service(
    *,
    kafka: str,
    mongo: str,
    unique: str,
    tmp: Path,
    community_addr: str | None = None,
    topic_prefix: str | None = None,
    **overrides: Any,
) -> AsyncIterator[PostHarness]:
    """A post service (and community double) for one test module; torn down afterwards.

    ``community_addr`` points it at a real community service instead of the double
    (``topic_prefix`` then shares that service's topics, and ``tmp / "keys"`` its keys).
    """
    keys = ensure_dev_keys(tmp / "keys")
    double = CommunityDouble()  # type: ignore[abstract]  # serves CheckAccess and ListSpaces only
    server = grpc.aio.server()
    community_pb2_grpc.add_CommunityServiceServicer_to_server(double, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    settings = load_settings(
        PostSettings,
        kafka_bootstrap_servers=kafka,
        mongo_uri=mongo,
        mongo_database=f"post_test_{unique}",
        topic_prefix=topic_prefix or f"t{unique}.",
        grpc_port=0,
        jwt_jwks_file=keys.jwks_path,
        community_addr=community_addr or f"127.0.0.1:{port}",
        **{"outbox_poll_seconds": 0.2, **overrides},
    )
    service = await start_service(settings, build)
    await service.app.wait_ready(60)
    await service.wait_consumers_assigned(60)
    bus = BusConfig.from_settings(settings, linger_ms=0)
    producer = Producer(bus, registry=load_registry())
    await producer.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{service.port}")
    harness = PostHarness(
        service=service,
        settings=settings,
        keys=keys,
        producer=producer,
        bus=bus,
        double=double,
        double_server=server,
        channel=channel,
        stub=post_pb2_grpc.PostServiceStub(channel),
    )
    try:
        yield harness
    finally:
        await channel.close()
        await producer.stop()
        await service.stop(drain_s=0)
        await server.stop(0)
        client = make_client(mongo, app_name="post-test-cleanup")
        try:
            await client.drop_database(settings.database_name)
        finally:
            await client.close()
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
        await admin.start()
        try:
            mine = [t for t in await admin.list_topics() if t.startswith(settings.topic_prefix)]
            if mine:
                await admin.delete_topics(mine)
        finally:
            await admin.close()
