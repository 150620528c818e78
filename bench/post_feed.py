"""Benchmark of the post service's write and feed paths, end to end over gRPC.

Run: ``.venv/bin/python -m bench.post_feed [--full] [--budget SECONDS]``

Against the local stack (Kafka, FerretDB), one in-process post service. Reports
latency p50/p99 of:

- CreatePost into a 10-member community and into a 100,000-member community
  (fan-out on read: the two must cost the author the same; ADR 0006);
- ListSpaceFeed: the first page, and a page deep in a long feed;
- ListHomeFeed of a member of many communities (default 50, ``--full`` 500),
  first page and following pages, with content spread over all of them.

Default scale keeps the run to a couple of minutes; ``--full`` seeds more
content and more communities. Every phase stops at ``--budget`` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from bench.post_common import (
    create_post,
    in_parallel,
    measure,
    percentile,
    post_service,
    report,
    seed_community,
)
from guildhall.post.v1 import post_pb2 as pb
from guildhall_post.testing import PostHarness


async def run(full: bool, budget: float) -> None:
    big_members = 100_000
    many = 500 if full else 50
    feed_posts = 5_000 if full else 1_000
    home_posts = 5_000 if full else 1_000
    writers = 4  # FerretDB 1.x serialises writes on one SQLite file; more writers only queue
    async with post_service() as h:
        print(f"post_feed: scale={'full' if full else 'default'}, budget {budget:.0f}s per phase")
        started = time.monotonic()
        await seed_community(h, "small", [f"s{i}" for i in range(10)])
        await seed_community(
            h, "big", [f"m{i}" for i in range(big_members)], index_members=["m1", "m7", "m42"]
        )
        took = time.monotonic() - started
        print(f"  seeded read model: 10 + {big_members:,} members in {took:.1f}s")

        print("CreatePost (author cost; fan-out on read), small and big interleaved")
        samples: dict[str, list[float]] = {"small": [], "big": []}

        async def pair(i: int) -> None:
            for space, author in (("small", "s1"), ("big", "m1")):
                began = time.perf_counter()
                await create_post(h, author, space, title=f"{space} {i}", body="hello")
                samples[space].append((time.perf_counter() - began) * 1000)

        await measure("create one in each (pair)", pair, count=300, budget_s=budget)
        for space, label in (("small", "10-member"), ("big", "100,000-member")):
            report(f"create in a {label} community", samples[space])
        ratio = percentile(samples["big"], 50) / percentile(samples["small"], 50)
        print(f"  ratio big/small p50 = {ratio:.2f}")

        print(f"ListSpaceFeed (a space with {feed_posts:,}+ items)")
        took = await in_parallel(
            feed_posts,
            writers,
            lambda i: create_post(h, f"m{i % 100}", "big", title=f"feed {i}", body="b"),
        )
        print(f"  wrote {feed_posts:,} items with {writers} writers in {took:.1f}s")
        await measure(
            "first page (20)",
            lambda i: h.stub.ListSpaceFeed(
                pb.ListSpaceFeedRequest(space_id="big"), metadata=h.auth("m7"), timeout=30
            ),
            count=300,
            budget_s=budget,
        )
        deep_token = await _token_at(h, "m7", depth=25)
        await measure(
            "page 25 (items 500-520)",
            lambda i: h.stub.ListSpaceFeed(
                pb.ListSpaceFeedRequest(space_id="big", page_token=deep_token),
                metadata=h.auth("m7"),
                timeout=30,
            ),
            count=300,
            budget_s=budget,
        )

        print(f"ListHomeFeed (a member of {many} communities)")
        reader = "reader"
        spaces = [f"home{i}" for i in range(many)]
        started = time.monotonic()
        for space in spaces:
            await seed_community(h, space, [f"{space}-owner", reader, "writer"])
        print(f"  seeded {many} communities in {time.monotonic() - started:.1f}s")
        took = await in_parallel(
            home_posts,
            writers,
            lambda i: create_post(h, "writer", spaces[i % many], title=f"home {i}", body="b"),
        )
        print(f"  wrote {home_posts:,} items across them in {took:.1f}s")
        await measure(
            "first page (20)",
            lambda i: h.stub.ListHomeFeed(
                pb.ListHomeFeedRequest(), metadata=h.auth(reader), timeout=30
            ),
            count=200,
            budget_s=budget,
        )
        token = (
            await h.stub.ListHomeFeed(pb.ListHomeFeedRequest(), metadata=h.auth(reader), timeout=30)
        ).next_page_token
        await measure(
            "second page (20)",
            lambda i: h.stub.ListHomeFeed(
                pb.ListHomeFeedRequest(page_token=token), metadata=h.auth(reader), timeout=30
            ),
            count=200,
            budget_s=budget,
        )
        await measure(
            "first page, member of the 100,000-member community",
            lambda i: h.stub.ListHomeFeed(
                pb.ListHomeFeedRequest(), metadata=h.auth("m42"), timeout=30
            ),
            count=200,
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
