"""The live stream: resumable without gap or duplicate, and woken across replicas.

Streams here poll only every 30 s, so a notification that arrives within a
few seconds was delivered by a wake-up (local, or through NotificationDelivered
from the other replica), not by the fallback poll.
"""

from __future__ import annotations

import asyncio
import contextlib

import grpc
import pytest

from guildhall.notification.v1 import notification_pb2 as pb
from guildhall.notification.v1 import notification_pb2_grpc
from guildhall_kit.service import start_service
from guildhall_notification.app import build
from guildhall_testsupport.notification import (
    NotificationHarness,
    collect,
    employee,
    harness_fixture,
)

pytestmark = pytest.mark.integration

harness = harness_fixture(stream_poll_seconds=30.0)

ALICE = employee("st-alice")
BOB = employee("st-bob")


async def _newest(h: NotificationHarness) -> str:
    reply = await h.call(BOB, "ListInbox", pb.ListInboxRequest(page_size=1))
    return reply.notifications[0].notification_id if reply.notifications else ""


async def _space(h: NotificationHarness) -> str:
    await h.people(ALICE, BOB)
    space = await h.open_community(ALICE, [BOB])
    await h.settle()
    await h.call(
        BOB,
        "SetSubscription",
        pb.SetSubscriptionRequest(space_id=space, level=pb.SUBSCRIPTION_LEVEL_WATCHING),
    )
    await h.settle()
    return space


async def test_the_stream_resumes_after_the_last_id_without_gap_or_duplicate(
    harness: NotificationHarness,
) -> None:
    h = harness
    space = await _space(h)
    call = h.stub.StreamNotifications(
        pb.StreamNotificationsRequest(after_notification_id=await _newest(h)),
        metadata=h.auth(BOB),
    )
    first = await h.post(ALICE, space, title="one")
    got = await collect(call, 1, within=10)
    assert [n.post_id for n in got] == [first]
    more = [await h.post(ALICE, space, title=t) for t in ("two", "three")]
    got += await collect(call, 2, within=10)
    call.cancel()
    # Different posts are decided concurrently (other partitions), so their order may differ;
    # the stream's order is the inbox's.
    assert {n.post_id for n in got} == {first, *more}

    # Disconnected: three more arrive meanwhile.
    missed = [await h.post(ALICE, space, title=t) for t in ("four", "five", "six")]
    await h.settle()
    resumed = h.stub.StreamNotifications(
        pb.StreamNotificationsRequest(after_notification_id=got[-1].notification_id),
        metadata=h.auth(BOB),
    )
    again = await collect(resumed, 3, within=10)
    assert {n.post_id for n in again} == set(missed)
    last = await h.post(ALICE, space, title="seven")
    tail = await collect(resumed, 1, within=10)
    resumed.cancel()
    assert [n.post_id for n in tail] == [last]
    ids = [n.notification_id for n in [*got, *again, *tail]]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


async def test_a_bad_resume_id_is_invalid_argument(harness: NotificationHarness) -> None:
    call = harness.stub.StreamNotifications(
        pb.StreamNotificationsRequest(after_notification_id="01jc7x9m4q8v2n5k3r6t0w1y2z"),
        metadata=harness.auth(BOB),
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await collect(call, 1, within=10)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_a_stream_on_another_replica_is_woken_at_once(harness: NotificationHarness) -> None:
    h = harness
    space = await _space(h)
    other = await start_service(h.settings, build)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{other.port}")
    try:
        await other.app.wait_ready(60)
        await other.wait_consumers_assigned(60)
        stub = notification_pb2_grpc.NotificationServiceStub(channel)
        call = stub.StreamNotifications(
            pb.StreamNotificationsRequest(after_notification_id=await _newest(h)),
            metadata=h.auth(BOB),
        )
        posts = []
        for i in range(5):
            posts.append(await h.post(ALICE, space, title=f"replica {i}"))
            got = await collect(call, 1, within=8)
            assert [n.post_id for n in got] == [posts[-1]]
        call.cancel()
    finally:
        await channel.close()
        with contextlib.suppress(asyncio.CancelledError):
            await other.stop(drain_s=0)
