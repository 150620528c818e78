"""NotificationServicer: request -> application call -> response, nothing else.

Every method first requires an authenticated principal, so an anonymous call
is UNAUTHENTICATED whatever else is wrong with it; service principals are not
people and get PERMISSION_DENIED. Methods whose capability has not landed yet
answer UNIMPLEMENTED (never INTERNAL).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import grpc
from opentelemetry import trace

from guildhall.notification.v1 import notification_pb2 as pb
from guildhall.notification.v1 import notification_pb2_grpc
from guildhall_kit.auth import Principal, PrincipalKind, require_principal
from guildhall_kit.bus.tracing import context_from
from guildhall_kit.clock import now_ms
from guildhall_kit.errors import DomainError
from guildhall_notification.adapters import convert
from guildhall_notification.application.inbox import Inbox
from guildhall_notification.application.ports import ReadModelsPort, TargetKind
from guildhall_notification.application.routing import Routing
from guildhall_notification.application.stream import Streams
from guildhall_notification.application.subscriptions import Subscriptions
from guildhall_notification.application.webhooks import Webhooks

Ctx = grpc.aio.ServicerContext[Any, Any]

ACTIVE_EVERY_S = 60.0
"""A person's activity time is written at most once a minute per replica."""


_tracer = trace.get_tracer("guildhall_notification.stream")


def _stream_trace_id() -> str:
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else ""


class UnimplementedError(DomainError):
    """The method is part of the contract but not served by this build."""

    code = grpc.StatusCode.UNIMPLEMENTED


def _not_yet(method: str) -> UnimplementedError:
    return UnimplementedError(f"{method} is not served yet")


def _target(request: Any) -> tuple[TargetKind, str]:
    if request.WhichOneof("target") == "post_id":
        return "item", str(request.post_id)
    return "space", str(request.space_id)


