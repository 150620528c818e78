"""Search against real Kafka and FerretDB: the index is built from the post topic, finds by
words in title, body and tags, ranks exact titles first, filters, and never returns a deleted
item (partners and revoked partners: tests/integration/test_post_access.py)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from typing import Any

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


async def _post(
    h: PostHarness,
    who: str,
    space: str,
    kind: pb.PostType.ValueType = pb.POST_TYPE_DISCUSSION,
    **fields: Any,
) -> pb.Post:
    fields.setdefault("body", "Body")
    reply = await h.stub.CreatePost(
        pb.CreatePostRequest(space_id=space, type=kind, **fields), metadata=h.auth(who), timeout=10
    )
    await h.index_has(reply.post.post_id)
    return reply.post


async def _search(h: PostHarness, auth: Any, query: str, **filters: Any) -> list[str]:
    reply = await h.stub.Search(pb.SearchRequest(query=query, **filters), metadata=auth, timeout=10)
    return [hit.post.post_id for hit in reply.hits]


async def test_finds_by_title_body_and_tags_and_ranks_exact_titles_first(h: PostHarness) -> None:
    cid = _id("c")
    word = f"zebra{secrets.token_hex(3)}"
    await h.community(cid, owner="olga", members={"sue": "member"})
    await h.known(communities=[cid], members=[(cid, "sue")])
    in_body = await _post(h, "sue", cid, title="Something else", body=f"about the {word} rollout")
    exact = await _post(h, "sue", cid, title=f"{word} rollout", body="short")
    in_tag = await _post(h, "sue", cid, title="Tagged", body="nothing", tags=[word])
    hits = await _search(h, h.auth("sue"), f"{word} rollout")
    assert hits[0] == exact.post_id
    assert in_body.post_id in hits
    assert await _search(h, h.auth("sue"), word, tag=word) == [in_tag.post_id]
    # Filters: type, author, space.
    question = await _post(h, "olga", cid, pb.POST_TYPE_QUESTION, title=f"{word} question")
    assert await _search(h, h.auth("sue"), word, type=pb.POST_TYPE_QUESTION) == [question.post_id]
    assert await _search(h, h.auth("sue"), word, unanswered=True) == [question.post_id]
    assert question.post_id not in await _search(h, h.auth("sue"), word, author_id="sue")
    # An answer's words find its question.
    answer_word = f"quokka{secrets.token_hex(3)}"
    reply = await h.stub.PostAnswer(
        pb.PostAnswerRequest(question_id=question.post_id, body=f"use the {answer_word} setting"),
        metadata=h.auth("sue"),
        timeout=10,
    )
    await h.index_has(reply.answer.answer_id)
    assert await _search(h, h.auth("sue"), answer_word) == [question.post_id]


async def test_deleted_items_leave_search(h: PostHarness) -> None:
    cid = _id("c")
    word = f"walrus{secrets.token_hex(3)}"
    await h.community(cid, owner="olga", members={"del": "member"})
    await h.known(communities=[cid], members=[(cid, "del")])
    post = await _post(h, "del", cid, title=f"{word} plan")
    assert await _search(h, h.auth("del"), word) == [post.post_id]
    await h.stub.DeletePost(
        pb.DeletePostRequest(post_id=post.post_id), metadata=h.auth("del"), timeout=10
    )
    # Gone at once (hits are re-checked against the store), and from the index soon after.
    assert await _search(h, h.auth("del"), word) == []
    await h.index_has(post.post_id, gone=True)


async def test_hostile_queries_are_plain_words(h: PostHarness) -> None:
    cid = _id("c")
    await h.community(cid, owner="olga", members={"hax": "member"})
    await h.known(communities=[cid], members=[(cid, "hax")])
    post = await _post(h, "hax", cid, title="Regular title", body='literal {"$gt": ""} text')
    for query in ('{"$gt": ""}', ".*", "(a|b)*$", "title:*", "NOT AND OR", "\\", "'; drop"):
        # Each is answered (no INTERNAL, no INVALID_ARGUMENT): it is just words.
        await h.stub.Search(pb.SearchRequest(query=query), metadata=h.auth("hax"), timeout=10)
    hits = await _search(h, h.auth("hax"), '{"$gt": ""}')
    assert post.post_id in hits
    # A query that is all operators matches nothing in particular, never everything.
    everything = await asyncio.gather(*[_search(h, h.auth("hax"), q) for q in ("$where", "$ne")])
    assert all(post.post_id not in found for found in everything)
