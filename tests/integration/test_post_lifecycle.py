"""Post service life cycles against real Kafka and FerretDB: every content type, its events.

One post service per module (tests use their own community ids, so they never
see each other's content). The community service's access decision comes from
the contract double in guildhall_post.testing until its implementation serves.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from guildhall.post.v1 import events_pb2 as ev
from guildhall.post.v1 import post_pb2 as pb
from guildhall_post.testing import PostHarness, running_post_service

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


async def _community(h: PostHarness, **members: str) -> str:
    cid = _id("c")
    await h.community(cid, owner="olga", members=members)
    await h.known(communities=[cid], members=[(cid, p) for p in members] + [(cid, "olga")])
    return cid


async def _create(
    h: PostHarness, who: str, space: str, kind: pb.PostType.ValueType, **fields: Any
) -> pb.Post:
    fields.setdefault("title", "A title")
    fields.setdefault("body", "Some *markdown* body")
    reply = await h.stub.CreatePost(
        pb.CreatePostRequest(space_id=space, type=kind, **fields),
        metadata=h.auth(who),
        timeout=10,
    )
    return reply.post


def _events_of(events: list[Any], cls: type[Any], key: str) -> list[Any]:
    name = cls.DESCRIPTOR.full_name
    return [e.parse(cls) for e in events if e.type == name and e.key == key]


async def test_discussion_create_get_edit_delete_with_history(h: PostHarness) -> None:
    cid = await _community(h, mia="member", mo="moderator")
    post = await _create(h, "mia", cid, pb.POST_TYPE_DISCUSSION, tags=["sap-fi", "abap"])
    assert post.revision == 1
    assert list(post.tags) == ["abap", "sap-fi"]
    got = await h.stub.GetPost(
        pb.GetPostRequest(post_id=post.post_id), metadata=h.auth("mo"), timeout=10
    )
    assert got.post.body == "Some *markdown* body"
    assert got.viewer.can_moderate

    edited = await h.stub.EditPost(
        pb.EditPostRequest(
            post_id=post.post_id,
            title="New title",
            body="New body",
            tags=["abap"],
            expected_revision=1,
        ),
        metadata=h.auth("mia"),
        timeout=10,
    )
    assert edited.post.revision == 2
    with pytest.raises(grpc.aio.AioRpcError) as stale:
        await h.stub.EditPost(
            pb.EditPostRequest(post_id=post.post_id, title="X", body="Y", expected_revision=1),
            metadata=h.auth("mia"),
            timeout=10,
        )
    assert stale.value.code() == grpc.StatusCode.ABORTED

    # Another member may not edit; the space feed shows the item.
    with pytest.raises(grpc.aio.AioRpcError) as denied:
        await h.stub.EditPost(
            pb.EditPostRequest(post_id=post.post_id, title="X", body="Y"),
            metadata=h.auth("olga2"),
            timeout=10,
        )
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED

    await h.stub.DeletePost(
        pb.DeletePostRequest(post_id=post.post_id), metadata=h.auth("mo"), timeout=10
    )
    feed = await h.stub.ListSpaceFeed(
        pb.ListSpaceFeedRequest(space_id=cid), metadata=h.auth("mia"), timeout=10
    )
    assert post.post_id not in [p.post_id for p in feed.posts]
    # Gone for readers, kept for the author and moderators with its history.
    with pytest.raises(grpc.aio.AioRpcError) as gone:
        await h.stub.GetPost(
            pb.GetPostRequest(post_id=post.post_id), metadata=h.auth("zed"), timeout=10
        )
    assert gone.value.code() == grpc.StatusCode.NOT_FOUND
    history = await h.stub.ListRevisions(
        pb.ListRevisionsRequest(item_id=post.post_id), metadata=h.auth("mia"), timeout=10
    )
    assert [r.revision for r in history.revisions] == [2, 1]
    first = await h.stub.GetRevision(
        pb.GetRevisionRequest(item_id=post.post_id, revision=1), metadata=h.auth("mo"), timeout=10
    )
    assert first.revision.body == "Some *markdown* body"

    events = await h.post_events(min_count=3)
    assert len(_events_of(events, ev.PostCreated, post.post_id)) == 1
    assert [e.revision for e in _events_of(events, ev.PostEdited, post.post_id)] == [2]
    assert len(_events_of(events, ev.PostDeleted, post.post_id)) == 1
