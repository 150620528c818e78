"""A real notification service, with the real community service beside it, for tests.

:class:`NotificationHarness` boots, in-process and exactly as ``python -m`` does,
a community service (:class:`~guildhall_testsupport.community.harness.CommunityHarness`)
and a notification service on one topic prefix against the real Kafka and
MongoDB-protocol server. Partner access is therefore decided by the real
community service (CheckAccess with the notification service's own token).

The harness plays the profile and post services: it publishes their events
(:meth:`person`, :meth:`publish_post`) as they would, with event ids the test
may choose (to redeliver one). Communities, memberships and pinholes are made
through the community service's own RPCs. :meth:`settle` waits until every
consumer group of the notification service has handled everything published
so far, so a test can assert that something did *not* arrive.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.consumer import AIOKafkaConsumer
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from guildhall.community.v1 import community_pb2 as cpb
from guildhall.notification.v1 import notification_pb2 as pb
from guildhall.notification.v1 import notification_pb2_grpc
from guildhall.post.v1 import events_pb2 as pev
from guildhall.post.v1 import post_pb2 as ppb
from guildhall.profile.v1 import events_pb2 as prev
from guildhall.profile.v1 import profile_pb2 as prpb
from guildhall_kit.auth import PrincipalKind, mint_token
from guildhall_kit.bus import BusConfig, Event, Producer, from_kafka, load_registry, source_for
from guildhall_kit.bus.event import new_event_id
from guildhall_kit.clock import new_id
from guildhall_kit.mongo import make_client
from guildhall_kit.service import RunningService, start_service
from guildhall_kit.settings import load_settings
from guildhall_notification.app import build
from guildhall_notification.settings import NotificationSettings
from guildhall_testsupport.community.harness import CommunityHarness
from guildhall_testsupport.community.harness import Person as CommunityPerson

POST_TOPIC = "guildhall.post.v1"
PROFILE_TOPIC = "guildhall.profile.v1"
GROUPS = (
    "notification.profile",
    "notification.community",
    "notification.post",
    "notification.inbox",
)
TOPICS = {
    "notification.profile": "guildhall.profile.v1",
    "notification.community": "guildhall.community.v1",
    "notification.post": POST_TOPIC,
    "notification.inbox": "guildhall.notification.v1",
}
HOME = "home"


def stamp(at: datetime | None = None) -> Timestamp:
    value = Timestamp()
    value.FromDatetime(at or datetime.now(UTC))
    return value


@dataclass(frozen=True)
class Who:
    """A person of the test: an employee, or a user of a partner org."""

    person_id: str
    org_id: str = HOME
    partner: bool = False
    email: str = ""
    admin: bool = False
    """A partner org admin (the ``admin`` role on a partner user's token)."""

    @property
    def kind(self) -> PrincipalKind:
        return PrincipalKind.PARTNER if self.partner else PrincipalKind.EMPLOYEE

    @property
    def community_person(self) -> CommunityPerson:
        return CommunityPerson(self.person_id, self.kind, self.org_id)


def employee(person_id: str, email: str = "") -> Who:
    return Who(person_id, email=email)


def partner(person_id: str, org_id: str, *, admin: bool = False) -> Who:
    return Who(person_id, org_id, partner=True, admin=admin)


@dataclass
class NotificationHarness:
    """A running community + notification service pair on one topic prefix."""

    community: CommunityHarness
    settings: NotificationSettings
    running: RunningService[NotificationSettings]
    channel: grpc.aio.Channel
    stub: notification_pb2_grpc.NotificationServiceAsyncStub
    _producer: Producer | None = None
    _tokens: dict[tuple[str, bool, bool], str] = field(default_factory=dict)

    @classmethod
    async def start(
        cls, *, kafka: str, mongo: str, keys_dir: Path, name: str = "test", **overrides: Any
    ) -> NotificationHarness:
        """Boot both services; wait until they are ready and their consumers are assigned."""
        unique = secrets.token_hex(4)
        prefix = f"t{unique}."
        community = await CommunityHarness.start(
            kafka=kafka,
            mongo=mongo,
            keys_dir=keys_dir,
            name=f"n{name}",
            topic_prefix=prefix,
        )
        values: dict[str, Any] = {
            "kafka_bootstrap_servers": kafka,
            "mongo_uri": mongo,
            "mongo_database": f"notification_{name}_{unique}",
            "topic_prefix": prefix,
            "grpc_port": 0,
            "jwt_jwks_file": community.keys.jwks_path,
            # This service's own token (asking CheckAccess about partners) is signed with
            # the test key set the community service trusts.
            "signing_key_file": community.keys.jwks_path.parent / "private.pem",
            "signing_key_id": community.keys.kid,
            "community_addr": f"127.0.0.1:{community.running.port}",
            "drain_seconds": 0,
            "stream_poll_seconds": 1.0,
            "webhook_allow_http": True,
            "webhook_allow_private": True,
            **overrides,
        }
        settings = load_settings(NotificationSettings, **values)
        running, channel, stub = await _boot(settings)
        harness = cls(community, settings, running, channel, stub)
        harness._producer = Producer(
            BusConfig.from_settings(settings, client_id="test-upstream"), registry=load_registry()
        )
        await harness._producer.start()
        return harness

    # ------------------------------------------------------------------ calls

    def token(self, who: Who) -> str:
        key = (who.person_id, who.partner, who.admin)
        if key not in self._tokens:
            keys = self.community.keys
            self._tokens[key] = mint_token(
                keys.private_key_pem,
                kid=keys.kid,
                subject=who.person_id,
                kind=who.kind,
                org_id=who.org_id,
                roles=["admin"] if who.admin else None,
            )
        return self._tokens[key]

    def auth(self, who: Who) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.token(who)}"),)

    async def call(self, who: Who, method: str, request: Message) -> Any:
        return await getattr(self.stub, method)(request, metadata=self.auth(who), timeout=15)

    async def inbox(self, who: Who, *, unread_only: bool = False) -> list[pb.Notification]:
        """Every notification in ``who``'s inbox, newest first (all pages)."""
        out: list[pb.Notification] = []
        token = ""
        while True:
            reply = await self.call(
                who,
                "ListInbox",
                pb.ListInboxRequest(unread_only=unread_only, page_size=100, page_token=token),
            )
            out.extend(reply.notifications)
            token = reply.next_page_token
            if not token:
                return out

    async def wait_inbox(
        self, who: Who, done: Callable[[list[pb.Notification]], bool], within: float = 30
    ) -> list[pb.Notification]:
        deadline = time.monotonic() + within
        while True:
            found = await self.inbox(who)
            if done(found):
                return found
            if time.monotonic() > deadline:
                raise TimeoutError(f"{who.person_id}'s inbox never matched: {found}")
            await asyncio.sleep(0.1)

    # ------------------------------------------------------------ upstream facts

    async def publish(
        self, topic: str, message: Message, key: str, *, event_id: str | None = None
    ) -> Event:
        """Publish ``message`` as its owning service would; returns the event (its id)."""
        assert self._producer is not None
        service = topic.split(".")[1]
        event = Event.from_message(
            message, source=source_for(service), key=key, event_id=event_id or new_event_id()
        )
        await self._producer.publish(topic, event)
        return event

    async def publish_post(
        self, message: Message, key: str, *, event_id: str | None = None
    ) -> Event:
        return await self.publish(POST_TOPIC, message, key, event_id=event_id)

    async def people(self, *people: Who) -> None:
        """Publish PersonJoined for each (as the profile service would) and wait until both
        services know them."""
        await self.community.register_people(p.community_person for p in people)
        for who in people:
            await self.publish(
                PROFILE_TOPIC,
                prev.PersonJoined(
                    person=prpb.Person(
                        person_id=who.person_id,
                        org_id=who.org_id,
                        kind=(
                            prpb.PERSON_KIND_PARTNER_USER
                            if who.partner
                            else prpb.PERSON_KIND_EMPLOYEE
                        ),
                        display_name=who.person_id.replace("-", " ").title(),
                        email=who.email,
                        version=1,
                    )
                ),
                who.person_id,
            )
        await self.settle()

    async def expertise(self, who: Who, tags: Sequence[str], earned: int = 0) -> None:
        """Publish the person's expertise (declared tags, each earned ``earned`` times)."""
        await self.publish(
            PROFILE_TOPIC,
            prev.ProfileUpdated(
                person=prpb.Person(
                    person_id=who.person_id,
                    org_id=who.org_id,
                    kind=prpb.PERSON_KIND_PARTNER_USER
                    if who.partner
                    else prpb.PERSON_KIND_EMPLOYEE,
                    display_name=who.person_id.replace("-", " ").title(),
                    email=who.email,
                    declared_expertise=list(tags),
                    earned_expertise=[
                        prpb.EarnedExpertise(tag=t, accepted_answers=earned) for t in tags if earned
                    ],
                    version=int(time.time() * 1000),
                ),
                changed_fields=["declared_expertise"],
            ),
            who.person_id,
        )

    # --------------------------------------------------------- community (real)

    async def community_call(self, who: Who, method: str, request: Message) -> Any:
        return await getattr(self.community.stub, method)(
            request, metadata=self.community.auth(who.community_person), timeout=15
        )

    async def open_community(
        self,
        owner: Who,
        members: Sequence[Who] = (),
        *,
        visibility: cpb.CommunityVisibility.ValueType = cpb.COMMUNITY_VISIBILITY_OPEN,
        moderators: Sequence[Who] = (),
    ) -> str:
        """A community (owner first), with members added; returns its id (= main space)."""
        reply = await self.community_call(
            owner,
            "CreateCommunity",
            cpb.CreateCommunityRequest(
                name=f"Community {new_id()[-8:]}", description="Test", visibility=visibility
            ),
        )
        community_id = str(reply.community.community_id)
        for who, role in [
            *((m, cpb.ROLE_MEMBER) for m in members),
            *((m, cpb.ROLE_MODERATOR) for m in moderators),
        ]:
            await self.community_call(
                owner,
                "InviteMember",
                cpb.InviteMemberRequest(
                    community_id=community_id, person_id=who.person_id, role=role
                ),
            )
        return community_id

    async def open_pinhole(
        self,
        owner: Who,
        community_id: str,
        org_id: str,
        *,
        level: cpb.GrantLevel.ValueType = cpb.GRANT_LEVEL_CONTRIBUTOR,
    ) -> str:
        """An open pinhole of the community granted to ``org_id``; returns its id."""
        pinhole = (
            await self.community_call(
                owner,
                "ProposePinhole",
                cpb.ProposePinholeRequest(
                    community_id=community_id, title=f"Pinhole {new_id()[-6:]}", purpose="Work"
                ),
            )
        ).pinhole
        await self.community_call(
            owner,
            "GrantPinhole",
            cpb.GrantPinholeRequest(pinhole_id=pinhole.pinhole_id, org_id=org_id, level=level),
        )
        await self.community_call(
            owner, "OpenPinhole", cpb.OpenPinholeRequest(pinhole_id=pinhole.pinhole_id)
        )
        return str(pinhole.pinhole_id)

    # ------------------------------------------------------------- post facts

    async def post(
        self,
        author: Who,
        space_id: str,
        *,
        title: str = "A post",
        body: str = "Body",
        type: int = ppb.POST_TYPE_DISCUSSION,
        tags: Sequence[str] = (),
        mentioned: Sequence[Who] = (),
        post_id: str | None = None,
        event_id: str | None = None,
    ) -> str:
        """Publish PostCreated (and Mentioned for each mentioned person); returns the id."""
        pid = post_id or new_id()
        now = stamp()
        await self.publish_post(
            pev.PostCreated(
                post=ppb.Post(
                    post_id=pid,
                    space_id=space_id,
                    type=type,  # type: ignore[arg-type]
                    title=title,
                    body=body,
                    tags=list(tags),
                    mentioned_person_ids=[m.person_id for m in mentioned],
                    author_id=author.person_id,
                    state=ppb.POST_STATE_PUBLISHED,
                    revision=1,
                    created_at=now,
                    updated_at=now,
                )
            ),
            pid,
            event_id=event_id,
        )
        for who in mentioned:
            await self.mention(author, who, pid, space_id)
        return pid

    async def mention(
        self,
        author: Who,
        who: Who,
        post_id: str,
        space_id: str,
        comment_id: str = "",
        *,
        event_id: str | None = None,
    ) -> None:
        await self.publish_post(
            pev.Mentioned(
                person_id=who.person_id,
                author_id=author.person_id,
                post_id=post_id,
                comment_id=comment_id,
                space_id=space_id,
                mentioned_at=stamp(),
            ),
            post_id,
            event_id=event_id,
        )

    async def comment(
        self,
        author: Who,
        post_id: str,
        space_id: str,
        *,
        body: str = "A comment",
        parent_comment_id: str = "",
        event_id: str | None = None,
    ) -> str:
        cid = new_id()
        await self.publish_post(
            pev.CommentAdded(
                comment_id=cid,
                post_id=post_id,
                space_id=space_id,
                parent_comment_id=parent_comment_id,
                author_id=author.person_id,
                body=body,
                created_at=stamp(),
            ),
            post_id,
            event_id=event_id,
        )
        return cid

    async def answer(
        self,
        author: Who,
        question_id: str,
        space_id: str,
        body: str = "42",
        *,
        event_id: str | None = None,
    ) -> str:
        aid = new_id()
        await self.publish_post(
            pev.AnswerPosted(
                answer_id=aid,
                question_id=question_id,
                space_id=space_id,
                author_id=author.person_id,
                body=body,
                posted_at=stamp(),
            ),
            question_id,
            event_id=event_id,
        )
        return aid

    async def accept(
        self,
        by: Who,
        answer_id: str,
        answer_author: Who,
        question_id: str,
        space_id: str,
        *,
        event_id: str | None = None,
    ) -> None:
        await self.publish_post(
            pev.AnswerAccepted(
                answer_id=answer_id,
                question_id=question_id,
                space_id=space_id,
                answer_author_id=answer_author.person_id,
                accepted_by=by.person_id,
                accepted_at=stamp(),
            ),
            question_id,
            event_id=event_id,
        )

    async def edit(
        self,
        editor: Who,
        post_id: str,
        space_id: str,
        revision: int = 2,
        *,
        event_id: str | None = None,
    ) -> None:
        await self.publish_post(
            pev.PostEdited(
                post_id=post_id,
                space_id=space_id,
                editor_id=editor.person_id,
                revision=revision,
                title="Edited title",
                body="Edited body",
                edited_at=stamp(),
            ),
            post_id,
            event_id=event_id,
        )

    async def idea_status(
        self, actor: Who, idea_id: str, space_id: str, *, event_id: str | None = None
    ) -> None:
        await self.publish_post(
            pev.IdeaStatusChanged(
                idea_id=idea_id,
                space_id=space_id,
                previous_status=ppb.IDEA_STATUS_NEW,
                status=ppb.IDEA_STATUS_UNDER_REVIEW,
                actor_id=actor.person_id,
                note="Looking at it",
                changed_at=stamp(),
            ),
            idea_id,
            event_id=event_id,
        )

    async def own_events(self, event_type: str) -> list[Event]:
        """Every event of ``event_type`` now on the notification topic (partition order)."""
        topic = self.settings.topic("guildhall.notification.v1")
        partitions = load_registry().get("guildhall.notification.v1").partitions
        consumer = AIOKafkaConsumer(bootstrap_servers=self.settings.kafka_bootstrap_servers)
        await consumer.start()
        try:
            tps = [TopicPartition(topic, p) for p in range(partitions)]
            consumer.assign(tps)
            ends = await consumer.end_offsets(tps)
            found: list[Event] = []
            async with asyncio.timeout(30):
                for tp in tps:
                    await consumer.seek_to_beginning(tp)
                    while await consumer.position(tp) < ends[tp]:
                        batch = await consumer.getmany(tp, timeout_ms=200)
                        for record in batch.get(tp, []):
                            event = from_kafka(record.key, record.value, record.headers)
                            if event.type == event_type:
                                found.append(event)
            return found
        finally:
            await consumer.stop()

    # ----------------------------------------------------------------- waiting

    async def settle(self, within: float = 60.0) -> None:
        """Wait until every consumer group of the notification service (and the community
        service's relay) has handled everything published so far."""
        await self.community.wait_outbox_drained(within)
        admin = AIOKafkaAdminClient(bootstrap_servers=self.settings.kafka_bootstrap_servers)
        await admin.start()
        probe = AIOKafkaConsumer(bootstrap_servers=self.settings.kafka_bootstrap_servers)
        await probe.start()
        try:
            deadline = time.monotonic() + within
            while True:
                if await self._caught_up(admin, probe):
                    return
                if time.monotonic() > deadline:
                    raise TimeoutError("the notification service never caught up")
                await asyncio.sleep(0.1)
        finally:
            await probe.stop()
            await admin.close()

    async def _caught_up(self, admin: AIOKafkaAdminClient, probe: AIOKafkaConsumer) -> bool:
        registry = load_registry()
        for group in GROUPS:
            topic = self.settings.topic(TOPICS[group])
            parts = [
                TopicPartition(topic, p) for p in range(registry.get(TOPICS[group]).partitions)
            ]
            ends = await probe.end_offsets(parts)
            committed = await admin.list_consumer_group_offsets(self.settings.topic_prefix + group)
            for tp in parts:
                if ends[tp] == 0:
                    continue
                done = committed.get(tp)
                if done is None or done.offset < ends[tp]:
                    return False
        return True

    # --------------------------------------------------------------- life cycle

    async def restart(self, **overrides: Any) -> None:
        """Stop the notification service and start it again on the same database and topics."""
        await self.channel.close()
        await self.running.stop(drain_s=0)
        if overrides:
            self.settings = self.settings.model_copy(update=overrides)
        self.running, self.channel, self.stub = await _boot(self.settings)

    async def stop(self) -> None:
        """Stop both services; drop the databases and topics."""
        if self._producer is not None:
            await self._producer.stop()
        await self.channel.close()
        await self.running.stop(drain_s=0)
        client = make_client(self.settings.mongo_uri, app_name="notification-test-cleanup")
        try:
            await client.drop_database(self.settings.database_name)
        finally:
            await client.close()
        await self.community.stop()


