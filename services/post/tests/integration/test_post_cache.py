"""The Redis cache of the feeds (ADR 0021) against real Redis, Kafka and FerretDB: what a
cache must never do (serve a deleted post, let a stale copy win, fail the service) and
what it must still do (page past its timelines, save round trips)."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from redis.asyncio import Redis

from guildhall.post.v1 import post_pb2 as pb
from guildhall_kit import roundtrips
from guildhall_post.adapters.repository.cache import KEEP, NEWEST, WHOLE, PostCache
from guildhall_post.app import content_of
from guildhall_testsupport.post import PostHarness, SeedPost, running_post_service

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REDIS_URL = os.environ.get("GUILDHALL_REDIS_URL", "redis://127.0.0.1:16379/0")


def _redis_port() -> int:
    return int(REDIS_URL.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])


@pytest.fixture(scope="module")
async def h(infra: Any, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[PostHarness]:
    try:
        socket.create_connection(("127.0.0.1", _redis_port()), timeout=2).close()
    except OSError:
        pytest.fail(f"Redis not reachable at {REDIS_URL}; run `make infra-up`", pytrace=False)
    async with running_post_service(
        kafka=infra.kafka_bootstrap_servers,
        mongo=infra.mongo_uri,
        unique=secrets.token_hex(4),
        tmp=tmp_path_factory.mktemp("post-cache"),
        redis_url=REDIS_URL,
    ) as harness:
        yield harness


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()


def _cache(h: PostHarness) -> PostCache:
    cache = content_of(h.service)._cache
    assert cache is not None, "the service under test must run with its cache"
    return cache


async def _space(h: PostHarness, *members: str) -> str:
    cid = f"c-{secrets.token_hex(4)}"
    await h.community(cid, owner="olga", members=dict.fromkeys(members, "member"))
    await h.known(communities=[cid], members=[(cid, m) for m in members])
    return cid


async def _post(h: PostHarness, who: str, space: str, title: str = "Title") -> pb.Post:
    reply = await h.stub.CreatePost(
        pb.CreatePostRequest(
            space_id=space, type=pb.POST_TYPE_DISCUSSION, title=title, body="Body"
        ),
        metadata=h.auth(who),
        timeout=10,
    )
    return reply.post


async def _feed(h: PostHarness, who: str, space: str, size: int = 50, token: str = "") -> Any:
    return await h.stub.ListSpaceFeed(
        pb.ListSpaceFeedRequest(space_id=space, page_size=size, page_token=token),
        metadata=h.auth(who),
        timeout=10,
    )


async def _eventually(check: Callable[[], Awaitable[bool]], what: str, within: float = 15) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within {within}s: {what}")
        await asyncio.sleep(0.05)


async def _top(redis: Redis, key: str) -> str:
    """The top member of a timeline: its completeness marker, once built."""
    top: list[Any] = list(await redis.zrevrange(key, 0, 0))
    return bytes(top[0]).decode() if top else ""


async def _warm(h: PostHarness, redis: Redis, who: str, space: str) -> None:
    """Read the feed until its timeline is built (the first read builds it behind)."""
    key = f"{h.settings.database_name}:tl:{space}"

    async def built() -> bool:
        await _feed(h, who, space)
        return await _top(redis, key) in (WHOLE, NEWEST)

    await _eventually(built, f"the timeline of {space} is built")


async def test_a_deleted_post_leaves_warm_feeds_at_once(h: PostHarness, redis: Redis) -> None:
    space = await _space(h, "ann", "ben")
    posts = [await _post(h, "ann", space, f"Post {n}") for n in range(5)]
    await _warm(h, redis, "ben", space)
    home = await h.stub.ListHomeFeed(pb.ListHomeFeedRequest(page_size=50), metadata=h.auth("ben"))
    assert posts[2].post_id in [p.post_id for p in home.posts]

    await h.stub.DeletePost(
        pb.DeletePostRequest(post_id=posts[2].post_id), metadata=h.auth("ann"), timeout=10
    )

    # No wait: the delete wrote the cache before it answered.
    feed = await _feed(h, "ben", space)
    assert [p.post_id for p in feed.posts] == [p.post_id for p in reversed(posts) if p != posts[2]]
    home = await h.stub.ListHomeFeed(pb.ListHomeFeedRequest(page_size=50), metadata=h.auth("ben"))
    assert posts[2].post_id not in [p.post_id for p in home.posts]
    copy = (await _cache(h).copies([posts[2].post_id]) or {})[posts[2].post_id]
    assert copy["state"] == "deleted"  # a tombstone, so no late fill brings it back


async def test_a_stale_copy_never_replaces_a_newer_one(h: PostHarness) -> None:
    cache = _cache(h)
    post_id = f"01zzzzzzzz{secrets.token_hex(8)}"[:26]
    base = {"_id": post_id, "space_id": "s-stale", "title": "v2", "state": "published"}
    assert await cache.store([{**base, "version": 2}])
    # A reader that read version 1 before the write fills the cache after it: refused.
    assert await cache.store([{**base, "title": "v1", "version": 1}])
    # A delete (version 3) then a late fill of version 2: the tombstone stays.
    assert await cache.store([{**base, "state": "deleted", "version": 3}], timelines=True)
    assert await cache.store([{**base, "version": 2}], timelines=True)
    copy = (await cache.copies([post_id]) or {})[post_id]
    assert (copy["title"], copy["state"], copy["version"]) == ("v2", "deleted", 3)


async def test_a_cache_write_that_failed_is_repaired_from_the_events(
    h: PostHarness, redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    space = await _space(h, "cal", "dee")
    posts = [await _post(h, "cal", space, f"Post {n}") for n in range(3)]
    await _warm(h, redis, "dee", space)
    cache = _cache(h)
    real_store = cache.store
    failed: list[int] = []

    async def store_failing_once(docs: Any, *, timelines: bool = False) -> bool:
        if not failed:
            failed.append(1)
            return False  # as if Redis had been unreachable for this write
        return await real_store(docs, timelines=timelines)

    monkeypatch.setattr(cache, "store", store_failing_once)
    await h.stub.DeletePost(
        pb.DeletePostRequest(post_id=posts[1].post_id), metadata=h.auth("cal"), timeout=10
    )
    assert failed, "the delete's cache write was not attempted"

    async def repaired() -> bool:
        copy = (await cache.copies([posts[1].post_id]) or {}).get(posts[1].post_id)
        feed = await _feed(h, "dee", space)
        return (
            copy is not None
            and copy["state"] == "deleted"
            and posts[1].post_id not in [p.post_id for p in feed.posts]
        )

    # PostDeleted -> the post.cache consumer -> the copy and the timeline from MongoDB.
    await _eventually(repaired, "the post.cache consumer repairs the copy from PostDeleted")


async def test_pages_past_a_timeline_come_from_the_database(h: PostHarness, redis: Redis) -> None:
    space = await _space(h, "eve")
    start = datetime.now(UTC) - timedelta(days=3)
    ids = await h.seed_posts(
        [SeedPost(space, "eve", start + timedelta(minutes=n)) for n in range(KEEP + 37)]
    )
    await _warm(h, redis, "eve", space)
    top = await _top(redis, f"{h.settings.database_name}:tl:{space}")
    assert top == NEWEST  # only the newest KEEP ids are on the timeline
    seen: list[str] = []
    token = ""
    while True:
        page = await _feed(h, "eve", space, size=45, token=token)
        seen += [p.post_id for p in page.posts]
        token = page.next_page_token
        if not token:
            break
    assert seen == list(reversed(ids))


async def test_without_redis_the_service_reads_the_database(infra: Any, tmp_path: Any) -> None:
    async with running_post_service(
        kafka=infra.kafka_bootstrap_servers,
        mongo=infra.mongo_uri,
        unique=secrets.token_hex(4),
        tmp=tmp_path,
        redis_url="redis://127.0.0.1:1/0",  # nothing listens: every cache call fails
    ) as h:
        space = await _space(h, "fay")
        made = [await _post(h, "fay", space, f"Post {n}") for n in range(3)]
        for _ in range(2):
            feed = await _feed(h, "fay", space)
            assert [p.post_id for p in feed.posts] == [p.post_id for p in reversed(made)]


async def _tally(call: Any) -> roundtrips.Tally:
    """The round trips a finished call reported in its trailer."""
    await call
    return roundtrips.Tally.decode(str(dict(await call.trailing_metadata())[roundtrips.TRAILER]))


async def _warm_space_of_twelve(h: PostHarness, redis: Redis, author: str, reader: str) -> str:
    space = await _space(h, author, reader)
    for n in range(12):
        await _post(h, author, space, f"Post {n}")
    await _warm(h, redis, reader, space)
    return space


async def test_a_warm_home_feed_makes_no_database_round_trip(
    h: PostHarness, redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(roundtrips, "EXPOSE", True)
    await _warm_space_of_twelve(h, redis, "gus", "hal")
    request = pb.ListHomeFeedRequest(page_size=10)
    await _tally(h.stub.ListHomeFeed(request, metadata=h.auth("hal"), timeout=10))  # fills
    warm = await _tally(h.stub.ListHomeFeed(request, metadata=h.auth("hal"), timeout=10))
    # The spaces, the page's ids and its posts: three cache round trips, no database.
    assert (warm.db, warm.cache, warm.rpc) == (0, 3, 0), warm


async def _home(h: PostHarness, who: str) -> list[str]:
    page = await h.stub.ListHomeFeed(
        pb.ListHomeFeedRequest(page_size=50), metadata=h.auth(who), timeout=10
    )
    return [p.post_id for p in page.posts]


async def _has_role(h: PostHarness, community: str, person: str, role: str) -> bool:
    doc = await h.db.rm_memberships.find_one({"_id": f"{community}:{person}"})
    return doc is not None and doc.get("role") == role


async def test_leaving_a_community_empties_a_cached_home_feed_once_applied(
    h: PostHarness, redis: Redis
) -> None:
    space = await _space(h, "ivy", "jon")
    post = await _post(h, "ivy", space)
    await _warm(h, redis, "jon", space)
    assert post.post_id in await _home(h, "jon")
    assert post.post_id in await _home(h, "jon")  # now from the cached space set

    await h.leave(space, "jon")
    await h.settle(lambda db: _has_role(h, space, "jon", ""))
    # The read model applied MemberLeft and raised the person's counter in the same step.
    assert post.post_id not in await _home(h, "jon")


async def test_a_pinhole_change_reaches_cached_home_feeds_of_every_member(
    h: PostHarness, redis: Redis
) -> None:
    space = await _space(h, "kai", "lou")
    await _post(h, "kai", space)
    assert await _home(h, "lou")
    pinhole = f"p-{secrets.token_hex(4)}"
    await h.pinhole(pinhole, space)

    async def opened(db: Any) -> bool:
        doc = await db.rm_pinholes.find_one({"_id": pinhole})
        return doc is not None and doc.get("state") == "open"

    await h.settle(opened)
    made = await _post(h, "kai", pinhole, "In the pinhole")
    # lou's cached list predates the pinhole: the access counter made it miss.
    assert made.post_id in await _home(h, "lou")


async def test_a_warm_space_feed_makes_no_database_round_trip(
    h: PostHarness, redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(roundtrips, "EXPOSE", True)
    space = await _warm_space_of_twelve(h, redis, "max", "ned")
    request = pb.ListSpaceFeedRequest(space_id=space, page_size=10)
    warm = await _tally(h.stub.ListSpaceFeed(request, metadata=h.auth("ned"), timeout=10))
    # The caller's view of the space, the page's ids, its posts.
    assert (warm.db, warm.cache, warm.rpc) == (0, 3, 0), warm


async def test_leaving_a_private_community_closes_its_feed_once_applied(
    h: PostHarness, redis: Redis
) -> None:
    space = f"c-{secrets.token_hex(4)}"
    await h.community(space, owner="olga", visibility="private", members={"oli": "member"})
    await h.known(communities=[space], members=[(space, "oli")])
    await _post(h, "oli", space)
    await _warm(h, redis, "oli", space)
    assert (await _feed(h, "oli", space)).posts  # the view is cached now

    await h.leave(space, "oli")
    await h.settle(lambda db: _has_role(h, space, "oli", ""))
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await _feed(h, "oli", space)
    # A private community stays visible to employees; its content does not.
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
