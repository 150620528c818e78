"""The post service with the real community service, both in process on real Kafka and FerretDB.

Nothing stands in for the community service here: communities, memberships and
pinholes are made through its API, the post service learns them from its events,
and every partner request is decided by its CheckAccess / ListSpaces.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest

from guildhall.community.v1 import community_pb2 as cpb
from guildhall.post.v1 import post_pb2 as pb
from guildhall_testsupport.community.harness import CommunityHarness, employee, partner
from guildhall_testsupport.post import PostHarness, running_post_service

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@dataclass
class Platform:
    community: CommunityHarness
    post: PostHarness


@pytest.fixture(scope="module")
async def platform(infra: Any, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Platform]:
    tmp = tmp_path_factory.mktemp("platform")
    community = await CommunityHarness.start(
        kafka=infra.kafka_bootstrap_servers, mongo=infra.mongo_uri, keys_dir=tmp / "keys"
    )
    try:
        async with running_post_service(
            kafka=infra.kafka_bootstrap_servers,
            mongo=infra.mongo_uri,
            unique=secrets.token_hex(4),
            tmp=tmp,
            community_addr=f"127.0.0.1:{community.running.port}",
            topic_prefix=community.settings.topic_prefix,
        ) as post:
            yield Platform(community, post)
    finally:
        await community.stop()


async def test_partner_access_through_the_real_community_service(platform: Platform) -> None:
    c, p = platform.community, platform.post
    olga, emp = employee("olga"), employee("emp")
    acme = f"acme-{secrets.token_hex(3)}"
    val = partner("val", acme)
    await c.register_orgs(acme)
    await c.register_people([olga, emp, val])

    created = await c.stub.CreateCommunity(
        cpb.CreateCommunityRequest(
            name=f"Invoicing {secrets.token_hex(3)}",
            visibility=cpb.COMMUNITY_VISIBILITY_OPEN,
        ),
        metadata=c.auth(olga),
        timeout=10,
    )
    cid = created.community.community_id
    await c.stub.InviteMember(
        cpb.InviteMemberRequest(community_id=cid, person_id="emp", role=cpb.ROLE_MEMBER),
        metadata=c.auth(olga),
        timeout=10,
    )
    proposed = await c.stub.ProposePinhole(
        cpb.ProposePinholeRequest(community_id=cid, title="Acme onboarding", purpose="Work"),
        metadata=c.auth(olga),
        timeout=10,
    )
    hole = proposed.pinhole.pinhole_id
    await c.stub.GrantPinhole(
        cpb.GrantPinholeRequest(pinhole_id=hole, org_id=acme, level=cpb.GRANT_LEVEL_VIEWER),
        metadata=c.auth(olga),
        timeout=10,
    )
    await c.stub.OpenPinhole(
        cpb.OpenPinholeRequest(pinhole_id=hole), metadata=c.auth(olga), timeout=10
    )
    await p.known(communities=[cid], pinholes=[hole], members=[(cid, "emp"), (cid, "olga")])

    internal = await p.stub.CreatePost(
        pb.CreatePostRequest(
            space_id=cid, type=pb.POST_TYPE_DISCUSSION, title="Internal margin", body="x"
        ),
        metadata=p.auth("emp"),
        timeout=10,
    )
    shared = []
    for i in range(3):
        reply = await p.stub.CreatePost(
            pb.CreatePostRequest(
                space_id=hole,
                type=pb.POST_TYPE_DISCUSSION,
                title=f"For Acme {i}",
                body=f"see guildhall://post/{internal.post.post_id}",
            ),
            metadata=p.auth("emp"),
            timeout=10,
        )
        shared.append(reply.post.post_id)

    partner_auth = p.auth("val", partner_org=acme)
    first = await p.stub.ListSpaceFeed(
        pb.ListSpaceFeedRequest(space_id=hole, page_size=2), metadata=partner_auth, timeout=10
    )
    assert [x.post_id for x in first.posts] == sorted(shared, reverse=True)[:2]
    assert all("unavailable" in x.body for x in first.posts)
    with pytest.raises(grpc.aio.AioRpcError) as internal_read:
        await p.stub.GetPost(
            pb.GetPostRequest(post_id=internal.post.post_id), metadata=partner_auth, timeout=10
        )
    assert internal_read.value.code() == grpc.StatusCode.NOT_FOUND

    await c.stub.RevokeGrant(
        cpb.RevokeGrantRequest(pinhole_id=hole, org_id=acme), metadata=c.auth(olga), timeout=10
    )
    with pytest.raises(grpc.aio.AioRpcError) as next_page:
        await p.stub.ListSpaceFeed(
            pb.ListSpaceFeedRequest(space_id=hole, page_size=2, page_token=first.next_page_token),
            metadata=partner_auth,
            timeout=10,
        )
    assert next_page.value.code() == grpc.StatusCode.NOT_FOUND
    home = await p.stub.ListHomeFeed(pb.ListHomeFeedRequest(), metadata=partner_auth, timeout=10)
    assert list(home.posts) == []
    # Employees keep the content.
    mine = await p.stub.ListSpaceFeed(
        pb.ListSpaceFeedRequest(space_id=hole), metadata=p.auth("emp"), timeout=10
    )
    assert len(mine.posts) == 3
