"""The inbox through the real service: delivery, paging, unread counts, marking read."""

from __future__ import annotations

import grpc
import pytest

from guildhall.notification.v1 import notification_pb2 as pb
from guildhall_testsupport.notification import NotificationHarness, employee, harness_fixture

pytestmark = pytest.mark.integration

harness = harness_fixture()

ALICE = employee("inbox-alice")
BOB = employee("inbox-bob")
CAROL = employee("inbox-carol")


async def test_a_watcher_hears_of_a_new_item_and_marks_it_read(
    harness: NotificationHarness,
) -> None:
    await harness.people(ALICE, BOB, CAROL)
    space = await harness.open_community(ALICE, [BOB, CAROL])
    await harness.settle()
    await harness.call(
        BOB,
        "SetSubscription",
        pb.SetSubscriptionRequest(space_id=space, level=pb.SUBSCRIPTION_LEVEL_WATCHING),
    )
    post_id = await harness.post(ALICE, space, title="Quarterly plan", body="Read me")
    await harness.settle()

    added = [n for n in await harness.inbox(BOB) if n.kind == pb.NOTIFICATION_KIND_MEMBERSHIP]
    assert [n.title.startswith("You were added to") for n in added] == [True]
    found = [n for n in await harness.inbox(BOB) if n.post_id]
    assert [(n.kind, n.post_id, n.space_id) for n in found] == [
        (pb.NOTIFICATION_KIND_WATCHED_SPACE, post_id, space)
    ]
    assert "Quarterly plan" in found[0].title
    assert found[0].reason == pb.NOTIFICATION_REASON_WATCHING_SPACE
    assert found[0].source_event_id
    assert [n for n in await harness.inbox(CAROL) if n.post_id] == []
    assert await harness.inbox(ALICE) == []

    unread = await harness.call(BOB, "GetUnreadCount", pb.GetUnreadCountRequest())
    assert unread.unread_count == 2
    marked = await harness.call(
        BOB, "MarkRead", pb.MarkReadRequest(notification_ids=[found[0].notification_id])
    )
    assert marked.unread_count == 1
    again = await harness.inbox(BOB)
    assert again[0].notification_id == found[0].notification_id
    assert again[0].HasField("read_at")
    assert not again[1].HasField("read_at")


async def test_pages_are_newest_first_without_gaps(harness: NotificationHarness) -> None:
    space = await harness.open_community(ALICE, [BOB])
    await harness.settle()
    await harness.call(
        BOB,
        "SetSubscription",
        pb.SetSubscriptionRequest(space_id=space, level=pb.SUBSCRIPTION_LEVEL_WATCHING),
    )
    before = {n.notification_id for n in await harness.inbox(BOB)}
    posts = [await harness.post(ALICE, space, title=f"Post {i}") for i in range(7)]
    await harness.settle()
    seen: list[pb.Notification] = []
    token = ""
    while True:
        reply = await harness.call(
            BOB, "ListInbox", pb.ListInboxRequest(page_size=3, page_token=token)
        )
        seen.extend(reply.notifications)
        token = reply.next_page_token
        if not token:
            break
    ids = [n.notification_id for n in seen]
    assert ids == sorted(ids, reverse=True)
    assert len(ids) == len(set(ids))
    assert {n.post_id for n in seen if n.notification_id not in before} == set(posts)

    marked = await harness.call(
        BOB, "MarkAllRead", pb.MarkAllReadRequest(up_to_notification_id=ids[1])
    )
    assert marked.unread_count == 1
    assert marked.marked >= 6
    unread = await harness.call(BOB, "ListInbox", pb.ListInboxRequest(unread_only=True))
    assert [n.notification_id for n in unread.notifications] == [ids[0]]


async def test_bad_input_is_invalid_argument_and_changes_nothing(
    harness: NotificationHarness,
) -> None:
    before = await harness.inbox(BOB)
    cases = [
        ("ListInbox", pb.ListInboxRequest(page_token="not-a-token")),
        ("ListInbox", pb.ListInboxRequest(page_size=1000)),
        ("MarkRead", pb.MarkReadRequest(notification_ids=["NOT AN ID"])),
        ("MarkAllRead", pb.MarkAllReadRequest(up_to_notification_id="01jc7x9m4q8v2n5k3r6t0w1y2z")),
        ("SetSubscription", pb.SetSubscriptionRequest(space_id="x", level=99)),  # type: ignore[arg-type]
        ("GetSubscription", pb.GetSubscriptionRequest()),
    ]
    for method, request in cases:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await harness.call(BOB, method, request)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, method
    assert await harness.inbox(BOB) == before
