"""Wiring of the notification service: stores, use cases, consumers, background tasks.

``build`` is called by the kit's boot sequence (guildhall_kit.service). It wires:

- read models and consumers of the post, community and profile topics
  (groups ``notification.post``, ``notification.community``, ``notification.profile``),
  which decide recipients and publish NotificationsRouted;
- the inbox writers: group ``notification.inbox`` on the service's own topic;
- the stream waker (every replica, no group) and the live streams;
- the servicer.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import grpc

from guildhall.notification.v1 import notification_pb2, notification_pb2_grpc
from guildhall_kit.auth import ServiceIdentity
from guildhall_kit.bus import RetryPolicy
from guildhall_kit.clients import CommunityAccessClient
from guildhall_kit.clock import now_ms
from guildhall_kit.periodic import every
from guildhall_kit.service import ConsumerSpec, RunningService, ServiceContext, ServiceParts
from guildhall_notification.adapters import consumers
from guildhall_notification.adapters.bus import DeliveredFanout, RoutedPublisher, Waker
from guildhall_notification.adapters.grpc_api import NotificationServicer
from guildhall_notification.adapters.http import HttpSender
from guildhall_notification.adapters.mailer import SmtpMailer
from guildhall_notification.adapters.repository import indexes
from guildhall_notification.adapters.repository.notifications import NotificationStore
from guildhall_notification.adapters.repository.preferences import PreferenceStore
from guildhall_notification.adapters.repository.readmodels import ReadModels
from guildhall_notification.adapters.repository.routing import ROUTINGS, RoutingRepository
from guildhall_notification.adapters.repository.subscriptions import SubscriptionStore
from guildhall_notification.adapters.repository.webhooks import WebhookRepository
from guildhall_notification.adapters.secrets import SecretBox
from guildhall_notification.application.access import Funnel
from guildhall_notification.application.content import Content
from guildhall_notification.application.delivery import Fanout
from guildhall_notification.application.digests import Digests
from guildhall_notification.application.inbox import Inbox, InboxWriter
from guildhall_notification.application.membership import Memberships
from guildhall_notification.application.people import People
from guildhall_notification.application.routing import Routing
from guildhall_notification.application.stream import Streams, Wakeups
from guildhall_notification.application.subscriptions import Subscriptions
from guildhall_notification.application.webhooks import WebhookPolicy, Webhooks
from guildhall_notification.settings import NotificationSettings

SERVICE_NAME = notification_pb2.DESCRIPTOR.services_by_name["NotificationService"].full_name

DECIDING_RETRY = RetryPolicy(attempts=2, attempt_timeout_seconds=140.0, max_backoff_seconds=1.0)
"""Deciding the recipients of one post in a space of 100,000 watchers takes minutes on a
loaded local FerretDB: longer attempts than the kit's default 30 s (both inside the
group's 300 s poll interval), and a retry continues from the fan-out's recorded progress."""


@dataclass
class Parts:
    """The pieces of a built service that tests and benchmarks reach for."""

    models: ReadModels
    notifications: NotificationStore
    subscriptions: SubscriptionStore
    preferences: PreferenceStore
    fanout: Fanout
    writer: InboxWriter
    wakeups: Wakeups
    waker: Waker
    routing: Routing
    webhooks: Webhooks
    digests: Digests


_PARTS: weakref.WeakKeyDictionary[ServiceContext[NotificationSettings], Parts] = (
    weakref.WeakKeyDictionary()
)


def parts_of(service: RunningService[NotificationSettings]) -> Parts:
    """The built pieces of a running notification service (tests, benchmarks)."""
    return _PARTS[service.ctx]


async def build(ctx: ServiceContext[NotificationSettings]) -> ServiceParts:
    settings = ctx.settings
    registry = ctx.registry
    shards = registry.get(consumers.OWN_TOPIC).partitions
    clock = now_ms

    models = ReadModels(ctx.db, writer=ctx.writer_db)
    notifications = NotificationStore(ctx.db, writer=ctx.writer_db)
    subscriptions = SubscriptionStore(ctx.db, writer=ctx.writer_db)
    preferences = PreferenceStore(ctx.db, writer=ctx.writer_db)

    identity = ServiceIdentity.from_settings(settings)
    community = CommunityAccessClient(
        settings.community_addr,
        deadline_s=settings.community_deadline_seconds,
        own_credential=identity.authorization,
    )
    funnel = Funnel(models, community, concurrency=settings.access_check_concurrency)
    fanout = Fanout(
        models,
        subscriptions,
        funnel,
        RoutedPublisher(ctx.producer),
        shards=shards,
        chunk=settings.fanout_chunk,
        clock=clock,
    )
    wakeups = Wakeups()

    async def queue_digests(people: Sequence[str]) -> None:
        await preferences.enqueue(people, clock())

    writer = InboxWriter(
        notifications,
        shards=shards,
        delivered=DeliveredFanout(ctx.producer, wakeups, queue_digests),
        clock=clock,
    )
    routing = Routing(
        RoutingRepository(ctx.db, writer=ctx.writer_db, outbox=ctx.outbox(), hint=ctx.hint_relay),
        models,
        fanout,
        funnel,
        community=community,
        default_sla=timedelta(seconds=settings.default_answer_sla_seconds),
        experts_per_step=settings.experts_per_step,
        max_open=settings.expert_max_open,
        clock=clock,
    )
    sender = HttpSender()
    webhooks = Webhooks(
        WebhookRepository(ctx.db, writer=ctx.writer_db, box=SecretBox(settings.webhook_secret_key)),
        models,
        community,
        fanout,
        sender,
        policy=WebhookPolicy(
            allow_http=settings.webhook_allow_http,
            allow_private=settings.webhook_allow_private,
            timeout_s=settings.webhook_timeout_seconds,
            max_attempts=settings.webhook_max_attempts,
            backoff_s=settings.webhook_backoff_seconds,
            backoff_max_s=settings.webhook_backoff_max_seconds,
            disable_after=settings.webhook_disable_after_failures,
            rotation_grace=timedelta(seconds=settings.webhook_rotation_grace_seconds),
            concurrency=settings.webhook_concurrency,
        ),
        clock=clock,
    )
    content = Content(
        models, models, subscriptions, fanout, pinholes=webhooks, routing=routing, clock=clock
    )
    memberships = Memberships(models, models, fanout, webhooks=webhooks)
    people = People(models)

    inbox = Inbox(notifications, funnel, clock=clock)
    streams = Streams(
        notifications,
        funnel,
        wakeups,
        poll_seconds=settings.stream_poll_seconds,
        batch=settings.stream_batch,
    )
    subscription_cases = Subscriptions(
        models,
        subscriptions,
        subscriptions,
        preferences,
        funnel=funnel,
        community=community,
        clock=clock,
    )
    servicer = NotificationServicer(
        inbox=inbox,
        streams=streams,
        subscriptions=subscription_cases,
        routing=routing,
        webhooks=webhooks,
        models=models,
    )
    mailer = (
        SmtpMailer(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from,
            starttls=settings.smtp_starttls,
            username=settings.smtp_username,
            password=settings.smtp_password,
            timeout_s=settings.smtp_timeout_seconds,
        )
        if settings.smtp_host
        else None
    )
    digests = Digests(
        preferences,
        models,
        notifications,
        funnel,
        mailer,
        inactive_after=timedelta(seconds=settings.digest_inactive_after_seconds),
        link_base=settings.digest_link_base,
        clock=clock,
    )
    waker = Waker(ctx.bus, wakeups, partitions=shards)
    _PARTS[ctx] = Parts(
        models,
        notifications,
        subscriptions,
        preferences,
        fanout,
        writer,
        wakeups,
        waker,
        routing,
        webhooks,
        digests,
    )

    def register(server: grpc.aio.Server) -> Sequence[str]:
        notification_pb2_grpc.add_NotificationServiceServicer_to_server(servicer, server)
        return [SERVICE_NAME]

    async def backfill_expert_rows() -> None:
        await models.backfill_expert_rows()

    return ServiceParts(
        register=register,
        indexes=indexes(),
        consumers=[
            ConsumerSpec(
                group="notification.post",
                topics=[consumers.POST_TOPIC],
                handler=consumers.post_handler(content, registry),
                retry=DECIDING_RETRY,
            ),
            ConsumerSpec(
                group="notification.community",
                topics=[consumers.COMMUNITY_TOPIC],
                handler=consumers.community_handler(memberships, registry),
                retry=DECIDING_RETRY,
            ),
            ConsumerSpec(
                group="notification.profile",
                topics=[consumers.PROFILE_TOPIC],
                handler=consumers.profile_handler(people, registry),
            ),
            ConsumerSpec(
                group="notification.inbox",
                topics=[consumers.OWN_TOPIC],
                handler=consumers.inbox_handler(writer, registry),
            ),
        ],
        outbox_collections=[ROUTINGS],
        background=[
            waker.run,
            backfill_expert_rows,
            every(
                settings.routing_tick_seconds,
                routing.tick,
                name="escalations",
                first_after=0.0,
            ),
            every(settings.webhook_tick_seconds, webhooks.tick, name="webhooks", first_after=0.0),
            every(settings.digest_check_seconds, digests.tick, name="digests"),
        ],
        on_stop=[community.close, sender.close],
    )
