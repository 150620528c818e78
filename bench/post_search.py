"""Benchmark of the Search RPC end to end: access funnel, tantivy query, re-check in MongoDB.

Run: ``.venv/bin/python -m bench.post_search [--full] [--budget SECONDS]``

Creates items through CreatePost (default 600, ``--full`` 3,000) in a set of open
communities and one pinhole granted to a partner org, waits until the index
(fed from the post topic) holds them all, then reports Search latency p50/p99
for an employee (readable spaces from the read model) and for a partner user
(readable spaces from the real community service's ListSpaces on every call), with
one-, two- and three-word queries, exact titles, and filters. The engine alone
is measured by ``bench.search_bench``; this adds what the service does around it.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from typing import Any

from bench.post_common import create_post, in_parallel, measure, post_platform
from guildhall.post.v1 import post_pb2 as pb

WORDS = (
    "invoice",
    "ledger",
    "payment",
    "supplier",
    "contract",
    "audit",
    "tax",
    "vendor",
    "onboarding",
    "customs",
    "freight",
    "warehouse",
    "forecast",
    "budget",
    "approval",
    "workflow",
    "migration",
    "release",
    "incident",
    "outage",
    "backup",
    "integration",
    "interface",
    "mapping",
    "archive",
    "retention",
    "compliance",
    "privacy",
    "security",
    "access",
)


async def run(full: bool, budget: float) -> None:
    items = 3_000 if full else 600
    rng = random.Random(7)
    titles: list[str] = []
    ids: list[str] = []
    async with post_platform() as pf:
        h = pf.post
        print(f"post_search: {items:,} items, budget {budget:.0f}s per phase")
        await pf.people("author", "reader", partners={"val": "acme"})
        communities = [
            await pf.new_community("author", members={"reader": "member"}) for _ in range(20)
        ]
        hole = await pf.open_pinhole(communities[0], "author", grants={"acme": "viewer"})

        async def write(i: int) -> None:
            words = rng.sample(WORDS, 4)
            title = " ".join(words[:3])
            titles.append(title)
            space = hole if i % 10 == 0 else communities[i % len(communities)]
            post = await create_post(
                h,
                "author",
                space,
                title=title,
                body=" ".join(rng.choices(WORDS, k=60)),
                tags=[words[3]],
            )
            ids.append(post.post_id)

        took = await in_parallel(items, 4, write)
        print(f"  wrote {items:,} items in {took:.1f}s")
        started = time.monotonic()
        for post_id in ids:
            await h.index_has(post_id, within=300)
        print(f"  index caught up {time.monotonic() - started:.1f}s after the last write")

        queries = [
            *(rng.choice(WORDS) for _ in range(50)),
            *(" ".join(rng.sample(WORDS, 2)) for _ in range(50)),
            *(" ".join(rng.sample(WORDS, 3)) for _ in range(50)),
            *rng.sample(titles, 50),
        ]
        employee = h.auth("reader")
        partner = h.auth("val", partner_org="acme")
        for who, auth in (
            ("employee (20 open communities + pinhole)", employee),
            ("partner (one pinhole, ListSpaces per call)", partner),
        ):

            async def plain(i: int, auth: Any = auth) -> None:
                await h.stub.Search(
                    pb.SearchRequest(query=queries[i % len(queries)]), metadata=auth, timeout=30
                )

            await measure(f"search as {who}", plain, count=400, budget_s=budget)
        await measure(
            "search with filters (type, tag, space) as employee",
            lambda i: h.stub.Search(
                pb.SearchRequest(
                    query=queries[i % len(queries)],
                    type=pb.POST_TYPE_DISCUSSION,
                    tag=WORDS[i % len(WORDS)],
                    space_id=communities[i % len(communities)],
                ),
                metadata=employee,
                timeout=30,
            ),
            count=400,
            budget_s=budget,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the larger seed scale")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds per phase")
    args = parser.parse_args()
    asyncio.run(run(args.full, args.budget))


if __name__ == "__main__":
    main()