async def _boot(
    settings: NotificationSettings,
) -> tuple[
    RunningService[NotificationSettings],
    grpc.aio.Channel,
    notification_pb2_grpc.NotificationServiceAsyncStub,
]:
    running = await start_service(settings, build)
    await running.app.wait_ready(60)
    await running.wait_consumers_assigned(60)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{running.port}")
    return running, channel, notification_pb2_grpc.NotificationServiceStub(channel)


async def collect(stream: Any, count: int, within: float = 30) -> list[pb.Notification]:
    """The next ``count`` notifications of a live stream (TimeoutError if they do not come)."""
    out: list[pb.Notification] = []
    async with asyncio.timeout(within):
        message: pb.StreamNotificationsResponse
        async for message in stream:
            out.append(message.notification)
            if len(out) >= count:
                break
    return out


def harness_fixture(**overrides: Any) -> Any:
    """A module-scoped pytest fixture giving a :class:`NotificationHarness` (settings
    ``overrides`` applied); assign it to ``harness`` in a test module."""
    import pytest

    @pytest.fixture(scope="module")
    async def harness(
        infra: Any, tmp_path_factory: Any, request: Any
    ) -> AsyncIterator[NotificationHarness]:
        name = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_notification_")
        h = await NotificationHarness.start(
            kafka=infra.kafka_bootstrap_servers,
            mongo=infra.mongo_uri,
            keys_dir=tmp_path_factory.mktemp("keys"),
            name=name[:12],
            **overrides,
        )
        try:
            yield h
        finally:
            await h.stop()

    return harness


