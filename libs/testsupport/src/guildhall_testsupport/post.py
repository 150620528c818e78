"""The post service for integration tests and benchmarks, alone or with the real
community service.

:func:`running_post_service` boots the service exactly as ``python -m guildhall_post``
does (``start_service`` with the service's ``build``), against the real Kafka broker
and MongoDB-protocol server, with its own database and topic prefix. Alone
(:class:`PostHarness`), it is fed the community and profile events it consumes by the
harness, published in the contract's shape as those services would publish them; it
then decides employees from its read model and reaches no community service (partner
requests fail closed, UNAVAILABLE), which is what single-service tests under
``services/post/tests/integration`` need.

:func:`running_post_platform` runs it beside the real community service
(:class:`~guildhall_testsupport.community.harness.CommunityHarness`, in process) on
shared topics and keys: communities, memberships and pinholes are made through the
community service's RPCs, the post service learns them from its events, and every
partner request is decided by its CheckAccess / ListSpaces. Cross-service tests under
``tests/integration`` use it; nothing re-implements the community service's rules.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import grpc
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from guildhall.community.v1 import community_pb2 as cpb
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
from guildhall_testsupport.community.harness import CommunityHarness, employee, partner

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


def _now() -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(datetime.now(UTC))
    return ts


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
    """A running post service, and helpers to feed it events and call it."""

    service: RunningService[PostSettings]
    settings: PostSettings
    keys: DevKeys
    producer: Producer
    bus: BusConfig
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


def unused_address() -> str:
    """``127.0.0.1:<port>`` where nothing listens (a community service that is down)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"127.0.0.1:{port}"


