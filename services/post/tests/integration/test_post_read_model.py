"""Employees' access from the read model, against real Kafka and FerretDB: the community
events the harness publishes (as the community service would) decide private, secret and
archived communities, a member who leaves loses the content, and a late older membership
event never undoes a newer one. Partners are the cross-service tests'
(tests/integration/test_post_access.py)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from guildhall.post.v1 import post_pb2 as pb
from guildhall_testsupport.post import PostHarness, running_post_service

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
async def h(infra: Any, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[PostHarness]:
    async with running_post_service(
        kafka=infra.kafka_bootstrap_servers,
        mongo=infra.mongo_uri,
        unique=secrets.token_hex(4),
        tmp=tmp_path_factory.mktemp("post"),
    ) as harness:
        yield harness


def _id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


async def _post(h: PostHarness, who: str, space: str, **fields: Any) -> pb.Post:
    fields.setdefault("title", "Title")
    fields.setdefault("body", "Body")
    fields.setdefault("type", pb.POST_TYPE_DISCUSSION)
    reply = await h.stub.CreatePost(
        pb.CreatePostRequest(space_id=space, **fields),
        metadata=h.auth(who),
        timeout=10,
    )
    return reply.post


async def _code(call: Any) -> grpc.StatusCode:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    code: grpc.StatusCode = info.value.code()
    return code


async def test_private_and_secret_content_for_employees(h: PostHarness) -> None:
    private, secret = _id("c"), _id("c")
    await h.community(private, owner="own", members={"pia": "member"}, visibility="private")
    await h.community(secret, owner="own", members={"sam": "member"}, visibility="secret")
    await h.known(communities=[private, secret], members=[(private, "pia"), (secret, "sam")])
    in_private = await _post(h, "pia", private)
    in_secret = await _post(h, "sam", secret)
    outsider = h.auth("out")
    # A private community's card is visible (PERMISSION_DENIED), its items are not.
    assert (
        await _code(
            h.stub.ListSpaceFeed(
                pb.ListSpaceFeedRequest(space_id=private), metadata=outsider, timeout=10
            )
        )
        == grpc.StatusCode.PERMISSION_DENIED
    )
    for post_id in (in_private.post_id, in_secret.post_id):
        assert (
            await _code(
                h.stub.GetPost(pb.GetPostRequest(post_id=post_id), metadata=outsider, timeout=10)
            )
            == grpc.StatusCode.NOT_FOUND
        )
    assert (
        await _code(
            h.stub.ListSpaceFeed(
                pb.ListSpaceFeedRequest(space_id=secret), metadata=outsider, timeout=10
            )
        )
        == grpc.StatusCode.NOT_FOUND
    )
    # A home admin reads and moderates everything, but posts only where a member.
    admin = h.auth("root", admin=True)
    got = await h.stub.GetPost(
        pb.GetPostRequest(post_id=in_secret.post_id), metadata=admin, timeout=10
    )
    assert got.viewer.can_moderate
    assert (
        await _code(
            h.stub.CreatePost(
                pb.CreatePostRequest(
                    space_id=secret, type=pb.POST_TYPE_DISCUSSION, title="t", body="b"
                ),
                metadata=admin,
                timeout=10,
            )
        )
        == grpc.StatusCode.PERMISSION_DENIED
    )
    # A member who leaves loses the content once the read model has the event.
    await h.leave(secret, "sam")
    await h.known(gone_members=[(secret, "sam")])
    assert (
        await _code(
            h.stub.GetPost(
                pb.GetPostRequest(post_id=in_secret.post_id), metadata=h.auth("sam"), timeout=10
            )
        )
        == grpc.StatusCode.NOT_FOUND
    )


async def test_archived_community_is_read_only(h: PostHarness) -> None:
    cid = _id("c")
    await h.community(cid, owner="own", members={"arc": "member"})
    await h.known(communities=[cid], members=[(cid, "arc")])
    post = await _post(h, "arc", cid)
    await h.community(cid, owner="own", archived=True)

    async def archived(db: Any) -> bool:
        return await db["rm_communities"].find_one({"_id": cid, "state": "archived"}) is not None

    await h.settle(archived)
    await h.stub.GetPost(
        pb.GetPostRequest(post_id=post.post_id), metadata=h.auth("arc"), timeout=10
    )
    assert (
        await _code(
            h.stub.CreatePost(
                pb.CreatePostRequest(
                    space_id=cid, type=pb.POST_TYPE_DISCUSSION, title="t", body="b"
                ),
                metadata=h.auth("arc"),
                timeout=10,
            )
        )
        == grpc.StatusCode.FAILED_PRECONDITION
    )


async def test_a_late_older_membership_event_does_not_undo_a_newer_one(h: PostHarness) -> None:
    secret = _id("c")
    await h.community(secret, owner="own", visibility="secret")
    await h.known(communities=[secret])
    post = await _post(h, "own", secret)
    # The person left (version 3) before the join (version 2) arrived.
    await h.membership_event(secret, "late", None, 3)
    await h.membership_event(secret, "late", "member", 2)
    # A later event on the same key (same partition): once it is applied, so are both above.
    await h.membership_event(secret, "sentinel", "member", 1)
    await h.known(members=[(secret, "sentinel")])
    doc = await h.db["rm_memberships"].find_one({"_id": f"{secret}:late"})
    assert (doc["role"], doc["membership_version"]) == ("", 3)
    assert (
        await _code(
            h.stub.GetPost(
                pb.GetPostRequest(post_id=post.post_id), metadata=h.auth("late"), timeout=10
            )
        )
        == grpc.StatusCode.NOT_FOUND
    )
