"""NotificationServicer: request -> application call -> response, nothing else.

Every method first requires an authenticated principal, so an anonymous call
is UNAUTHENTICATED whatever else is wrong with it. Methods whose capability
has not landed yet answer UNIMPLEMENTED (never INTERNAL).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc

from guildhall.notification.v1 import notification_pb2 as pb
from guildhall.notification.v1 import notification_pb2_grpc
from guildhall_kit.auth import require_principal
from guildhall_kit.errors import DomainError

Ctx = grpc.aio.ServicerContext[Any, Any]


class UnimplementedError(DomainError):
    """The method is part of the contract but not served by this build."""

    code = grpc.StatusCode.UNIMPLEMENTED


def _not_yet(method: str) -> UnimplementedError:
    return UnimplementedError(f"{method} is not served yet")


class NotificationServicer(notification_pb2_grpc.NotificationServiceServicer):
    """The contract, method by method."""

    async def ListInbox(self, request: pb.ListInboxRequest, context: Ctx) -> pb.ListInboxResponse:
        require_principal()
        raise _not_yet("ListInbox")

    async def MarkRead(self, request: pb.MarkReadRequest, context: Ctx) -> pb.MarkReadResponse:
        require_principal()
        raise _not_yet("MarkRead")

    async def GetUnreadCount(
        self, request: pb.GetUnreadCountRequest, context: Ctx
    ) -> pb.GetUnreadCountResponse:
        require_principal()
        raise _not_yet("GetUnreadCount")

    async def MarkAllRead(
        self, request: pb.MarkAllReadRequest, context: Ctx
    ) -> pb.MarkAllReadResponse:
        require_principal()
        raise _not_yet("MarkAllRead")

    async def StreamNotifications(
        self, request: pb.StreamNotificationsRequest, context: Ctx
    ) -> AsyncIterator[pb.StreamNotificationsResponse]:
        require_principal()
        for _ in ():
            yield pb.StreamNotificationsResponse()
        raise _not_yet("StreamNotifications")

    async def GetSubscription(
        self, request: pb.GetSubscriptionRequest, context: Ctx
    ) -> pb.GetSubscriptionResponse:
        require_principal()
        raise _not_yet("GetSubscription")

    async def SetSubscription(
        self, request: pb.SetSubscriptionRequest, context: Ctx
    ) -> pb.SetSubscriptionResponse:
        require_principal()
        raise _not_yet("SetSubscription")

    async def ClearSubscription(
        self, request: pb.ClearSubscriptionRequest, context: Ctx
    ) -> pb.ClearSubscriptionResponse:
        require_principal()
        raise _not_yet("ClearSubscription")

    async def ListSubscriptions(
        self, request: pb.ListSubscriptionsRequest, context: Ctx
    ) -> pb.ListSubscriptionsResponse:
        require_principal()
        raise _not_yet("ListSubscriptions")

    async def GetCommunityDefault(
        self, request: pb.GetCommunityDefaultRequest, context: Ctx
    ) -> pb.GetCommunityDefaultResponse:
        require_principal()
        raise _not_yet("GetCommunityDefault")

    async def SetCommunityDefault(
        self, request: pb.SetCommunityDefaultRequest, context: Ctx
    ) -> pb.SetCommunityDefaultResponse:
        require_principal()
        raise _not_yet("SetCommunityDefault")

    async def GetPreferences(
        self, request: pb.GetPreferencesRequest, context: Ctx
    ) -> pb.GetPreferencesResponse:
        require_principal()
        raise _not_yet("GetPreferences")

    async def UpdatePreferences(
        self, request: pb.UpdatePreferencesRequest, context: Ctx
    ) -> pb.UpdatePreferencesResponse:
        require_principal()
        raise _not_yet("UpdatePreferences")

    async def CreateWebhook(
        self, request: pb.CreateWebhookRequest, context: Ctx
    ) -> pb.CreateWebhookResponse:
        require_principal()
        raise _not_yet("CreateWebhook")

    async def GetWebhook(
        self, request: pb.GetWebhookRequest, context: Ctx
    ) -> pb.GetWebhookResponse:
        require_principal()
        raise _not_yet("GetWebhook")

    async def ListWebhooks(
        self, request: pb.ListWebhooksRequest, context: Ctx
    ) -> pb.ListWebhooksResponse:
        require_principal()
        raise _not_yet("ListWebhooks")

    async def RotateWebhookSecret(
        self, request: pb.RotateWebhookSecretRequest, context: Ctx
    ) -> pb.RotateWebhookSecretResponse:
        require_principal()
        raise _not_yet("RotateWebhookSecret")

    async def SetWebhookEnabled(
        self, request: pb.SetWebhookEnabledRequest, context: Ctx
    ) -> pb.SetWebhookEnabledResponse:
        require_principal()
        raise _not_yet("SetWebhookEnabled")

    async def DeleteWebhook(
        self, request: pb.DeleteWebhookRequest, context: Ctx
    ) -> pb.DeleteWebhookResponse:
        require_principal()
        raise _not_yet("DeleteWebhook")

    async def ListWebhookDeliveries(
        self, request: pb.ListWebhookDeliveriesRequest, context: Ctx
    ) -> pb.ListWebhookDeliveriesResponse:
        require_principal()
        raise _not_yet("ListWebhookDeliveries")

    async def ListRoutedQuestions(
        self, request: pb.ListRoutedQuestionsRequest, context: Ctx
    ) -> pb.ListRoutedQuestionsResponse:
        require_principal()
        raise _not_yet("ListRoutedQuestions")

    async def GetRoutingPolicy(
        self, request: pb.GetRoutingPolicyRequest, context: Ctx
    ) -> pb.GetRoutingPolicyResponse:
        require_principal()
        raise _not_yet("GetRoutingPolicy")

    async def SetRoutingPolicy(
        self, request: pb.SetRoutingPolicyRequest, context: Ctx
    ) -> pb.SetRoutingPolicyResponse:
        require_principal()
        raise _not_yet("SetRoutingPolicy")