@asynccontextmanager
async def silent_server() -> AsyncIterator[str]:
    """The address of a server that accepts connections and never answers (a community
    service that hangs): a call to it ends only at its deadline."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"127.0.0.1:{port}"
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


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
    """A post service for one test module; torn down (database and topics) afterwards.

    ``community_addr`` is the community service it asks about partners; by default an
    address where nothing listens, so partner requests fail closed. ``topic_prefix`` and
    ``tmp / "keys"`` share another service's topics and keys
    (:func:`running_post_platform`).
    """
    keys = ensure_dev_keys(tmp / "keys")
    settings = load_settings(
        PostSettings,
        kafka_bootstrap_servers=kafka,
        mongo_uri=mongo,
        mongo_database=f"post_test_{unique}",
        topic_prefix=topic_prefix or f"t{unique}.",
        grpc_port=0,
        jwt_jwks_file=keys.jwks_path,
        community_addr=community_addr or unused_address(),
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
        channel=channel,
        stub=post_pb2_grpc.PostServiceStub(channel),
    )
    try:
        yield harness
    finally:
        await channel.close()
        await producer.stop()
        await service.stop(drain_s=0)
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


_CPB_ROLE: Final = {"member": cpb.ROLE_MEMBER, "moderator": cpb.ROLE_MODERATOR}
_CPB_VISIBILITY: Final = _VISIBILITY
_CPB_LEVEL: Final = _LEVEL


@dataclass
class PostPlatform:
    """The post service beside the real community service (see the module docstring).

    Communities, members and pinholes are made through the community service's RPCs;
    each helper returns once the post service's read model has the events, so a test
    can call the post service straight away.
    """

    community: CommunityHarness
    post: PostHarness
    _people: set[str] = field(default_factory=set)
    _orgs: set[str] = field(default_factory=set)

    def auth(
        self, person: str, *, partner_org: str | None = None, admin: bool = False
    ) -> tuple[tuple[str, str], ...]:
        """Call metadata for an employee (or a home admin), or a partner user of ``partner_org``."""
        return self.post.auth(person, partner_org=partner_org, admin=admin)

    async def people(self, *employees: str, partners: Mapping[str, str] | None = None) -> None:
        """Introduce employees, and partner users (person -> org, orgs included), to both
        services through the profile topic; returns once both know them."""
        partners = dict(partners or {})
        orgs = sorted(set(partners.values()) - self._orgs)
        if orgs:
            await self.community.register_orgs(*orgs)
            self._orgs.update(orgs)
        new = [employee(e) for e in employees if e not in self._people]
        new += [partner(p, org) for p, org in partners.items() if p not in self._people]
        if new:
            await self.community.register_people(new)
            self._people.update(p.subject for p in new)
            await self.post.known(people=[p.subject for p in new])

    async def new_community(
        self,
        owner: str,
        *,
        members: Mapping[str, str] | None = None,
        visibility: str = "open",
    ) -> str:
        """A community created by ``owner`` with ``members`` (person -> member/moderator)
        invited; its id."""
        members = dict(members or {})
        await self.people(owner, *members)
        c, as_owner = self.community, self.community.auth(employee(owner))
        created = await c.stub.CreateCommunity(
            cpb.CreateCommunityRequest(
                name=f"Community {secrets.token_hex(4)}", visibility=_CPB_VISIBILITY[visibility]
            ),
            metadata=as_owner,
            timeout=10,
        )
        cid = created.community.community_id
        for person, role in members.items():
            await c.stub.InviteMember(
                cpb.InviteMemberRequest(community_id=cid, person_id=person, role=_CPB_ROLE[role]),
                metadata=as_owner,
                timeout=10,
            )
        await self.post.known(communities=[cid], members=[(cid, p) for p in [owner, *members]])
        return cid

    async def open_pinhole(
        self, community_id: str, owner: str, *, grants: Mapping[str, str] | None = None
    ) -> str:
        """A pinhole of the community, proposed, granted (org -> viewer/contributor) and
        opened by its owner; its id."""
        grants = dict(grants or {})
        orgs = sorted(set(grants) - self._orgs)
        if orgs:
            await self.community.register_orgs(*orgs)
            self._orgs.update(orgs)
        c, as_owner = self.community, self.community.auth(employee(owner))
        proposed = await c.stub.ProposePinhole(
            cpb.ProposePinholeRequest(
                community_id=community_id, title=f"Pinhole {secrets.token_hex(3)}", purpose="Work"
            ),
            metadata=as_owner,
            timeout=10,
        )
        hole = proposed.pinhole.pinhole_id
        for org, level in grants.items():
            await c.stub.GrantPinhole(
                cpb.GrantPinholeRequest(pinhole_id=hole, org_id=org, level=_CPB_LEVEL[level]),
                metadata=as_owner,
                timeout=10,
            )
        await c.stub.OpenPinhole(
            cpb.OpenPinholeRequest(pinhole_id=hole), metadata=as_owner, timeout=10
        )
        await self.post.known(pinholes=[hole])
        return hole

    async def revoke(self, pinhole_id: str, org_id: str, *, by: str) -> None:
        """RevokeGrant, as ``by``; returns as soon as the community service has answered
        (the post service's read model learns it later, from the event)."""
        await self.community.stub.RevokeGrant(
            cpb.RevokeGrantRequest(pinhole_id=pinhole_id, org_id=org_id),
            metadata=self.community.auth(employee(by)),
            timeout=10,
        )


@asynccontextmanager
async def running_post_platform(
    *, kafka: str, mongo: str, tmp: Path, **post_overrides: Any
) -> AsyncIterator[PostPlatform]:
    """The community service and a post service on its topics and keys, in process; both
    torn down (databases and topics) afterwards. ``post_overrides`` are post settings."""
    community = await CommunityHarness.start(kafka=kafka, mongo=mongo, keys_dir=tmp / "keys")
    try:
        async with running_post_service(
            kafka=kafka,
            mongo=mongo,
            unique=secrets.token_hex(4),
            tmp=tmp,
            community_addr=f"127.0.0.1:{community.running.port}",
            topic_prefix=community.settings.topic_prefix,
            **post_overrides,
        ) as post:
            yield PostPlatform(community, post)
    finally:
        await community.stop()