@dataclass
class Received:
    """One request a :class:`Receiver` got."""

    headers: dict[str, str]
    body: bytes
    at: float


class Receiver:
    """A real HTTP endpoint on 127.0.0.1 (starlette + uvicorn) that records webhook POSTs.

    ``statuses`` are answered in turn (then ``default_status``); ``delay_s`` makes
    every answer slow (a dead-slow endpoint).
    """

    def __init__(self) -> None:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import Response
        from starlette.routing import Route

        self.received: list[Received] = []
        self.statuses: list[int] = []
        self.default_status = 200
        self.delay_s = 0.0

        async def hook(request: Request) -> Response:
            body = await request.body()
            self.received.append(Received(dict(request.headers), body, time.monotonic()))
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            status = self.statuses.pop(0) if self.statuses else self.default_status
            return Response(status_code=status)

        self._app = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
        self._server: Any = None
        self._task: asyncio.Task[None] | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def start(self) -> None:
        import socket

        import uvicorn

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        for _ in range(100):
            if self._server.started:
                return
            await asyncio.sleep(0.05)
        raise TimeoutError("the receiver did not start")

    async def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._task is not None:
            await asyncio.wait({self._task}, timeout=5)

    async def wait(self, count: int, within: float = 30) -> list[Received]:
        """Until ``count`` requests have arrived; all of them then."""
        deadline = time.monotonic() + within
        while len(self.received) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {len(self.received)} of {count} webhook requests came")
            await asyncio.sleep(0.05)
        return list(self.received)


class MailCatcher:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps what arrives."""

    def __init__(self) -> None:
        self.messages: list[Any] = []
        self._controller: Any = None
        self.port = 0

    async def start(self) -> None:
        import socket
        from email import message_from_bytes

        from aiosmtpd.controller import Controller

        outer = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                outer.messages.append(message_from_bytes(envelope.content))
                return "250 OK"

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        await asyncio.to_thread(self._controller.start)

    async def stop(self) -> None:
        if self._controller is not None:
            await asyncio.to_thread(self._controller.stop)

    async def wait(self, count: int, within: float = 30) -> list[Any]:
        deadline = time.monotonic() + within
        while len(self.messages) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {len(self.messages)} of {count} e-mails arrived")
            await asyncio.sleep(0.1)
        return list(self.messages)
