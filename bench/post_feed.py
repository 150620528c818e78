"""Benchmark of the post service's write and feed paths, end to end over gRPC.

Run: ``.venv/bin/python -m bench.post_feed [--full] [--budget SECONDS]``

Against the local stack (Kafka, FerretDB), one in-process post service, with a
``posts`` collection holding far more content than the spaces measured: default
20,000 items across 5,000 other spaces, ``--full`` 200,000 across 50,000 (the
reference scale's communities), seeded in bulk through the service's own repository
(the documents CreatePost writes; see bench.post_common). Reports latency p50/p99 of:

- CreatePost into a 10-member community and into a 100,000-member community,
  interleaved (fan-out on read: the two must cost the author the same; ADR 0006),
  and their ratio;
- ListSpaceFeed of a space with 1,000 items (``--full`` 5,000) over 90 days: the
  first page, page 26, and first pages filtered by type and by tag;
- ListHomeFeed of members of 50 and of 500 communities whose spaces hold 1,000
  items (``--full`` 5,000): first and second page; and of a member of the big
  community;
- for reference, the space feed's query (``{space_id, state: published} sort _id
  desc limit 21`` on ``space_feed``) sent straight to the database: the database's
  share of a page.

Every phase stops at ``--budget`` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time

import pymongo

from bench.post_common import (
    TAGS,
    create_post,
    measure,
    percentile,
    post_service,
    report,
    seed_community,
    seed_content,
)
from guildhall.post.v1 import post_pb2 as pb
from guildhall_testsupport.post import PostHarness

READER = "reader"


HOME_SIZES = (50, 500)
"""The home readers: a member of the first 50 home communities, and one of all 500."""


async def run(full: bool, budget: float) -> None:
    async with post_service() as h:
        print(f"post_feed: scale={'full' if full else 'default'}, budget {budget:.0f}s per phase")
        await _seed(h, full)
        await _creates(h, budget)
        await _space_feed(h, budget, 5_000 if full else 1_000)
        for many in HOME_SIZES:
            await _home_feed(h, budget, many, 5_000 if full else 1_000)


async def _seed(h: PostHarness, full: bool) -> None:
    many = max(HOME_SIZES)
    big_members = 100_000
    background_items = 200_000 if full else 20_000
    background_spaces = 50_000 if full else 5_000
    feed_posts = 5_000 if full else 1_000
    home_posts = 5_000 if full else 1_000
    rng = random.Random(2026)
    started = time.monotonic()
    await seed_community(h, "small", [f"s{i}" for i in range(10)])
    await seed_community(h, "big", [f"m{i}" for i in range(big_members)])
    home_spaces = [f"home{i}" for i in range(many)]
    for i, space in enumerate(home_spaces):
        readers = [f"{READER}{n}" for n in HOME_SIZES if i < n]
        await seed_community(h, space, [f"{space}-owner", *readers, "writer"])
    took = time.monotonic() - started
    print(
        f"  read model: 10 + {big_members:,} members, {many} communities of the home readers"
        f" ({took:.1f}s)"
    )
    others = [f"other{i}" for i in range(background_spaces)]
    took = await seed_content(h, others, background_items, days=365, rng=rng)
    print(
        f"  seeded {background_items:,} items in {background_spaces:,} other spaces"
        f" over 365 days ({took:.1f}s)"
    )
    took = await seed_content(h, ["big"], feed_posts, days=90, rng=rng)
    print(f"  seeded {feed_posts:,} items in the big community over 90 days ({took:.1f}s)")
    took = await seed_content(h, home_spaces, home_posts, days=90, rng=rng)
    print(
        f"  seeded {home_posts:,} items across the home readers' {many} communities"
        f" over 90 days ({took:.1f}s)"
    )
    with pymongo.timeout(600):  # a count reads the collection on FerretDB
        count = await h.db["posts"].estimated_document_count()
    print(f"  posts: {count:,} documents")


async def _creates(h: PostHarness, budget: float) -> None:
    print("CreatePost (author cost; fan-out on read), small and big interleaved")
    samples: dict[str, list[float]] = {"small": [], "big": []}

    async def pair(i: int) -> None:
        # Alternate which goes first: the second of a pair shares the single FerretDB writer
        # connection with the relay's clear of the first one's events.
        order = (("small", "s1"), ("big", "m1"))
        for space, author in order if i % 2 == 0 else order[::-1]:
            began = time.perf_counter()
            await create_post(h, author, space, title=f"{space} {i}", body="hello")
            samples[space].append((time.perf_counter() - began) * 1000)

    await measure("create one in each (pair)", pair, count=300, budget_s=budget)
    for space, label in (("small", "10-member"), ("big", "100,000-member")):
        report(f"create in a {label} community", samples[space])
    ratio = percentile(samples["big"], 50) / percentile(samples["small"], 50)
    print(f"  ratio big/small p50 = {ratio:.2f}")


async def _space_feed(h: PostHarness, budget: float, feed_posts: int) -> None:
    print(f"ListSpaceFeed (the big community: {feed_posts:,} seeded items + the creates)")
    await _feed(h, "first page (20)", pb.ListSpaceFeedRequest(space_id="big"), budget)
    deep_token = await _token_at(h, "m7", depth=25)
    await _feed(
        h,
        "page 26 (items 501-520)",
        pb.ListSpaceFeedRequest(space_id="big", page_token=deep_token),
        budget,
    )
    await _feed(
        h,
        "first page, type question (15%)",
        pb.ListSpaceFeedRequest(space_id="big", type=pb.POST_TYPE_QUESTION),
        budget,
    )
    tagged = pb.ListSpaceFeedRequest(space_id="big", tag=TAGS[3])
    await _feed(h, "first page, one tag (10%)", tagged, budget)
    page = await h.stub.ListSpaceFeed(tagged, metadata=h.auth("m7"), timeout=30)
    print(f"    (the tag page holds {len(page.posts)} items)")
    query = {"space_id": "big", "state": "published"}

    async def direct(i: int) -> None:
        await h.db["posts"].find(query).sort("_id", -1).limit(21).to_list(length=21)

    await measure(
        "reference: the first page's query, direct to the DB", direct, count=300, budget_s=budget
    )


async def _home_feed(h: PostHarness, budget: float, many: int, home_posts: int) -> None:
    reader = h.auth(f"{READER}{many}")
    print(f"ListHomeFeed (a member of {many} communities; their spaces hold {home_posts:,} items)")
    await measure(
        "first page (20)",
        lambda i: h.stub.ListHomeFeed(pb.ListHomeFeedRequest(), metadata=reader, timeout=30),
        count=200,
        budget_s=budget,
    )
    token = (
        await h.stub.ListHomeFeed(pb.ListHomeFeedRequest(), metadata=reader, timeout=30)
    ).next_page_token
    await measure(
        "second page (20)",
        lambda i: h.stub.ListHomeFeed(
            pb.ListHomeFeedRequest(page_token=token), metadata=reader, timeout=30
        ),
        count=200,
        budget_s=budget,
    )
    if many != max(HOME_SIZES):
        return
    await measure(
        "first page, member of the 100,000-member community",
        lambda i: h.stub.ListHomeFeed(pb.ListHomeFeedRequest(), metadata=h.auth("m42"), timeout=30),
        count=200,
        budget_s=budget,
    )


async def _feed(h: PostHarness, name: str, request: pb.ListSpaceFeedRequest, budget: float) -> None:
    await measure(
        name,
        lambda i: h.stub.ListSpaceFeed(request, metadata=h.auth("m7"), timeout=30),
        count=300,
        budget_s=budget,
    )


async def _token_at(h: PostHarness, reader: str, *, depth: int) -> str:
    token = ""
    for _ in range(depth):
        page = await h.stub.ListSpaceFeed(
            pb.ListSpaceFeedRequest(space_id="big", page_token=token),
            metadata=h.auth(reader),
            timeout=30,
        )
        token = page.next_page_token
    return token


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the larger seed scale")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds per phase")
    args = parser.parse_args()
    asyncio.run(run(args.full, args.budget))


if __name__ == "__main__":
    main()
