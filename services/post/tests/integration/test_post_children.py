"""Answers, comments and revisions listed by keyset queries against the real FerretDB:
children stored by an earlier version are listed as they are (no back-fill), deleted
answers only for their author and moderators, paging without gaps or duplicates while
children are added, and revision pages by their natural key.

docs/adr/0012-post-child-lists.md.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from guildhall.post.v1 import post_pb2 as pb
from guildhall_kit.clock import new_id, now_ms
from guildhall_kit.mongo import make_client
from guildhall_post.adapters.repository.documents import (
    answer_document,
    comment_document,
    post_document,
    revision_id,
)
from guildhall_post.app import content_of
from guildhall_post.domain.answers import new_answer
from guildhall_post.domain.comments import Comment, new_comment
from guildhall_post.domain.posts import Post, PostType, new_post
from guildhall_testsupport.post import PostHarness, running_post_service

pytestmark = pytest.mark.integration

SPACE = "legacy-qa"


def _question(at: Any, qid: str) -> Post:
    return new_post(
        post_id=qid,
        space_id=SPACE,
        post_type=PostType.QUESTION,
        title="q",
        body="b",
        tags=(),
        mentions=(),
        quoted_post_id="",
        author_id="olga",
        pinned=False,
        summary="",
        at=at,
    )


@pytest.fixture(scope="module")
async def legacy(
    infra: Any, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[PostHarness, dict[str, Any]]]:
    """A post service started on a database that already holds a question, its answers and
    comments (as an earlier version stored them)."""
    unique = secrets.token_hex(4)
    at = now_ms() - timedelta(hours=2)
    qid = new_id(at)
    answers = [
        answer_document(
            new_answer(
                answer_id=new_id(at + timedelta(seconds=i + 1)),
                question_id=qid,
                space_id=SPACE,
                author_id="ann" if i != 1 else "bob",
                body=f"answer {i}",
                mentions=(),
                at=at + timedelta(seconds=i + 1),
            )
        )
        for i in range(3)
    ]
    answers[1]["state"] = "deleted"  # bob's: visible to bob and moderators only
    made: list[Comment] = []
    for i in range(4):
        when = at + timedelta(seconds=10 + i)
        made.append(
            new_comment(
                comment_id=new_id(when),
                post_id=qid,
                answer_id=str(answers[0]["_id"]) if i == 3 else "",
                parent=made[0] if i == 2 else None,
                space_id=SPACE,
                author_id="ann",
                body=f"comment {i}",
                mentions=(),
                at=when,
            )
        )
    comments = [comment_document(c) for c in made]
    client = make_client(infra.mongo_uri, app_name="post-children-legacy")
    try:
        db = client[f"post_test_{unique}"]
        await db["posts"].insert_one(post_document(_question(at, qid)))
        await db["answers"].insert_many(answers)
        await db["comments"].insert_many(comments)
    finally:
        await client.close()
    async with running_post_service(
        kafka=infra.kafka_bootstrap_servers,
        mongo=infra.mongo_uri,
        unique=unique,
        tmp=Path(tmp_path_factory.mktemp("post")),
    ) as harness:
        await harness.community(
            SPACE, owner="olga", members={"ann": "member", "bob": "member", "cy": "member"}
        )
        await harness.known(
            communities=[SPACE], members=[(SPACE, "ann"), (SPACE, "bob"), (SPACE, "cy")]
        )
        yield harness, {"question": qid, "answers": answers, "comments": comments}


async def _answers(h: PostHarness, who: str, qid: str, size: int = 0) -> list[str]:
    seen: list[str] = []
    token = ""
    while True:
        page = await h.stub.ListAnswers(
            pb.ListAnswersRequest(question_id=qid, page_size=size, page_token=token),
            metadata=h.auth(who),
            timeout=10,
        )
        seen.extend(a.answer_id for a in page.answers)
        token = page.next_page_token
        if not token:
            return seen


async def _comments(
    h: PostHarness, who: str, post_id: str, answer_id: str = "", size: int = 0
) -> list[str]:
    seen: list[str] = []
    token = ""
    while True:
        page = await h.stub.ListComments(
            pb.ListCommentsRequest(
                post_id=post_id, answer_id=answer_id, page_size=size, page_token=token
            ),
            metadata=h.auth(who),
            timeout=10,
        )
        seen.extend(c.comment_id for c in page.comments)
        token = page.next_page_token
        if not token:
            return seen


async def test_children_stored_before_start_are_listed_in_order(
    legacy: tuple[PostHarness, dict[str, Any]],
) -> None:
    h, old = legacy
    qid = old["question"]
    a = [str(d["_id"]) for d in old["answers"]]
    c = [str(d["_id"]) for d in old["comments"]]
    assert await _answers(h, "cy", qid, size=1) == [a[0], a[2]]
    assert await _answers(h, "bob", qid, size=1) == a
    assert await _answers(h, "olga", qid) == a  # the owner moderates
    # Thread order: c0 and its reply c2, then c1; c3 is on an answer.
    assert await _comments(h, "cy", qid, size=1) == [c[0], c[2], c[1]]
    assert await _comments(h, "cy", qid, size=2) == [c[0], c[2], c[1]]
    assert await _comments(h, "cy", qid, a[0]) == [c[3]]
    assert await _comments(h, "cy", qid, a[2]) == []


async def _new_question(h: PostHarness) -> str:
    reply = await h.stub.CreatePost(
        pb.CreatePostRequest(space_id=SPACE, type=pb.POST_TYPE_QUESTION, title="t", body="b"),
        metadata=h.auth("ann"),
        timeout=10,
    )
    return str(reply.post.post_id)


async def test_pages_have_no_gaps_or_duplicates_while_children_are_added(
    legacy: tuple[PostHarness, dict[str, Any]],
) -> None:
    h, _ = legacy
    qid = await _new_question(h)
    first = []
    threads: list[str] = []
    for i in range(8):
        a = await h.stub.PostAnswer(
            pb.PostAnswerRequest(question_id=qid, body=f"a{i}"), metadata=h.auth("ann"), timeout=10
        )
        first.append(("a", a.answer.answer_id))
        parent = threads[i % len(threads)] if i % 2 and threads else ""
        c = await h.stub.AddComment(
            pb.AddCommentRequest(post_id=qid, body=f"c{i}", parent_comment_id=parent),
            metadata=h.auth("ann"),
            timeout=10,
        )
        first.append(("c", c.comment.comment_id))
        if not parent:
            threads.append(c.comment.comment_id)
    stop = asyncio.Event()

    async def writer() -> None:
        i = 0
        while not stop.is_set():
            await h.stub.PostAnswer(
                pb.PostAnswerRequest(question_id=qid, body=f"late {i}"),
                metadata=h.auth("bob"),
                timeout=10,
            )
            await h.stub.AddComment(
                pb.AddCommentRequest(
                    post_id=qid, body=f"late {i}", parent_comment_id=threads[i % len(threads)]
                ),
                metadata=h.auth("bob"),
                timeout=10,
            )
            i += 1

    task = asyncio.create_task(writer())
    try:
        answers = await _answers(h, "cy", qid, size=3)
        comments = await _comments(h, "cy", qid, size=3)
    finally:
        stop.set()
        await task
    assert len(answers) == len(set(answers))
    assert len(comments) == len(set(comments))
    assert answers == sorted(answers)
    assert {i for k, i in first if k == "a"} <= set(answers)
    assert {i for k, i in first if k == "c"} <= set(comments)
    # Comments come thread by thread, and by id inside a thread.
    content = content_of(h.service)
    found = [await content.comment(i) for i in comments]
    keys = [(c.thread_id, c.comment_id) for c in found if c is not None]
    assert keys == sorted(keys)
    assert len(keys) == len(comments)
    # Everything written is listed once the writer stops.
    final = await _comments(h, "cy", qid, size=7)
    assert len(final) == await h.db["comments"].count_documents({"post_id": qid})


async def test_revision_pages_are_read_by_their_natural_key(
    legacy: tuple[PostHarness, dict[str, Any]],
) -> None:
    h, _ = legacy
    content = content_of(h.service)
    at = now_ms()
    wiki = replace(_question(at, new_id(at)), type=PostType.WIKI_PAGE, revision=7, body="r7")
    await content.seed([wiki])
    now = wiki.current_revision()
    for n in range(1, 7):
        await content.keep_revision(replace(now, revision=n, body=f"r{n}"))
    page = await content.revisions(now, before=None, limit=3, bodies=True)
    assert [(r.revision, r.body) for r in page] == [(7, "r7"), (6, "r6"), (5, "r5")]
    page = await content.revisions(now, before=5, limit=3, bodies=False)
    assert [(r.revision, r.body) for r in page] == [(4, ""), (3, ""), (2, "")]
    assert [r.revision for r in await content.revisions(now, before=2, limit=3, bodies=True)] == [1]
    assert await content.revisions(now, before=1, limit=3, bodies=True) == []
    # A missing copy (which the write order rules out) costs a gap, never a short page.
    await h.db["revisions"].delete_one({"_id": revision_id(wiki.post_id, 5)})
    page = await content.revisions(now, before=None, limit=3, bodies=True)
    assert [r.revision for r in page] == [7, 6, 4]
    third = await content.revision(now, 3)
    assert third is not None
    assert (third.revision, third.body) == (3, "r3")
    # Another item's revisions never show, whatever its id shares with this one.
    other = replace(wiki, post_id=wiki.post_id[:-1] + ("0" if wiki.post_id[-1] != "0" else "1"))
    await content.seed([other])
    page = await content.revisions(now, before=None, limit=10, bodies=False)
    assert {r.item_id for r in page} == {wiki.post_id}
