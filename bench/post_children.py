"""Benchmark of the post service's child lists: answers, comments and revisions, over gRPC.

Run: ``.venv/bin/python -m bench.post_children [--full] [--budget SECONDS]``

Against the local stack (Kafka, FerretDB), one in-process post service. One question
in an open community holds 50 answers and 50 comments, one wiki page holds 50
revisions; around them the collections hold far more: default 2,000 other questions
with 10 answers and 10 comments each (20,000 of each, ``--full`` 20,000 questions,
200,000 of each), seeded in bulk through the service's own store
(``Store.insert_posts`` / ``Store.insert_children``: the documents, revision copies
and child-list entries PostAnswer / AddComment write, without events). Reports p50/p99
of the first page (20) of ListAnswers, ListComments and ListRevisions, of a later
page of each, and, for reference, the former answers query sent straight to the
database (``{question_id} sort _id``, which FerretDB answers by scanning
``answers``).

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
from guildhall_kit.mongo import Document
from guildhall_post.adapters.clock import new_id
from guildhall_post.adapters.store import (
    Kind,
    answer_document,
    comment_document,
    current_revision,
    post_document,
)
from guildhall_post.app import store_of
from guildhall_post.domain.content import PostType
from guildhall_testsupport.post import PostHarness

READER = "reader"
SPACE = "qa"
CHILDREN = 50


def _post(post_id: str, post_type: PostType, at: datetime) -> Document:
    return post_document(
        post_id=post_id,
        space_id=SPACE,
        post_type=post_type,
        title="Seeded",
        body="Seeded body",
        tags=["topic1"],
        mentions=[],
        quoted_post_id="",
        author_id="asker",
        pinned=False,
        summary="",
        at=at,
    )


def _family(question_id: str, at: datetime, n: int) -> tuple[list[Document], list[Document]]:
    """``n`` answers of the question and ``n`` comments on it (every third one a reply)."""
    answers: list[Document] = []
    comments: list[Document] = []
    for i in range(n):
        when = at + timedelta(seconds=i + 1)
        answers.append(
            answer_document(
                answer_id=new_id(when),
                question_id=question_id,
                space_id=SPACE,
                author_id=f"expert{i % 97}",
                body=f"Answer {i}",
                mentions=[],
                at=when,
            )
        )
        thread = str(comments[-1]["thread_id"]) if i % 3 == 2 else ""
        comments.append(
            comment_document(
                comment_id=new_id(when),
                post_id=question_id,
                answer_id="",
                parent_comment_id=thread,
                thread_id=thread,
                space_id=SPACE,
                author_id=f"person{i % 89}",
                body=f"Comment {i}",
                mentions=[],
                at=when,
            )
        )
    return answers, comments


async def _seed(h: PostHarness, questions: int, per_question: int) -> tuple[str, str]:
    store = store_of(h.service)
    await seed_community(h, SPACE, ["owner", READER, "asker"])
    started = time.monotonic()
    base = datetime.now(UTC) - timedelta(days=30)
    chunk = 500
    for start in range(0, questions, chunk):
        posts, answers, comments = [], [], []
        for q in range(start, min(questions, start + chunk)):
            at = base + timedelta(minutes=q)
            qid = new_id(at)
            posts.append(_post(qid, PostType.QUESTION, at))
            a, c = _family(qid, at, per_question)
            answers += a
            comments += c
        await store.insert_posts(posts)
        await store.insert_children(Kind.ANSWER, answers)
        await store.insert_children(Kind.COMMENT, comments)
    took = time.monotonic() - started
    print(
        f"  seeded {questions:,} questions with {per_question} answers and"
        f" {per_question} comments each ({took:.1f}s)"
    )
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    question = _post(new_id(at), PostType.QUESTION, at)
    await store.insert_posts([question])
    answers, comments = _family(str(question["_id"]), at, CHILDREN)
    await store.insert_children(Kind.ANSWER, answers)
    await store.insert_children(Kind.COMMENT, comments)
    wiki = _post(new_id(at), PostType.WIKI_PAGE, at)
    await store.insert_posts([{**wiki, "revision": CHILDREN, "body": f"rev {CHILDREN}"}])
    first = current_revision(wiki)
    for n in range(1, CHILDREN):
        await store.keep_revision(replace(first, revision=n, body=f"rev {n}"))
    for name in ("posts", "answers", "comments", "revisions"):
        with pymongo.timeout(600):
            count = await h.db[name].estimated_document_count()
        print(f"  {name}: {count:,} documents")
    return str(question["_id"]), str(wiki["_id"])


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
            "reference: the answers query, direct to the DB", before, count=5, budget_s=budget
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