class NotificationServicer(notification_pb2_grpc.NotificationServiceServicer):
    """The contract, method by method."""

    def __init__(
        self,
        *,
        inbox: Inbox,
        streams: Streams,
        subscriptions: Subscriptions,
        routing: Routing,
        webhooks: Webhooks,
        models: ReadModelsPort,
    ) -> None:
        self._routing = routing
        self._webhooks = webhooks
        self._inbox = inbox
        self._streams = streams
        self._subs = subscriptions
        self._models = models
        self._seen: dict[str, float] = {}

    async def _person(self) -> Principal:
        """The calling person (employee or partner user); their activity is noted."""
        principal = require_principal(PrincipalKind.EMPLOYEE, PrincipalKind.PARTNER)
        now = time.monotonic()
        if now - self._seen.get(principal.subject, -ACTIVE_EVERY_S) >= ACTIVE_EVERY_S:
            self._seen[principal.subject] = now
            if len(self._seen) > 100_000:
                self._seen.clear()
            await self._models.touch_active(principal.subject, now_ms())
        return principal

    async def ListInbox(self, request: pb.ListInboxRequest, context: Ctx) -> pb.ListInboxResponse:
        principal = await self._person()
        found, token, unread = await self._inbox.page(
            principal,
            unread_only=request.unread_only,
            size=request.page_size,
            token=request.page_token,
        )
        return pb.ListInboxResponse(
            notifications=[convert.notification(n) for n in found],
            next_page_token=token,
            unread_count=unread,
        )

    async def MarkRead(self, request: pb.MarkReadRequest, context: Ctx) -> pb.MarkReadResponse:
        principal = await self._person()
        unread = await self._inbox.mark_read(principal, list(request.notification_ids))
        return pb.MarkReadResponse(unread_count=unread)

    async def GetUnreadCount(
        self, request: pb.GetUnreadCountRequest, context: Ctx
    ) -> pb.GetUnreadCountResponse:
        principal = await self._person()
        return pb.GetUnreadCountResponse(unread_count=await self._inbox.unread(principal))

    async def MarkAllRead(
        self, request: pb.MarkAllReadRequest, context: Ctx
    ) -> pb.MarkAllReadResponse:
        principal = await self._person()
        marked, unread = await self._inbox.mark_all_read(principal, request.up_to_notification_id)
        return pb.MarkAllReadResponse(marked=marked, unread_count=unread)

    async def StreamNotifications(
        self, request: pb.StreamNotificationsRequest, context: Ctx
    ) -> AsyncIterator[pb.StreamNotificationsResponse]:
        principal = await self._person()
        cursor = await self._streams.start(principal, request.after_notification_id)
        async for notification, unread in self._streams.follow(principal, cursor):
            # The delivery continues the trace of the event that caused the notification
            # (not this long-lived stream's): one trace from a request to its effect.
            span = _tracer.start_span(
                "deliver notification",
                context=context_from(notification.traceparent or None, None),
                kind=trace.SpanKind.PRODUCER,
                attributes={
                    "guildhall.notification.id": notification.notification_id,
                    "guildhall.stream.trace_id": _stream_trace_id(),
                },
            )
            try:
                yield pb.StreamNotificationsResponse(
                    notification=convert.notification(notification), unread_count=unread
                )
            finally:
                span.end()

    async def GetSubscription(
        self, request: pb.GetSubscriptionRequest, context: Ctx
    ) -> pb.GetSubscriptionResponse:
        principal = await self._person()
        view = await self._subs.effective(principal, *_target(request))
        return pb.GetSubscriptionResponse(subscription=convert.subscription(view))

    async def SetSubscription(
        self, request: pb.SetSubscriptionRequest, context: Ctx
    ) -> pb.SetSubscriptionResponse:
        principal = await self._person()
        kind, target = _target(request)
        view = await self._subs.set(principal, kind, target, convert.LEVEL_FROM[request.level])
        return pb.SetSubscriptionResponse(subscription=convert.subscription(view))

    async def ClearSubscription(
        self, request: pb.ClearSubscriptionRequest, context: Ctx
    ) -> pb.ClearSubscriptionResponse:
        principal = await self._person()
        view = await self._subs.clear(principal, *_target(request))
        return pb.ClearSubscriptionResponse(subscription=convert.subscription(view))

    async def ListSubscriptions(
        self, request: pb.ListSubscriptionsRequest, context: Ctx
    ) -> pb.ListSubscriptionsResponse:
        principal = await self._person()
        found, token = await self._subs.page(
            principal, size=request.page_size, token=request.page_token
        )
        return pb.ListSubscriptionsResponse(
            subscriptions=[convert.subscription(s) for s in found], next_page_token=token
        )

    async def GetCommunityDefault(
        self, request: pb.GetCommunityDefaultRequest, context: Ctx
    ) -> pb.GetCommunityDefaultResponse:
        principal = await self._person()
        view = await self._subs.community_default(principal, request.community_id)
        return pb.GetCommunityDefaultResponse(community_default=convert.community_default(view))

    async def SetCommunityDefault(
        self, request: pb.SetCommunityDefaultRequest, context: Ctx
    ) -> pb.SetCommunityDefaultResponse:
        principal = await self._person()
        view = await self._subs.set_community_default(
            principal, request.community_id, convert.LEVEL_FROM[request.level]
        )
        return pb.SetCommunityDefaultResponse(community_default=convert.community_default(view))

    async def GetPreferences(
        self, request: pb.GetPreferencesRequest, context: Ctx
    ) -> pb.GetPreferencesResponse:
        principal = await self._person()
        view = await self._subs.preferences(principal)
        return pb.GetPreferencesResponse(preferences=convert.preferences(view))

    async def UpdatePreferences(
        self, request: pb.UpdatePreferencesRequest, context: Ctx
    ) -> pb.UpdatePreferencesResponse:
        principal = await self._person()
        view = await self._subs.set_frequency(
            principal, convert.FREQUENCY_FROM[request.digest_frequency]
        )
        return pb.UpdatePreferencesResponse(preferences=convert.preferences(view))

    async def CreateWebhook(
        self, request: pb.CreateWebhookRequest, context: Ctx
    ) -> pb.CreateWebhookResponse:
        await self._person()
        found, secret = await self._webhooks.create(
            request.url,
            [convert.WEBHOOK_EVENT_FROM[t] for t in request.event_types],
            request.description,
        )
        return pb.CreateWebhookResponse(webhook=convert.webhook(found), secret=secret)

    async def GetWebhook(
        self, request: pb.GetWebhookRequest, context: Ctx
    ) -> pb.GetWebhookResponse:
        await self._person()
        found = await self._webhooks.get(request.webhook_id)
        return pb.GetWebhookResponse(webhook=convert.webhook(found))

    async def ListWebhooks(
        self, request: pb.ListWebhooksRequest, context: Ctx
    ) -> pb.ListWebhooksResponse:
        await self._person()
        found, token = await self._webhooks.page(request.page_size, request.page_token)
        return pb.ListWebhooksResponse(
            webhooks=[convert.webhook(w) for w in found], next_page_token=token
        )

    async def RotateWebhookSecret(
        self, request: pb.RotateWebhookSecretRequest, context: Ctx
    ) -> pb.RotateWebhookSecretResponse:
        await self._person()
        found, secret = await self._webhooks.rotate(request.webhook_id)
        return pb.RotateWebhookSecretResponse(webhook=convert.webhook(found), secret=secret)

    async def SetWebhookEnabled(
        self, request: pb.SetWebhookEnabledRequest, context: Ctx
    ) -> pb.SetWebhookEnabledResponse:
        await self._person()
        found = await self._webhooks.set_enabled(request.webhook_id, request.enabled)
        return pb.SetWebhookEnabledResponse(webhook=convert.webhook(found))

    async def DeleteWebhook(
        self, request: pb.DeleteWebhookRequest, context: Ctx
    ) -> pb.DeleteWebhookResponse:
        await self._person()
        await self._webhooks.delete(request.webhook_id)
        return pb.DeleteWebhookResponse()

    async def ListWebhookDeliveries(
        self, request: pb.ListWebhookDeliveriesRequest, context: Ctx
    ) -> pb.ListWebhookDeliveriesResponse:
        await self._person()
        found, token = await self._webhooks.deliveries(
            request.webhook_id, request.page_size, request.page_token
        )
        return pb.ListWebhookDeliveriesResponse(
            deliveries=[convert.delivery(d) for d in found], next_page_token=token
        )

    async def ListRoutedQuestions(
        self, request: pb.ListRoutedQuestionsRequest, context: Ctx
    ) -> pb.ListRoutedQuestionsResponse:
        principal = await self._person()
        found, token = await self._routing.routed(
            principal,
            state=convert.CHAIN_STATE_FROM.get(request.state),
            size=request.page_size,
            token=request.page_token,
        )
        return pb.ListRoutedQuestionsResponse(
            questions=[convert.routed_question(e) for e in found], next_page_token=token
        )

    async def GetRoutingPolicy(
        self, request: pb.GetRoutingPolicyRequest, context: Ctx
    ) -> pb.GetRoutingPolicyResponse:
        principal = await self._person()
        value = await self._routing.get_policy(principal, request.space_id)
        return pb.GetRoutingPolicyResponse(policy=convert.policy(value))

    async def SetRoutingPolicy(
        self, request: pb.SetRoutingPolicyRequest, context: Ctx
    ) -> pb.SetRoutingPolicyResponse:
        principal = await self._person()
        value = await self._routing.set_policy(
            principal, request.space_id, request.answer_sla.ToTimedelta()
        )
        return pb.SetRoutingPolicyResponse(policy=convert.policy(value))
