"""Delivery through the real service: mentions, the partner boundary, redelivery, poison.

Partners are decided by the real community service (CheckAccess with the
notification service's own token), so a revoked grant stops delivery at once.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import grpc
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from guildhall.community.v1 import community_pb2 as cpb
from guildhall.notification.v1 import notification_pb2 as pb
from guildhall_kit.bus import dlq_topic_name
from guildhall_kit.bus.event import new_event_id
from guildhall_kit.clock import new_id
from guildhall_notification.app import parts_of
from guildhall_notification.application.ports import Routed
from guildhall_notification.domain.model import Kind, Reason, Template
from guildhall_testsupport.notification import (
    NotificationHarness,
    employee,
    harness_fixture,
    partner,
)

pytestmark = pytest.mark.integration

harness = harness_fixture()

OWNER = employee("dl-owner")
MEMBER = employee("dl-member")
OUTSIDER = employee("dl-outsider")
ACME = partner("dl-acme-user", "dl-acme")
OTHER = partner("dl-other-user", "dl-other")


@pytest.fixture(scope="module")
async def world(harness: NotificationHarness) -> dict[str, str]:
    h = harness
    await h.people(OWNER, MEMBER, OUTSIDER, ACME, OTHER)
    await h.community.register_orgs("dl-acme", "dl-other")
    private = await h.open_community(OWNER, [MEMBER], visibility=cpb.COMMUNITY_VISIBILITY_PRIVATE)
    pinhole = await h.open_pinhole(OWNER, private, "dl-acme")
    await h.settle()
    return {"private": private, "pinhole": pinhole}


def _about(notifications: list[pb.Notification], post_id: str) -> list[pb.Notification]:
    return [n for n in notifications if n.post_id == post_id]


async def test_a_mention_reaches_a_reader_and_nobody_else(
    harness: NotificationHarness, world: dict[str, str]
) -> None:
    h = harness
    pid = await h.post(OWNER, world["private"], title="Budget", mentioned=[MEMBER, OUTSIDER])
    await h.settle()
    got = _about(await h.inbox(MEMBER), pid)
    assert [(n.kind, n.reason, n.actor_id) for n in got] == [
        (pb.NOTIFICATION_KIND_MENTION, pb.NOTIFICATION_REASON_MENTIONED, OWNER.person_id)
    ]
    # The outsider may not read the private community: nothing, and the author learns nothing.
    assert _about(await h.inbox(OUTSIDER), pid) == []
    assert _about(await h.inbox(OWNER), pid) == []


async def test_a_partner_never_hears_of_an_internal_item_even_when_mentioned(
    harness: NotificationHarness, world: dict[str, str]
) -> None:
    h = harness
    await h.call(
        ACME,
        "SetSubscription",
        pb.SetSubscriptionRequest(space_id=world["pinhole"], level=pb.SUBSCRIPTION_LEVEL_WATCHING),
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await h.call(
            ACME,
            "SetSubscription",
            pb.SetSubscriptionRequest(
                space_id=world["private"], level=pb.SUBSCRIPTION_LEVEL_WATCHING
            ),
        )
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    internal = await h.post(
        OWNER, world["private"], title="Internal margins", body="secret", mentioned=[ACME]
    )
    shared = await h.post(OWNER, world["pinhole"], title="Shared spec", body="for acme")
    await h.settle()
    inbox = await h.inbox(ACME)
    assert _about(inbox, internal) == []
    got = _about(inbox, shared)
    assert [n.kind for n in got] == [pb.NOTIFICATION_KIND_WATCHED_SPACE]
    community_name = (
        await h.community_call(
            OWNER, "GetCommunity", cpb.GetCommunityRequest(community_id=world["private"])
        )
    ).community.name
    for n in inbox:
        assert "Internal margins" not in n.title + n.excerpt
        assert community_name not in n.title + n.excerpt
    # Another partner org, not granted, hears nothing of the pinhole either.
    assert _about(await h.inbox(OTHER), shared) == []


async def test_a_revoked_partner_receives_nothing_more(
    harness: NotificationHarness, world: dict[str, str]
) -> None:
    h = harness
    pinhole = await h.open_pinhole(OWNER, world["private"], "dl-acme")
    await h.settle()
    await h.call(
        ACME,
        "SetSubscription",
        pb.SetSubscriptionRequest(space_id=pinhole, level=pb.SUBSCRIPTION_LEVEL_WATCHING),
    )
    before = await h.post(OWNER, pinhole, title="Before revoke")
    await h.settle()
    assert len(_about(await h.inbox(ACME), before)) == 1
    await h.community_call(
        OWNER, "RevokeGrant", cpb.RevokeGrantRequest(pinhole_id=pinhole, org_id="dl-acme")
    )
    # Published at once, before the revoke's own event reaches the notification service:
    # the exact check at delivery still refuses.
    after = await h.post(OWNER, pinhole, title="After revoke")
    await h.settle()
    inbox = await h.inbox(ACME)
    assert _about(inbox, after) == []
    # What was delivered before is no longer listed; the notice that access ended is.
    assert _about(inbox, before) == []
    ended = [
        n for n in inbox if n.kind == pb.NOTIFICATION_KIND_PINHOLE_ACCESS and n.space_id == pinhole
    ]
    assert any("ended" in n.title for n in ended)


async def test_redelivered_events_create_nothing_twice(
    harness: NotificationHarness, world: dict[str, str]
) -> None:
    h = harness
    event_id = new_event_id()
    pid = new_id()
    await h.post(
        OWNER, world["private"], title="Once", post_id=pid, event_id=event_id, mentioned=[MEMBER]
    )
    # The same event again, as a relay re-publishing after a crash would send it.
    await h.post(OWNER, world["private"], title="Once", post_id=pid, event_id=event_id)
    await h.settle()
    assert len(_about(await h.inbox(MEMBER), pid)) == 1

    # Past the consumer's own dedupe: the inbox writer gets the same decision twice.
    writer = parts_of(h.running).writer
    routed = Routed(
        source_event_id=new_event_id(),
        person_ids=(MEMBER.person_id,),
        template=Template(Kind.MENTION, Reason.MENTIONED, "Twice?", space_id=world["private"]),
        subject=f"test:{new_event_id()}",
        routed_at=datetime.now(UTC),
    )
    first = await writer.write(routed)
    second = await writer.write(routed)
    assert len(first) == 1
    assert second == []
    titles = [n.title for n in await h.inbox(MEMBER)]
    assert titles.count("Twice?") == 1


async def _dead_letters(h: NotificationHarness, group: str, topic: str) -> list[dict[str, bytes]]:
    physical = dlq_topic_name(h.settings.topic(topic), group)
    consumer = AIOKafkaConsumer(bootstrap_servers=h.settings.kafka_bootstrap_servers)
    await consumer.start()
    try:
        tp = TopicPartition(physical, 0)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        end = (await consumer.end_offsets([tp]))[tp]
        out: list[dict[str, bytes]] = []
        async with asyncio.timeout(15):
            while await consumer.position(tp) < end:
                batch = await consumer.getmany(tp, timeout_ms=200)
                out.extend(dict(r.headers) for r in batch.get(tp, []))
        return out
    finally:
        await consumer.stop()


async def test_malformed_and_unknown_events_go_to_the_dead_letter_topic(
    harness: NotificationHarness, world: dict[str, str]
) -> None:
    h = harness
    producer = h._producer
    assert producer is not None
    topic = h.settings.topic("guildhall.post.v1")
    await producer.send_record(topic, b"key", b"not a cloud event", [])
    await producer.send_record(
        topic,
        b"key",
        b"\x00\x01garbage",
        [
            ("ce_specversion", b"1.0"),
            ("ce_id", new_event_id().encode()),
            ("ce_type", b"guildhall.post.v1.SomethingNew"),
            ("ce_source", b"guildhall/post"),
            ("ce_time", b"2026-01-01T00:00:00Z"),
            ("content-type", b"application/protobuf"),
        ],
    )
    await producer.send_record(
        topic,
        b"key",
        b"\xff\xff\xff",
        [
            ("ce_specversion", b"1.0"),
            ("ce_id", new_event_id().encode()),
            ("ce_type", b"guildhall.post.v1.CommentAdded"),
            ("ce_source", b"guildhall/post"),
            ("ce_time", b"2026-01-01T00:00:00Z"),
            ("content-type", b"application/protobuf"),
        ],
    )
    pid = await h.post(OWNER, world["private"], title="After poison", mentioned=[MEMBER])
    await h.settle()
    assert len(_about(await h.inbox(MEMBER), pid)) == 1
    letters = await _dead_letters(h, "notification.post", "guildhall.post.v1")
    assert len(letters) == 3
    assert all("dlq-error-type" in letter for letter in letters)
