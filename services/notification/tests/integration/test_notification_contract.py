"""The contract as callers meet it: every RPC answers, and never INTERNAL.

An anonymous call is UNAUTHENTICATED whatever it asks; an authenticated one
gets a real answer or a contract error (INVALID_ARGUMENT, NOT_FOUND,
PERMISSION_DENIED, UNIMPLEMENTED for a capability not served yet), never
INTERNAL or UNKNOWN.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from guildhall.notification.v1 import notification_pb2 as pb
from guildhall.notification.v1 import notification_pb2_grpc
from guildhall_kit.auth import PrincipalKind, mint_token
from guildhall_kit.auth.devkeys import ensure_dev_keys
from guildhall_kit.service import start_service
from guildhall_kit.settings import load_settings
from guildhall_notification.app import build
from guildhall_notification.settings import NotificationSettings

pytestmark = pytest.mark.integration

ULID = "01jc7x9m4q8v2n5k3r6t0w1y2z"

UNARY: list[tuple[str, Any]] = [
    ("ListInbox", pb.ListInboxRequest()),
    ("MarkRead", pb.MarkReadRequest(notification_ids=[ULID])),
    ("GetUnreadCount", pb.GetUnreadCountRequest()),
    ("MarkAllRead", pb.MarkAllReadRequest()),
    ("GetSubscription", pb.GetSubscriptionRequest(space_id=ULID)),
    (
        "SetSubscription",
        pb.SetSubscriptionRequest(space_id=ULID, level=pb.SUBSCRIPTION_LEVEL_WATCHING),
    ),
    ("ClearSubscription", pb.ClearSubscriptionRequest(post_id=ULID)),
    ("ListSubscriptions", pb.ListSubscriptionsRequest()),
    ("GetCommunityDefault", pb.GetCommunityDefaultRequest(community_id=ULID)),
    (
        "SetCommunityDefault",
        pb.SetCommunityDefaultRequest(community_id=ULID, level=pb.SUBSCRIPTION_LEVEL_TRACKING),
    ),
    ("GetPreferences", pb.GetPreferencesRequest()),
    (
        "UpdatePreferences",
        pb.UpdatePreferencesRequest(digest_frequency=pb.DIGEST_FREQUENCY_WEEKLY),
    ),
    (
        "CreateWebhook",
        pb.CreateWebhookRequest(
            url="https://partner.example/hook",
            event_types=[pb.WEBHOOK_EVENT_TYPE_POST_CREATED],
        ),
    ),
    ("GetWebhook", pb.GetWebhookRequest(webhook_id=ULID)),
    ("ListWebhooks", pb.ListWebhooksRequest()),
    ("RotateWebhookSecret", pb.RotateWebhookSecretRequest(webhook_id=ULID)),
    ("SetWebhookEnabled", pb.SetWebhookEnabledRequest(webhook_id=ULID, enabled=True)),
    ("DeleteWebhook", pb.DeleteWebhookRequest(webhook_id=ULID)),
    ("ListWebhookDeliveries", pb.ListWebhookDeliveriesRequest(webhook_id=ULID)),
    ("ListRoutedQuestions", pb.ListRoutedQuestionsRequest()),
    ("GetRoutingPolicy", pb.GetRoutingPolicyRequest(space_id=ULID)),
]

CONTRACT_CODES = {
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.UNIMPLEMENTED,
    grpc.StatusCode.UNAVAILABLE,
}


@pytest.fixture(scope="module")
async def stub(
    infra: Any, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[notification_pb2_grpc.NotificationServiceAsyncStub, str]]:
    keys_dir: Path = tmp_path_factory.mktemp("keys")
    keys = ensure_dev_keys(keys_dir)
    settings = load_settings(
        NotificationSettings,
        kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
        mongo_uri=infra.mongo_uri,
        mongo_database="notification_contract_test",
        topic_prefix="tcontract.",
        grpc_port=0,
        jwt_jwks_file=keys.jwks_path,
        drain_seconds=0,
    )
    running = await start_service(settings, build)
    token = mint_token(
        keys.private_key_pem,
        kid=keys.kid,
        subject="contract-alice",
        kind=PrincipalKind.EMPLOYEE,
        org_id="home",
    )
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{running.port}")
    try:
        yield notification_pb2_grpc.NotificationServiceStub(channel), token
    finally:
        await channel.close()
        await running.ctx.mongo.drop_database(settings.database_name)
        await running.stop(drain_s=0)


@pytest.mark.parametrize(("method", "request_"), UNARY, ids=[m for m, _ in UNARY])
async def test_anonymous_calls_are_unauthenticated(
    stub: tuple[notification_pb2_grpc.NotificationServiceAsyncStub, str], method: str, request_: Any
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await getattr(stub[0], method)(request_, timeout=10)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.parametrize(("method", "request_"), UNARY, ids=[m for m, _ in UNARY])
async def test_authenticated_calls_never_answer_internal(
    stub: tuple[notification_pb2_grpc.NotificationServiceAsyncStub, str], method: str, request_: Any
) -> None:
    metadata = (("authorization", f"Bearer {stub[1]}"),)
    code = grpc.StatusCode.OK
    try:
        await getattr(stub[0], method)(request_, metadata=metadata, timeout=10)
    except grpc.aio.AioRpcError as exc:
        code = exc.code()
    assert code is grpc.StatusCode.OK or code in CONTRACT_CODES, f"{method}: {code}"


async def test_anonymous_stream_is_unauthenticated(
    stub: tuple[notification_pb2_grpc.NotificationServiceAsyncStub, str],
) -> None:
    call = stub[0].StreamNotifications(pb.StreamNotificationsRequest(), timeout=10)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for _ in call:
            pass
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
