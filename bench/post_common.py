"""Shared pieces of the post service benchmarks: a running service, seeding, timing.

The service runs in process (``guildhall_testsupport.post.running_post_service``)
against the real Kafka and FerretDB (``GUILDHALL_KAFKA_BOOTSTRAP_SERVERS`` /
``GUILDHALL_MONGO_URI``, defaulting to the local stack of ``make infra-up``),
with its own database and topics, dropped afterwards. Every measured call goes
through gRPC, the kit's interceptor (token check, validation), the access
funnel and MongoDB, as a client's would.

Seeding the access read model writes the documents the community events would
have produced (``rm_communities``, ``rm_memberships``) in bulk, because 100,000
MemberJoined events through Kafka would measure the consumer, not the post
service. Content to measure against is seeded in bulk too, through the post
service's own repository (:meth:`guildhall_testsupport.post.PostHarness.seed_posts`: the
documents CreatePost writes, without events), so a benchmark
can hold hundreds of thousands of items; every post whose latency is reported goes
through the CreatePost RPC.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from guildhall.post.v1 import post_pb2 as pb
from guildhall_post.domain.posts import PostType
from guildhall_testsupport.post import (
    PostHarness,
    PostPlatform,
    SeedPost,
    running_post_platform,
    running_post_service,
)

KAFKA = os.environ.get("GUILDHALL_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092")
MONGO = os.environ.get("GUILDHALL_MONGO_URI", "mongodb://127.0.0.1:27027/")


@asynccontextmanager
async def post_service() -> AsyncIterator[PostHarness]:
    """A fresh post service on the local stack; its database and topics go afterwards."""
    with tempfile.TemporaryDirectory(prefix="post-bench-") as tmp:
        async with running_post_service(
            kafka=KAFKA,
            mongo=MONGO,
            unique=os.urandom(4).hex(),
            tmp=Path(tmp),
            # Writes hint the relay, which publishes each created post at once. Its backstop
            # scan (for events no hint named) reads every document of the outbox collections
            # on FerretDB, through the single writer connection, so every write waits behind
            # it: seconds per 20,000 posts. Benchmarks of the write path keep it out of the
            # measured window (production default 0.5 s; MongoDB serves it from its index).
            outbox_poll_seconds=600.0,
        ) as harness:
            yield harness


@asynccontextmanager
async def post_platform() -> AsyncIterator[PostPlatform]:
    """A fresh post service beside the real community service (partner decisions are its
    CheckAccess / ListSpaces), on the local stack; both dropped afterwards."""
    with tempfile.TemporaryDirectory(prefix="post-bench-") as tmp:
        async with running_post_platform(
            kafka=KAFKA, mongo=MONGO, tmp=Path(tmp), outbox_poll_seconds=600.0
        ) as platform:
            yield platform


async def seed_community(
    h: PostHarness,
    community_id: str,
    members: Sequence[str],
    *,
    visibility: str = "open",
) -> None:
    """The read-model documents CommunityCreated + MemberJoined events would leave, in bulk."""
    db = h.db
    await db["rm_communities"].insert_one(
        {"_id": community_id, "visibility": visibility, "state": "active", "version": 1}
    )
    batch = 5000
    for start in range(0, len(members), batch):
        await db["rm_memberships"].insert_many(
            [
                {
                    "_id": f"{community_id}:{person}",
                    "community_id": community_id,
                    "person_id": person,
                    "role": "owner" if i == 0 and start == 0 else "member",
                    "membership_version": 1,
                }
                for i, person in enumerate(members[start : start + batch])
            ],
            ordered=False,
        )


TYPE_MIX: tuple[tuple[PostType, float], ...] = (
    (PostType.DISCUSSION, 0.70),
    (PostType.QUESTION, 0.15),
    (PostType.IDEA, 0.10),
    (PostType.ANNOUNCEMENT, 0.05),
)
"""Share of each type among seeded posts."""
TAGS = tuple(f"topic{i}" for i in range(10))
"""Each seeded post carries one of these, so a tag filter matches one post in ten."""


async def seed_content(
    h: PostHarness,
    spaces: Sequence[str],
    count: int,
    *,
    days: int,
    rng: random.Random,
    chunk: int = 5000,
) -> float:
    """``count`` posts spread evenly over ``spaces`` (round robin), created at random times
    within the last ``days`` days (up to a minute ago), with :data:`TYPE_MIX` types and one
    of :data:`TAGS`, stored in bulk; seconds taken."""
    started = time.monotonic()
    newest = datetime.now(UTC) - timedelta(minutes=1)
    span_ms = days * 86_400_000
    kinds = [k for k, _ in TYPE_MIX]
    weights = [w for _, w in TYPE_MIX]
    for start in range(0, count, chunk):
        batch = [
            SeedPost(
                space_id=spaces[i % len(spaces)],
                author_id=f"author{i % 997}",
                at=newest - timedelta(milliseconds=rng.randrange(span_ms)),
                post_type=rng.choices(kinds, weights)[0],
                title=f"Seeded item {i}",
                body=f"Body of seeded item {i}, a paragraph or two in real life.",
                tags=(rng.choice(TAGS),),
            )
            for i in range(start, min(count, start + chunk))
        ]
        await h.seed_posts(batch)
    return time.monotonic() - started


async def create_post(
    h: PostHarness, author: str, space: str, *, title: str, body: str, tags: Sequence[str] = ()
) -> pb.Post:
    reply = await h.stub.CreatePost(
        pb.CreatePostRequest(
            space_id=space, type=pb.POST_TYPE_DISCUSSION, title=title, body=body, tags=list(tags)
        ),
        metadata=h.auth(author),
        timeout=30,
    )
    return reply.post


def percentile(samples: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0-100) of ``samples``, nearest rank."""
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


async def measure(
    name: str,
    call: Callable[[int], Awaitable[Any]],
    *,
    count: int,
    budget_s: float,
) -> dict[str, float]:
    """Run ``call(i)`` sequentially up to ``count`` times or ``budget_s`` seconds; latency stats."""
    samples: list[float] = []
    stop_at = time.monotonic() + budget_s
    for i in range(count):
        if time.monotonic() > stop_at:
            break
        started = time.perf_counter()
        await call(i)
        samples.append((time.perf_counter() - started) * 1000)
    return report(name, samples)


def report(name: str, samples: Sequence[float]) -> dict[str, float]:
    """Print and return latency statistics of ``samples`` (milliseconds)."""
    stats = {
        "n": float(len(samples)),
        "p50_ms": percentile(samples, 50),
        "p99_ms": percentile(samples, 99),
        "mean_ms": statistics.fmean(samples) if samples else float("nan"),
    }
    print(
        f"  {name:<52} n={len(samples):>5}  p50={stats['p50_ms']:7.1f} ms"
        f"  p99={stats['p99_ms']:7.1f} ms  mean={stats['mean_ms']:7.1f} ms",
        flush=True,
    )
    return stats


async def in_parallel(count: int, width: int, job: Callable[[int], Awaitable[Any]]) -> float:
    """Run ``job(i)`` for i < count, ``width`` at a time; seconds taken."""
    started = time.monotonic()
    queue = iter(range(count))

    async def worker() -> None:
        for i in queue:
            await job(i)

    await asyncio.gather(*(worker() for _ in range(width)))
    return time.monotonic() - started
