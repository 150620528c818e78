"""Benchmark of the post service's child listings: answers, comments and revisions, over gRPC.

Run: ``.venv/bin/python -m bench.post_children [--full] [--budget SECONDS]``

Against the local stack (Kafka, FerretDB), one in-process post service. One question
in an open community holds 50 answers and 50 comments, one wiki page holds 50
revisions; around them the collections hold far more: default 2,000 other questions
with 10 answers and 10 comments each (20,000 of each, ``--full`` 20,000 questions,
200,000 of each), seeded in bulk through the service's own repository
(``ContentRepository.seed``: the documents and revision copies PostAnswer / AddComment
write, without events). Reports p50/p99 of the first page (20) of ListAnswers,
ListComments and ListRevisions, of a later page of each, and, for reference, the answers
page's query sent straight to the database (``{question_id} sort _id limit 21`` on the
``answers_by_question`` index), which separates the database's share from the service's.

Every phase stops at ``--budget`` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pymongo

from bench.post_common import measure, post_service, seed_community
from guildhall.post.v1 import post_pb2 as pb
from guildhall_kit.clock import new_id
from guildhall_post.app import content_of
from guildhall_post.domain.answers import Answer, new_answer
from guildhall_post.domain.comments import Comment, new_comment
from guildhall_post.domain.posts import Post, PostType, new_post
from guildhall_testsupport.post import PostHarness

READER = "reader"
SPACE = "qa"
CHILDREN = 50


def _post(post_id: str, post_type: PostType, at: datetime) -> Post:
    return new_post(
        post_id=post_id,
        space_id=SPACE,
        post_type=post_type,
        title="Seeded",
        body="Seeded body",
        tags=("topic1",),
        mentions=(),
        quoted_post_id="",
        author_id="asker",
        pinned=False,
        summary="",
        at=at,
    )


def _family(question_id: str, at: datetime, n: int) -> tuple[list[Answer], list[Comment]]:
    """``n`` answers of the question and ``n`` comments on it (every third one a reply)."""
    answers: list[Answer] = []
    comments: list[Comment] = []
    for i in range(n):
        when = at + timedelta(seconds=i + 1)
        answers.append(
            new_answer(
                answer_id=new_id(when),
                question_id=question_id,
                space_id=SPACE,
                author_id=f"expert{i % 97}",
                body=f"Answer {i}",
                mentions=(),
                at=when,
            )
        )
        top = [c for c in comments if not c.is_reply]
        comments.append(
            new_comment(
                comment_id=new_id(when),
                post_id=question_id,
                answer_id="",
                parent=top[-1] if i % 3 == 2 and top else None,
                space_id=SPACE,
                author_id=f"person{i % 89}",
                body=f"Comment {i}",
                mentions=(),
                at=when,
            )
        )
    return answers, comments


async def _seed(h: PostHarness, questions: int, per_question: int) -> tuple[str, str]:
    content = content_of(h.service)
    await seed_community(h, SPACE, ["owner", READER, "asker"])
    started = time.monotonic()
    base = datetime.now(UTC) - timedelta(days=30)
    chunk = 500
    for start in range(0, questions, chunk):
        items: list[Post | Answer | Comment] = []
        for q in range(start, min(questions, start + chunk)):
            at = base + timedelta(minutes=q)
            qid = new_id(at)
            items.append(_post(qid, PostType.QUESTION, at))
            a, c = _family(qid, at, per_question)
            items += a
            items += c
        await content.seed(items)
    took = time.monotonic() - started
    print(
        f"  seeded {questions:,} questions with {per_question} answers and"
        f" {per_question} comments each ({took:.1f}s)"
    )
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    question = _post(new_id(at), PostType.QUESTION, at)
    answers, comments = _family(question.post_id, at, CHILDREN)
    await content.seed([question, *answers, *comments])
    wiki = replace(
        _post(new_id(at), PostType.WIKI_PAGE, at), revision=CHILDREN, body=f"rev {CHILDREN}"
    )
    await content.seed([wiki])
    first = wiki.current_revision()
    for n in range(1, CHILDREN):
        await content.keep_revision(replace(first, revision=n, body=f"rev {n}"))
    for name in ("posts", "answers", "comments", "revisions"):
        with pymongo.timeout(600):
            count = await h.db[name].estimated_document_count()
        print(f"  {name}: {count:,} documents")
    return question.post_id, wiki.post_id


async def run(full: bool, budget: float) -> None:
    questions = 20_000 if full else 2_000
    async with post_service() as h:
        print(f"post_children: scale={'full' if full else 'default'}, budget {budget:.0f}s")
        question, wiki = await _seed(h, questions, 10)
        me = h.auth(READER)
        owner = h.auth("asker")
        calls: dict[str, Callable[[str], Awaitable[Any]]] = {
            "ListAnswers": lambda token: h.stub.ListAnswers(
                pb.ListAnswersRequest(question_id=question, page_token=token),
                metadata=me,
                timeout=60,
            ),
            "ListComments": lambda token: h.stub.ListComments(
                pb.ListCommentsRequest(post_id=question, page_token=token),
                metadata=me,
                timeout=60,
            ),
            "ListRevisions": lambda token: h.stub.ListRevisions(
                pb.ListRevisionsRequest(item_id=wiki, page_token=token),
                metadata=owner,
                timeout=60,
            ),
        }
        print(f"First and second pages (20) of a question with {CHILDREN} answers / comments")
        for name, call in calls.items():
            token = str((await call("")).next_page_token)
            await _pages(name, call, token, budget)

        async def before(i: int) -> None:
            with pymongo.timeout(600):
                await (
                    h.db["answers"]
                    .find({"question_id": question})
                    .sort("_id", 1)
                    .limit(21)
                    .to_list(length=21)
                )

        await measure(
            "reference: the answers page's query, direct to the DB",
            before,
            count=5,
            budget_s=budget,
        )


async def _pages(
    name: str, call: Callable[[str], Awaitable[Any]], token: str, budget: float
) -> None:
    async def first(i: int) -> None:
        await call("")

    async def second(i: int) -> None:
        await call(token)

    await measure(f"{name}, first page", first, count=200, budget_s=budget)
    await measure(f"{name}, second page", second, count=200, budget_s=budget)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the larger seed scale")
    parser.add_argument("--budget", type=float, default=30.0, help="seconds per phase")
    args = parser.parse_args()
    asyncio.run(run(args.full, args.budget))


if __name__ == "__main__":
    main()
