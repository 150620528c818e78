"""Shared pieces of the post service benchmarks: a running service, seeding, timing.

The service runs in process (``guildhall_post.testing.running_post_service``)
against the real Kafka and FerretDB (``GUILDHALL_KAFKA_BOOTSTRAP_SERVERS`` /
``GUILDHALL_MONGO_URI``, defaulting to the local stack of ``make infra-up``),
with its own database and topics, dropped afterwards. Every measured call goes
through gRPC, the kit's interceptor (token check, validation), the access
funnel and MongoDB, as a client's would.

Seeding the access read model writes the documents the community events would
have produced (``rm_communities``, ``rm_memberships``) in bulk, because 100,000
MemberJoined events through Kafka would measure the consumer, not the post
service. Content is always created through the CreatePost RPC.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from guildhall.post.v1 import post_pb2 as pb
from guildhall_post.testing import PostHarness, running_post_service

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
            outbox_poll_seconds=1.0,
        ) as harness:
            yield harness


async def seed_community(
    h: PostHarness,
    community_id: str,
    members: Sequence[str],
    *,
    visibility: str = "open",
    index_members: Sequence[str] | None = None,
) -> None:
    """The read-model documents CommunityCreated + MemberJoined events would leave, in bulk.

    ``index_members`` limits whose per-person index document is written (all members by
    default; the 100,000-member case indexes only the people whose home feed is read).
    """
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
    # Each member's own index document, as the membership events would have updated it.
    for person in members if index_members is None else index_members:
        await db["rm_person_communities"].update_one(
            {"_id": person}, {"$set": {f"communities.{community_id}": "member"}}, upsert=True
        )


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
