"""Notifications from the real services' events, every service a real process.

Real posts from the real post service (its outbox, its Mentioned events, the
real community decisions) end in the right inboxes, and a partner hears of
their pinhole and of nothing internal.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import grpc
import pytest

from guildhall.community.v1 import community_pb2 as cpb
from guildhall.community.v1 import community_pb2_grpc
from guildhall.notification.v1 import notification_pb2 as npb
from guildhall.notification.v1 import notification_pb2_grpc
from guildhall.post.v1 import post_pb2 as ppb
from guildhall.post.v1 import post_pb2_grpc
from guildhall.profile.v1 import profile_pb2 as prpb
from guildhall.profile.v1 import profile_pb2_grpc
from guildhall_kit.auth import PrincipalKind
from guildhall_testsupport.platform import Platform, bearer, settled, start_platform

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(300)]

HOME = "home"


@pytest.fixture
async def platform(infra: Any, tmp_path: Path, unique: str) -> AsyncIterator[Platform]:
    async with start_platform(
        kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
        mongo_uri=infra.mongo_uri,
        workdir=tmp_path,
        unique=unique,
        services=("profile", "community", "post", "notification"),
    ) as running:
        yield running


async def _inbox_until(
    stub: Any, token: str, done: Callable[[list[npb.Notification]], bool], within: float = 60
) -> list[npb.Notification]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        reply = await stub.ListInbox(npb.ListInboxRequest(page_size=100), **bearer(token))
        found = list(reply.notifications)
        if done(found) or loop.time() > deadline:
            return found
        await asyncio.sleep(0.3)


async def test_real_posts_reach_the_right_inboxes_and_nothing_internal_reaches_a_partner(
    platform: Platform,
) -> None:
    p = platform
    alice = p.token("alice", PrincipalKind.EMPLOYEE, HOME, ["admin"])
    bob = p.token("bob", PrincipalKind.EMPLOYEE, HOME)
    carol = p.token("carol", PrincipalKind.EMPLOYEE, HOME)
    vera = p.token("vera", PrincipalKind.PARTNER, "acme")
    async with (
        grpc.aio.insecure_channel(p.addr("profile")) as pc,
        grpc.aio.insecure_channel(p.addr("community")) as cc,
        grpc.aio.insecure_channel(p.addr("post")) as po,
        grpc.aio.insecure_channel(p.addr("notification")) as nc,
    ):
        profile = profile_pb2_grpc.ProfileServiceStub(pc)
        community = community_pb2_grpc.CommunityServiceStub(cc)
        posts = post_pb2_grpc.PostServiceStub(po)
        notes = notification_pb2_grpc.NotificationServiceStub(nc)

        await profile.RegisterOrg(
            prpb.RegisterOrgRequest(org_id="acme", kind=prpb.ORG_KIND_VENDOR, display_name="Acme"),
            **bearer(alice),
        )
        for person, org in (("alice", HOME), ("bob", HOME), ("carol", HOME), ("vera", "acme")):
            await profile.CreatePerson(
                prpb.CreatePersonRequest(
                    person_id=person,
                    org_id=org,
                    display_name=person.title(),
                    email=f"{person}@x.example",
                ),
                **bearer(alice),
            )
        await profile.SetDeclaredExpertise(
            prpb.SetDeclaredExpertiseRequest(tags=["logistics"]), **bearer(carol)
        )
        made = await settled(
            community.CreateCommunity,
            cpb.CreateCommunityRequest(
                name="Supply chain", visibility=cpb.COMMUNITY_VISIBILITY_OPEN
            ),
            alice,
        )
        space = made.community.community_id
        await settled(community.JoinCommunity, cpb.JoinCommunityRequest(community_id=space), bob)
        pinhole = (
            await settled(
                community.ProposePinhole,
                cpb.ProposePinholeRequest(community_id=space, title="Acme rollout", purpose="Plan"),
                alice,
            )
        ).pinhole.pinhole_id
        await settled(
            community.GrantPinhole,
            cpb.GrantPinholeRequest(
                pinhole_id=pinhole, org_id="acme", level=cpb.GRANT_LEVEL_CONTRIBUTOR
            ),
            alice,
        )
        await settled(community.OpenPinhole, cpb.OpenPinholeRequest(pinhole_id=pinhole), alice)
        await settled(
            notes.SetSubscription,
            npb.SetSubscriptionRequest(space_id=space, level=npb.SUBSCRIPTION_LEVEL_WATCHING),
            bob,
        )
        await settled(
            notes.SetSubscription,
            npb.SetSubscriptionRequest(space_id=pinhole, level=npb.SUBSCRIPTION_LEVEL_WATCHING),
            vera,
        )

        announced = await settled(
            posts.CreatePost,
            ppb.CreatePostRequest(
                space_id=space,
                type=ppb.POST_TYPE_DISCUSSION,
                title="Internal: carrier rates",
                body="@carol please check",
                mentioned_person_ids=["carol"],
            ),
            alice,
        )
        internal_id = announced.post.post_id
        question = await settled(
            posts.CreatePost,
            ppb.CreatePostRequest(
                space_id=space,
                type=ppb.POST_TYPE_QUESTION,
                title="Which incoterms for sea freight?",
                body="FOB or CIF?",
                tags=["logistics"],
            ),
            bob,
        )
        shared = await settled(
            posts.CreatePost,
            ppb.CreatePostRequest(
                space_id=pinhole,
                type=ppb.POST_TYPE_DISCUSSION,
                title="Dock schedule",
                body="Week 1",
            ),
            alice,
        )

        bob_inbox = await _inbox_until(
            notes, bob, lambda ns: any(n.post_id == internal_id for n in ns)
        )
        assert [n.kind for n in bob_inbox if n.post_id == internal_id] == [
            npb.NOTIFICATION_KIND_WATCHED_SPACE
        ]
        carol_inbox = await _inbox_until(
            notes,
            carol,
            lambda ns: {internal_id, question.post.post_id} <= {n.post_id for n in ns},
        )
        kinds = {n.post_id: n.kind for n in carol_inbox}
        assert kinds[internal_id] == npb.NOTIFICATION_KIND_MENTION
        assert kinds[question.post.post_id] == npb.NOTIFICATION_KIND_QUESTION_FOR_EXPERT
        vera_inbox = await _inbox_until(
            notes, vera, lambda ns: any(n.post_id == shared.post.post_id for n in ns)
        )
        assert [n.kind for n in vera_inbox if n.post_id == shared.post.post_id] == [
            npb.NOTIFICATION_KIND_WATCHED_SPACE
        ]
        assert all(n.space_id == pinhole for n in vera_inbox)
        assert all("carrier" not in n.title.lower() for n in vera_inbox)
        routed = await notes.ListRoutedQuestions(npb.ListRoutedQuestionsRequest(), **bearer(carol))
        assert [q.question_id for q in routed.questions] == [question.post.post_id]
