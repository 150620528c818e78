"""Partner webhooks against a real HTTP receiver on 127.0.0.1.

Registration by partner org admins only (secret shown once), signed deliveries
that verify, only pinhole events of pinholes granted to the org, retries on
500s with backoff, a webhook disabled after failures (its creator notified),
rotation signing with both secrets, and a slow endpoint that holds up nothing.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import grpc
import pytest

from guildhall.community.v1 import community_pb2 as cpb
from guildhall.notification.v1 import notification_pb2 as pb
from guildhall_notification.domain import webhooks
from guildhall_testsupport.notification import (
    NotificationHarness,
    Receiver,
    employee,
    harness_fixture,
    partner,
)

pytestmark = pytest.mark.integration

harness = harness_fixture(
    webhook_tick_seconds=0.2,
    webhook_backoff_seconds=0.2,
    webhook_backoff_max_seconds=0.5,
    webhook_max_attempts=5,
    webhook_disable_after_failures=4,
    webhook_timeout_seconds=1.0,
)

OWNER = employee("wh-owner")
MEMBER = employee("wh-member")
ADMIN = partner("wh-acme-admin", "wh-acme", admin=True)
USER = partner("wh-acme-user", "wh-acme")
OTHER_ADMIN = partner("wh-other-admin", "wh-other", admin=True)

POSTS = [pb.WEBHOOK_EVENT_TYPE_POST_CREATED, pb.WEBHOOK_EVENT_TYPE_COMMENT_ADDED]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    await r.start()
    try:
        yield r
    finally:
        await r.stop()


@pytest.fixture(scope="module")
async def world(harness: NotificationHarness) -> dict[str, str]:
    h = harness
    await h.people(OWNER, MEMBER, ADMIN, USER, OTHER_ADMIN)
    await h.community.register_orgs("wh-acme", "wh-other")
    community = await h.open_community(OWNER, [MEMBER])
    granted = await h.open_pinhole(OWNER, community, "wh-acme")
    elsewhere = await h.open_pinhole(OWNER, community, "wh-other")
    await h.settle()
    return {"community": community, "granted": granted, "elsewhere": elsewhere}


async def _create(h: NotificationHarness, url: str) -> tuple[pb.Webhook, str]:
    reply = await h.call(
        ADMIN, "CreateWebhook", pb.CreateWebhookRequest(url=url, event_types=POSTS)
    )
    return reply.webhook, reply.secret


def _verifies(secret: str, received: object) -> bool:
    headers = received.headers  # type: ignore[attr-defined]
    return webhooks.verify(
        secret,
        headers["guildhall-signature"],
        int(headers["guildhall-timestamp"]),
        received.body,  # type: ignore[attr-defined]
        now=int(time.time()),
    )


async def _log(h: NotificationHarness, webhook_id: str) -> list[pb.WebhookDelivery]:
    reply = await h.call(
        ADMIN, "ListWebhookDeliveries", pb.ListWebhookDeliveriesRequest(webhook_id=webhook_id)
    )
    return list(reply.deliveries)


async def test_only_partner_org_admins_register_and_the_secret_is_shown_once(
    harness: NotificationHarness, world: dict[str, str], receiver: Receiver
) -> None:
    h = harness
    for who in (USER, OWNER):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await h.call(
                who, "CreateWebhook", pb.CreateWebhookRequest(url=receiver.url, event_types=POSTS)
            )
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    hook, secret = await _create(h, receiver.url)
    assert secret.startswith("whsec_")
    assert hook.secret_hint == secret[-4:]
    got = (
        await h.call(ADMIN, "GetWebhook", pb.GetWebhookRequest(webhook_id=hook.webhook_id))
    ).webhook
    assert secret not in str(got)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await h.call(OTHER_ADMIN, "GetWebhook", pb.GetWebhookRequest(webhook_id=hook.webhook_id))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await h.call(
            ADMIN,
            "CreateWebhook",
            pb.CreateWebhookRequest(url="ftp://x.example/hook", event_types=POSTS),
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    await h.call(ADMIN, "DeleteWebhook", pb.DeleteWebhookRequest(webhook_id=hook.webhook_id))


async def test_signed_deliveries_of_the_orgs_pinhole_events_only(
    harness: NotificationHarness, world: dict[str, str], receiver: Receiver
) -> None:
    h = harness
    hook, secret = await _create(h, receiver.url)
    await h.post(OWNER, world["community"], title="Internal only")
    await h.post(OWNER, world["elsewhere"], title="Other org's pinhole")
    shared = await h.post(OWNER, world["granted"], title="For acme", body="The spec")
    await h.settle()
    got = await receiver.wait(1)
    await h.settle()
    await asyncio.sleep(0.5)
    assert len(receiver.received) == 1
    body = json.loads(got[0].body)
    assert body["type"] == "post.created"
    assert body["data"]["post_id"] == shared
    assert body["data"]["title"] == "For acme"
    assert got[0].headers["guildhall-delivery"] == body["id"]
    assert _verifies(secret, got[0])
    assert not _verifies("whsec_wrong", got[0])
    log = await _log(h, hook.webhook_id)
    assert [(d.state, d.attempts, d.last_status_code) for d in log] == [
        (pb.DELIVERY_STATE_SUCCEEDED, 1, 200)
    ]
    await h.call(ADMIN, "DeleteWebhook", pb.DeleteWebhookRequest(webhook_id=hook.webhook_id))


async def test_500s_are_retried_with_backoff_and_rotation_signs_with_both(
    harness: NotificationHarness, world: dict[str, str], receiver: Receiver
) -> None:
    h = harness
    hook, old = await _create(h, receiver.url)
    rotated = await h.call(
        ADMIN, "RotateWebhookSecret", pb.RotateWebhookSecretRequest(webhook_id=hook.webhook_id)
    )
    new = rotated.secret
    assert new != old
    receiver.statuses = [500, 500]
    await h.post(OWNER, world["granted"], title="Retry me")
    got = await receiver.wait(3, within=30)
    assert all(r.body == got[0].body for r in got)
    assert got[1].at - got[0].at >= 0.09
    assert _verifies(new, got[2])
    assert _verifies(old, got[2])
    for _ in range(50):
        log = await _log(h, hook.webhook_id)
        if log and log[0].state == pb.DELIVERY_STATE_SUCCEEDED:
            break
        await asyncio.sleep(0.1)
    assert [(d.state, d.attempts) for d in log] == [(pb.DELIVERY_STATE_SUCCEEDED, 3)]
    await h.call(ADMIN, "DeleteWebhook", pb.DeleteWebhookRequest(webhook_id=hook.webhook_id))


async def test_a_failing_webhook_is_disabled_and_its_creator_told(
    harness: NotificationHarness, world: dict[str, str], receiver: Receiver
) -> None:
    h = harness
    hook, _ = await _create(h, receiver.url)
    receiver.default_status = 500
    await h.post(OWNER, world["granted"], title="Doomed 1")
    await h.post(OWNER, world["granted"], title="Doomed 2")
    await h.wait_inbox(
        ADMIN, lambda ns: any(n.kind == pb.NOTIFICATION_KIND_WEBHOOK_DISABLED for n in ns)
    )
    got = (
        await h.call(ADMIN, "GetWebhook", pb.GetWebhookRequest(webhook_id=hook.webhook_id))
    ).webhook
    assert got.state == pb.WEBHOOK_STATE_DISABLED
    assert "failed" in got.disabled_reason
    states = {d.state for d in await _log(h, hook.webhook_id)}
    assert pb.DELIVERY_STATE_PENDING not in states
    sent = len(receiver.received)
    await h.post(OWNER, world["granted"], title="While disabled")
    await h.settle()
    await asyncio.sleep(1.0)
    assert len(receiver.received) == sent
    # Enabling again resets the count; the next event is delivered.
    receiver.default_status = 200
    enabled = await h.call(
        ADMIN,
        "SetWebhookEnabled",
        pb.SetWebhookEnabledRequest(webhook_id=hook.webhook_id, enabled=True),
    )
    assert enabled.webhook.state == pb.WEBHOOK_STATE_ENABLED
    assert enabled.webhook.consecutive_failures == 0
    await h.post(OWNER, world["granted"], title="Back again")
    await receiver.wait(sent + 1)
    await h.call(ADMIN, "DeleteWebhook", pb.DeleteWebhookRequest(webhook_id=hook.webhook_id))


async def test_a_revoked_org_gets_no_more_deliveries(
    harness: NotificationHarness, world: dict[str, str], receiver: Receiver
) -> None:
    h = harness
    pinhole = await h.open_pinhole(OWNER, world["community"], "wh-acme")
    await h.settle()
    hook, _ = await _create(h, receiver.url)
    await h.community_call(
        OWNER, "RevokeGrant", cpb.RevokeGrantRequest(pinhole_id=pinhole, org_id="wh-acme")
    )
    await h.post(OWNER, pinhole, title="After the revoke")
    await h.settle()
    await asyncio.sleep(1.0)
    assert all(json.loads(r.body)["type"] != "post.created" for r in receiver.received)
    await h.call(ADMIN, "DeleteWebhook", pb.DeleteWebhookRequest(webhook_id=hook.webhook_id))


async def test_a_slow_endpoint_holds_up_nothing(
    harness: NotificationHarness, world: dict[str, str], receiver: Receiver
) -> None:
    h = harness
    hook, _ = await _create(h, receiver.url)
    receiver.delay_s = 10.0
    await h.call(
        MEMBER,
        "SetSubscription",
        pb.SetSubscriptionRequest(space_id=world["granted"], level=pb.SUBSCRIPTION_LEVEL_WATCHING),
    )
    started = time.monotonic()
    pid = await h.post(OWNER, world["granted"], title="Slow endpoint")
    await h.wait_inbox(MEMBER, lambda ns: any(n.post_id == pid for n in ns), within=5)
    assert time.monotonic() - started < 5
    await receiver.wait(1, within=10)
    receiver.delay_s = 0
    await h.call(ADMIN, "DeleteWebhook", pb.DeleteWebhookRequest(webhook_id=hook.webhook_id))
