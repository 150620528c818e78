"""Access never fails open: when the community service is down or does not answer, every
partner request is UNAVAILABLE within the call's deadline -- for an existing item and a
missing one alike -- while employees, decided from the read model, are served."""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
import pytest

from guildhall.post.v1 import post_pb2 as pb
from guildhall_testsupport.post import (
    PostHarness,
    running_post_service,
    silent_server,
    unused_address,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DEADLINE = 0.5


@pytest.fixture(scope="module", params=["down", "silent"])
async def h(
    request: pytest.FixtureRequest, infra: Any, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[PostHarness]:
    """A post service whose community service is down (nothing listens) or hangs (accepts
    connections, never answers)."""
    async with (
        silent_server() as silent,
        running_post_service(
            kafka=infra.kafka_bootstrap_servers,
            mongo=infra.mongo_uri,
            unique=secrets.token_hex(4),
            tmp=tmp_path_factory.mktemp("post"),
            community_addr=unused_address() if request.param == "down" else silent,
            community_deadline_seconds=DEADLINE,
        ) as harness,
    ):
        yield harness


async def test_partners_are_refused_and_employees_served(h: PostHarness) -> None:
    cid, hole, acme = (f"{p}-{secrets.token_hex(4)}" for p in ("c", "p", "acme"))
    await h.community(cid, owner="own", members={"emp": "member"})
    await h.pinhole(hole, cid, grants={acme: "viewer"})
    await h.known(communities=[cid], pinholes=[hole], members=[(cid, "emp")])
    created = await h.stub.CreatePost(
        pb.CreatePostRequest(space_id=hole, type=pb.POST_TYPE_DISCUSSION, title="t", body="b"),
        metadata=h.auth("emp"),
        timeout=10,
    )
    post_id = created.post.post_id
    val = h.auth("val", partner_org=acme)
    calls: dict[str, Callable[[], Awaitable[Any]]] = {
        "GetPost": lambda: h.stub.GetPost(pb.GetPostRequest(post_id=post_id), metadata=val),
        "GetPost, missing": lambda: h.stub.GetPost(
            pb.GetPostRequest(post_id="01nothinghere0000000000000"), metadata=val
        ),
        "ListSpaceFeed": lambda: h.stub.ListSpaceFeed(
            pb.ListSpaceFeedRequest(space_id=hole), metadata=val
        ),
        "ListHomeFeed": lambda: h.stub.ListHomeFeed(pb.ListHomeFeedRequest(), metadata=val),
        "Search": lambda: h.stub.Search(pb.SearchRequest(query="t"), metadata=val),
    }
    for name, call in calls.items():
        started = time.monotonic()
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await call()
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE, name
        # Bounded by the deadline of the community call (one retry on UNAVAILABLE at most).
        assert time.monotonic() - started < 3 * DEADLINE + 2, name
    # Employees make no call: the outage is not theirs.
    got = await h.stub.GetPost(pb.GetPostRequest(post_id=post_id), metadata=h.auth("emp"))
    assert got.post.post_id == post_id
    home = await h.stub.ListHomeFeed(pb.ListHomeFeedRequest(), metadata=h.auth("emp"))
    assert [p.post_id for p in home.posts] == [post_id]
