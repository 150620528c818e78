"""Feeds against real Kafka and FerretDB: space feed paging under concurrent writes, filters,
the home feed of a member of many communities (and a feed over more spaces than one query
takes), questions for me."""

from __future__ import annotations

import asyncio
import random
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest

from guildhall.post.v1 import post_pb2 as pb
from guildhall_post.adapters.repository import FEED_CHUNK
from guildhall_post.app import content_of
from guildhall_post.domain.posts import PostType
from guildhall_testsupport.post import PostHarness, SeedPost, running_post_service

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


async def _post(
    h: PostHarness,
    who: str,
    space: str,
    kind: pb.PostType.ValueType = pb.POST_TYPE_DISCUSSION,
    **fields: Any,
) -> pb.Post:
    fields.setdefault("title", "Title")
    fields.setdefault("body", "Body")
    reply = await h.stub.CreatePost(
        pb.CreatePostRequest(space_id=space, type=kind, **fields), metadata=h.auth(who), timeout=10
    )
    return reply.post


async def test_space_feed_pages_without_gaps_or_duplicates_while_posts_are_written(
    h: PostHarness,
) -> None:
    cid = _id("c")
    await h.community(cid, owner="olga", members={"wri": "member", "rea": "member"})
    await h.known(communities=[cid], members=[(cid, "wri"), (cid, "rea")])
    before = [await _post(h, "wri", cid) for _ in range(45)]
    expected = {p.post_id for p in before}

    stop = asyncio.Event()
    written: list[str] = []

    async def writer() -> None:
        while not stop.is_set():
            written.append((await _post(h, "wri", cid)).post_id)

    task = asyncio.create_task(writer())
    seen: list[str] = []
    token = ""
    pages = 0
    while True:
        page = await h.stub.ListSpaceFeed(
            pb.ListSpaceFeedRequest(space_id=cid, page_size=7, page_token=token),
            metadata=h.auth("rea"),
            timeout=10,
        )
        seen.extend(p.post_id for p in page.posts)
        pages += 1
        token = page.next_page_token
        await asyncio.sleep(0.05)  # let the writer interleave between pages
        if not token:
            break
    stop.set()
    await task
    assert written, "the writer wrote while the reader paged"
    assert len(seen) == len(set(seen)), "an item repeated across pages"
    assert expected <= set(seen), "an item written before paging started was skipped"
    assert seen == sorted(seen, reverse=True), "not newest first"
    assert pages >= 7


async def test_space_feed_filters_by_type_and_tag(h: PostHarness) -> None:
    cid = _id("c")
    await h.community(cid, owner="olga", members={"fil": "member"})
    await h.known(communities=[cid], members=[(cid, "fil")])
    q1 = await _post(h, "fil", cid, pb.POST_TYPE_QUESTION, tags=["abap"])
    await _post(h, "fil", cid, pb.POST_TYPE_QUESTION, tags=["java"])
    d1 = await _post(h, "fil", cid, pb.POST_TYPE_DISCUSSION, tags=["abap"])
    questions = await h.stub.ListSpaceFeed(
        pb.ListSpaceFeedRequest(space_id=cid, type=pb.POST_TYPE_QUESTION, tag="abap"),
        metadata=h.auth("fil"),
        timeout=10,
    )
    assert [p.post_id for p in questions.posts] == [q1.post_id]
    tagged = await h.stub.ListSpaceFeed(
        pb.ListSpaceFeedRequest(space_id=cid, tag="abap"), metadata=h.auth("fil"), timeout=10
    )
    assert [p.post_id for p in tagged.posts] == [d1.post_id, q1.post_id]
    # A token minted for one filter is refused for another.
    first = await h.stub.ListSpaceFeed(
        pb.ListSpaceFeedRequest(space_id=cid, page_size=1), metadata=h.auth("fil"), timeout=10
    )
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await h.stub.ListSpaceFeed(
            pb.ListSpaceFeedRequest(space_id=cid, tag="java", page_token=first.next_page_token),
            metadata=h.auth("fil"),
            timeout=10,
        )
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "page_token" in (info.value.details() or "")


