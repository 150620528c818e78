"""Bad input against the real service: protovalidate limits name the field, operator-shaped
and regex-shaped strings stay plain values, Markdown comes back exactly as stored, and a
token that is not what it claims is refused."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from google.protobuf.message import Message

from guildhall.post.v1 import post_pb2 as pb
from guildhall_kit.auth import PrincipalKind, mint_token
from guildhall_testsupport.post import PostHarness, running_post_service

pytestmark = [pytest.mark.integration]

OPERATOR = '{"$gt": ""}'


@pytest.fixture(scope="module")
async def h(infra: Any, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[PostHarness]:
    async with running_post_service(
        kafka=infra.kafka_bootstrap_servers,
        mongo=infra.mongo_uri,
        unique=secrets.token_hex(4),
        tmp=tmp_path_factory.mktemp("post"),
    ) as harness:
        yield harness


@pytest.fixture(scope="module")
async def space(h: PostHarness) -> str:
    cid = f"c-{secrets.token_hex(4)}"
    await h.community(cid, owner="olga", members={"bad": "member"})
    await h.known(communities=[cid], members=[(cid, "bad")])
    return cid


async def _invalid(h: PostHarness, method: str, request: Message) -> str:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await getattr(h.stub, method)(request, metadata=h.auth("bad"), timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, info.value.details()
    return info.value.details() or ""


def _create(space: str, **fields: Any) -> pb.CreatePostRequest:
    base: dict[str, Any] = {
        "space_id": space,
        "type": pb.POST_TYPE_DISCUSSION,
        "title": "Title",
        "body": "Body",
    }
    base.update(fields)
    return pb.CreatePostRequest(**base)


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"body": "x" * 65537}, "body"),
        ({"body": "   "}, "body"),
        ({"title": "t" * 201}, "title"),
        ({"title": "evil\u202etitle"}, "title"),
        ({"title": ""}, "title"),
        ({"tags": [f"t{i}" for i in range(11)]}, "tags"),
        ({"tags": ["Bad Tag!"]}, "tags[0]"),
        ({"tags": ["ok", "ok"]}, "tags"),
        ({"mentioned_person_ids": [f"p{i}" for i in range(21)]}, "mentioned_person_ids"),
        ({"space_id": OPERATOR}, "space_id"),
        ({"quoted_post_id": ".*"}, "quoted_post_id"),
        ({"type": pb.POST_TYPE_UNSPECIFIED}, "type"),
    ],
)
async def test_create_limits_name_the_field(
    h: PostHarness, space: str, fields: dict[str, Any], named: str
) -> None:
    details = await _invalid(h, "CreatePost", _create(space, **fields))
    assert details.startswith(f"{named}:") or f"; {named}:" in details


async def test_other_limits_name_the_field(h: PostHarness, space: str) -> None:
    cases: list[tuple[str, Message, str]] = [
        ("AddComment", pb.AddCommentRequest(post_id="p1", body="x" * 16385), "body"),
        ("VoteAnswer", pb.VoteAnswerRequest(answer_id="a1"), "vote"),
        ("GetRevision", pb.GetRevisionRequest(item_id="p1", revision=0), "revision"),
        (
            "EditWikiPage",
            pb.EditWikiPageRequest(page_id="p1", title="t", body="b"),
            "base_revision",
        ),
        ("Search", pb.SearchRequest(query=""), "query"),
        ("Search", pb.SearchRequest(query="q" * 201), "query"),
        ("Search", pb.SearchRequest(query="ok", author_id=OPERATOR), "author_id"),
        ("ListSpaceFeed", pb.ListSpaceFeedRequest(space_id=space, tag=OPERATOR), "tag"),
        ("ListSpaceFeed", pb.ListSpaceFeedRequest(space_id=space, tag=".*"), "tag"),
        ("ListSpaceFeed", pb.ListSpaceFeedRequest(space_id=space, page_size=101), "page_size"),
    ]
    for method, request, named in cases:
        details = await _invalid(h, method, request)
        assert named in details, (method, details)


async def test_forged_page_tokens_are_refused(h: PostHarness, space: str) -> None:
    for position in ({"after": {"$gt": ""}}, {"after": ".*"}, {"$where": "1"}):
        forged = base64.urlsafe_b64encode(
            json.dumps({"s": "0" * 16, "p": position}).encode()
        ).decode()
        details = await _invalid(
            h,
            "ListSpaceFeed",
            pb.ListSpaceFeedRequest(space_id=space, page_token=forged.rstrip("=")),
        )
        assert "page_token" in details


async def test_tags_are_values_not_patterns(h: PostHarness, space: str) -> None:
    dotted = await h.stub.CreatePost(
        _create(space, tags=["a.b"]), metadata=h.auth("bad"), timeout=10
    )
    other = await h.stub.CreatePost(
        _create(space, tags=["axb"]), metadata=h.auth("bad"), timeout=10
    )
    feed = await h.stub.ListSpaceFeed(
        pb.ListSpaceFeedRequest(space_id=space, tag="a.b"), metadata=h.auth("bad"), timeout=10
    )
    ids = [p.post_id for p in feed.posts]
    assert dotted.post.post_id in ids
    assert other.post.post_id not in ids


async def test_markdown_is_stored_and_returned_exactly(h: PostHarness, space: str) -> None:
    body = (
        "# Title\n<script>alert('x')</script>\n[click](javascript:alert(1))\n"
        "{{ 7*7 }} ${7*7} `code` \u00e9\u6f22\u5b57 \U0001f600\n\ttabbed\r\nend"
    )
    created = await h.stub.CreatePost(_create(space, body=body), metadata=h.auth("bad"), timeout=10)
    got = await h.stub.GetPost(
        pb.GetPostRequest(post_id=created.post.post_id), metadata=h.auth("bad"), timeout=10
    )
    assert got.post.body == body


async def test_calls_without_a_token_are_unauthenticated(h: PostHarness, space: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await h.stub.ListSpaceFeed(pb.ListSpaceFeedRequest(space_id=space), timeout=10)
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_an_employee_token_of_another_org_is_unauthenticated(
    h: PostHarness, space: str
) -> None:
    token = mint_token(
        h.keys.private_key_pem,
        kid=h.keys.kid,
        subject="bad",
        kind=PrincipalKind.EMPLOYEE,
        org_id="acme",
    )
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await h.stub.ListSpaceFeed(
            pb.ListSpaceFeedRequest(space_id=space),
            metadata=(("authorization", f"Bearer {token}"),),
            timeout=10,
        )
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
    # The same person with a home-org token is served.
    await h.stub.ListSpaceFeed(
        pb.ListSpaceFeedRequest(space_id=space), metadata=h.auth("bad"), timeout=10
    )