async def test_home_feed_merges_the_spaces_of_a_member_of_many_communities(
    h: PostHarness,
) -> None:
    reader = _id("many")
    communities = [_id("c") for _ in range(30)]
    for cid in communities:
        await h.community(cid, owner="olga", members={reader: "member", "au": "member"})
    elsewhere = _id("c")
    await h.community(elsewhere, owner="olga", members={"au": "member"}, visibility="secret")
    pinhole = _id("p")
    await h.pinhole(pinhole, communities[0])
    await h.known(
        communities=[*communities, elsewhere],
        pinholes=[pinhole],
        members=[(c, reader) for c in communities] + [(elsewhere, "au")],
    )
    mine: list[str] = []
    for i, cid in enumerate(communities):
        mine.append((await _post(h, "au", cid, title=f"in {i}")).post_id)
    mine.append((await _post(h, "olga", pinhole, title="in the pinhole")).post_id)
    hidden = await _post(h, "au", elsewhere, title="secret")

    seen: list[str] = []
    token = ""
    while True:
        page = await h.stub.ListHomeFeed(
            pb.ListHomeFeedRequest(page_size=8, page_token=token),
            metadata=h.auth(reader),
            timeout=10,
        )
        seen.extend(p.post_id for p in page.posts)
        token = page.next_page_token
        if not token:
            break
    assert seen == sorted(mine, reverse=True)
    assert hidden.post_id not in seen
    questions_only = await h.stub.ListHomeFeed(
        pb.ListHomeFeedRequest(type=pb.POST_TYPE_QUESTION), metadata=h.auth(reader), timeout=10
    )
    assert list(questions_only.posts) == []


async def test_questions_for_me_match_expertise_and_drop_answered_ones(h: PostHarness) -> None:
    cid = _id("c")
    secret = _id("c")
    expert = _id("exp")
    await h.community(cid, owner="olga", members={"ask": "member", expert: "member"})
    await h.community(secret, owner="olga", members={"ask": "member"}, visibility="secret")
    await h.expertise(expert, ["sap-fi", "tax"])
    await h.known(
        communities=[cid, secret], members=[(cid, "ask"), (cid, expert)], expertise=[expert]
    )
    match = await _post(h, "ask", cid, pb.POST_TYPE_QUESTION, tags=["sap-fi"])
    answered = await _post(h, "ask", cid, pb.POST_TYPE_QUESTION, tags=["tax"])
    await _post(h, "ask", cid, pb.POST_TYPE_QUESTION, tags=["java"])
    await _post(h, "ask", cid, pb.POST_TYPE_DISCUSSION, tags=["sap-fi"])
    await _post(h, "ask", secret, pb.POST_TYPE_QUESTION, tags=["sap-fi"])
    own = await _post(h, expert, cid, pb.POST_TYPE_QUESTION, tags=["tax"])
    answer = await h.stub.PostAnswer(
        pb.PostAnswerRequest(question_id=answered.post_id, body="done"),
        metadata=h.auth(expert),
        timeout=10,
    )
    await h.stub.AcceptAnswer(
        pb.AcceptAnswerRequest(question_id=answered.post_id, answer_id=answer.answer.answer_id),
        metadata=h.auth("ask"),
        timeout=10,
    )
    reply = await h.stub.ListQuestionsForMe(
        pb.ListQuestionsForMeRequest(), metadata=h.auth(expert), timeout=10
    )
    ids = [p.post_id for p in reply.posts]
    assert match.post_id in ids
    assert answered.post_id not in ids
    assert own.post_id not in ids
    assert secret not in {p.space_id for p in reply.posts}
    assert list(reply.expertise_tags) == ["sap-fi", "tax"]
    only_tax = await h.stub.ListQuestionsForMe(
        pb.ListQuestionsForMeRequest(tag="tax"), metadata=h.auth(expert), timeout=10
    )
    assert [p.post_id for p in only_tax.posts if p.space_id == cid] == []


async def test_a_feed_over_more_spaces_than_one_query_takes_merges_every_chunk(
    h: PostHarness,
) -> None:
    spaces = [_id("s") for _ in range(FEED_CHUNK * 2 + 37)]
    rng = random.Random(8)  # noqa: S311 - test data, not security
    now = datetime.now(UTC) - timedelta(minutes=5)
    seeds = [
        SeedPost(
            space_id=rng.choice(spaces),
            author_id="au",
            at=now - timedelta(seconds=rng.randrange(86_400)),
            post_type=rng.choice([PostType.DISCUSSION, PostType.QUESTION]),
        )
        for _ in range(120)
    ]
    ids = await h.seed_posts(seeds)
    kinds = {i: s.post_type for i, s in zip(ids, seeds, strict=True)}
    content = content_of(h.service)
    for post_type in (None, PostType.QUESTION):
        expected = sorted((i for i in ids if post_type in (None, kinds[i])), reverse=True)
        seen: list[str] = []
        before = None
        while True:
            page = await content.feed(spaces, before=before, limit=10, post_type=post_type)
            seen.extend(p.post_id for p in page)
            if len(page) < 10:
                break
            before = page[-1].post_id
        assert seen == expected
