"""The feeds' timeline against the real FerretDB: the store's writes and reads by ``_id``,
the one-off back-fill, and what CreatePost / DeletePost / the feeds do with it.

docs/adr/0006-feeds-fan-out.md: a post's entry is written before the post, removed after
its deletion, and a feed page is read with ``_id`` look-ups only.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from guildhall.post.v1 import post_pb2 as pb
from guildhall_kit.bus import load_registry
from guildhall_kit.mongo import Document, make_client
from guildhall_kit.outbox import Outbox
from guildhall_post.adapters.clock import new_id, now_ms
from guildhall_post.adapters.store import (
    FEED_BUCKETS,
    FEED_DAYS,
    FEED_MONTHS,
    ID_BATCH,
    MIGRATIONS,
    TIMELINE_BACKFILL,
    Kind,
    Store,
    post_document,
)
from guildhall_post.domain.content import PostType
from guildhall_post.domain.timeline import TimelineItem, bucket_id, day_of, entry
from guildhall_testsupport.post import PostHarness, SeedPost, running_post_service

pytestmark = pytest.mark.integration

T = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture
async def db(infra: Any, unique: str) -> AsyncIterator[AsyncDatabase[Document]]:
    client = make_client(infra.mongo_uri, app_name="post-timeline-test")
    try:
        yield client[f"post_timeline_{unique}"]
    finally:
        await client.drop_database(f"post_timeline_{unique}")
        await client.close()


def _store(db: AsyncDatabase[Document]) -> Store:
    outbox = Outbox(load_registry(), topic="guildhall.post.v1", source="guildhall/post")
    return Store(db, outbox)


def _doc(space: str, at: datetime, post_type: PostType = PostType.DISCUSSION) -> Document:
    return post_document(
        post_id=new_id(at),
        space_id=space,
        post_type=post_type,
        title="t",
        body="b",
        tags=["x"],
        mentions=[],
        quoted_post_id="",
        author_id="ann",
        pinned=False,
        summary="",
        at=at,
    )


async def test_timeline_writes_are_idempotent_upserts_by_id(db: AsyncDatabase[Document]) -> None:
    store = _store(db)
    a, b, c = new_id(T), new_id(T + timedelta(days=1)), new_id(T + timedelta(days=6))
    items = [
        TimelineItem("s", a, "question"),
        TimelineItem("s", b, "idea"),
        TimelineItem("s", c, "discussion"),
    ]
    await store.timeline_add(items)
    await store.timeline_add(items[:1])  # a retry adds nothing
    await _store(db).timeline_add(items)  # nor does another process
    assert await store.timeline_months(["s", "nothing"]) == {"s": ["202611", "202612"]}
    lists = {d["_id"]: d for d in await db[FEED_DAYS].find().to_list(length=None)}
    assert lists["s:202611"]["days"] == ["20261125", "20261126"]
    assert lists["s:202611"]["space_id"] == "s"
    assert lists["s:202611"]["month"] == "202611"
    assert lists["s:202612"]["days"] == ["20261201"]
    assert [d["_id"] for d in await store.timeline_days(["s:202612", "s:202601"])] == ["s:202612"]
    buckets = {d["_id"]: d for d in await store.timeline_buckets(["s:20261125", "s:20261126"])}
    assert buckets["s:20261125"]["entries"] == [entry(a, "question")]
    assert buckets["s:20261125"]["space_id"] == "s"
    assert buckets["s:20261125"]["day"] == "20261125"
    assert buckets["s:20261126"]["entries"] == [entry(b, "idea")]


async def test_bulk_updates_of_existing_timeline_documents_complete(
    db: AsyncDatabase[Document],
) -> None:
    # FerretDB 1.x never answers one update command of 100+ updates of existing documents.
    spaces = [f"s{i}" for i in range(150)]
    for day in range(3):
        async with asyncio.timeout(30):
            await _store(db).timeline_add(  # a fresh store knows no day: every list is written
                [TimelineItem(s, new_id(T + timedelta(days=day)), "idea") for s in spaces]
            )
    lists = await _store(db).timeline_days(f"{s}:202611" for s in spaces)
    assert len(lists) == 150
    assert all(len(d["days"]) == 3 for d in lists)


async def test_a_removal_pulls_exactly_one_entry(db: AsyncDatabase[Document]) -> None:
    store = _store(db)
    docs = [_doc("s", T + timedelta(seconds=i)) for i in range(3)]
    await store.timeline_add([TimelineItem("s", d["_id"], d["type"]) for d in docs])
    await store.timeline_remove(docs[1])
    (bucket,) = await store.timeline_buckets([bucket_id("s", "20261125")])
    assert [e["id"] for e in bucket["entries"]] == [docs[0]["_id"], docs[2]["_id"]]


async def test_reads_by_id_span_several_in_batches(db: AsyncDatabase[Document]) -> None:
    store = _store(db)
    docs = [_doc(f"s{i % 7}", T + timedelta(milliseconds=i)) for i in range(ID_BATCH * 2 + 10)]
    await store.insert_posts(docs)
    ids = [d["_id"] for d in docs]
    found = await store.get_many(Kind.POST, [*ids, "missing"])
    assert sorted(found) == sorted(ids)
    assert "voters" not in found[ids[0]]
    assert sorted(await store.timeline_months(f"s{i}" for i in range(7))) == [
        f"s{i}" for i in range(7)
    ]


async def test_bulk_inserted_posts_are_what_create_post_stores(
    db: AsyncDatabase[Document],
) -> None:
    store = _store(db)
    doc = _doc("s", now_ms(), PostType.IDEA)
    await store.insert_posts([doc])
    stored = await db[Kind.POST.value].find_one({"_id": doc["_id"]})
    assert stored == doc
    assert await db["revisions"].find_one({"item_id": doc["_id"], "revision": 1}) is not None
    (bucket,) = await store.timeline_buckets([bucket_id("s", day_of(doc["_id"]))])
    assert bucket["entries"] == [entry(doc["_id"], "idea")]


async def test_the_backfill_runs_once_and_skips_deleted_posts(
    db: AsyncDatabase[Document],
) -> None:
    store = _store(db)
    old = [_doc("s", T - timedelta(days=d)) for d in range(3)]
    gone = {**_doc("s", T - timedelta(days=9)), "state": "deleted"}
    await db[Kind.POST.value].insert_many([*old, gone])  # written before the timeline existed
    assert await store.backfill_timeline() == 3
    (days,) = await store.timeline_days(["s:202611"])
    assert sorted(days["days"]) == ["20261123", "20261124", "20261125"]
    assert await db[MIGRATIONS].find_one({"_id": TIMELINE_BACKFILL}) is not None
    assert await store.backfill_timeline() is None
    assert await db[FEED_BUCKETS].count_documents({}) == 3
    assert await db[FEED_MONTHS].count_documents({}) == 1


# ---------------------------------------------------------------------- through the service


@pytest.fixture(scope="module")
async def legacy(
    infra: Any, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[PostHarness, list[str]]]:
    """A post service started on a database that already held posts without entries."""
    unique = secrets.token_hex(4)
    client = make_client(infra.mongo_uri, app_name="post-timeline-legacy")
    old = [_doc("legacy", T - timedelta(hours=h)) for h in range(5)]
    try:
        await client[f"post_test_{unique}"][Kind.POST.value].insert_many(old)
    finally:
        await client.close()
    async with running_post_service(
        kafka=infra.kafka_bootstrap_servers,
        mongo=infra.mongo_uri,
        unique=unique,
        tmp=Path(tmp_path_factory.mktemp("post")),
    ) as harness:
        yield harness, [str(d["_id"]) for d in old]


async def _feed(h: PostHarness, who: str, space: str, **fields: Any) -> list[str]:
    seen: list[str] = []
    token = ""
    while True:
        page = await h.stub.ListSpaceFeed(
            pb.ListSpaceFeedRequest(space_id=space, page_token=token, **fields),
            metadata=h.auth(who),
            timeout=10,
        )
        seen.extend(p.post_id for p in page.posts)
        token = page.next_page_token
        if not token:
            return seen


async def test_posts_stored_before_the_timeline_are_back_filled_at_start(
    legacy: tuple[PostHarness, list[str]],
) -> None:
    h, old = legacy
    await h.community("legacy", owner="olga", members={"lea": "member"})
    await h.known(communities=["legacy"], members=[("legacy", "lea")])
    assert await _feed(h, "lea", "legacy", page_size=2) == sorted(old, reverse=True)


async def test_create_and_delete_keep_the_timeline_and_orphan_entries_stay_hidden(
    legacy: tuple[PostHarness, list[str]],
) -> None:
    h, _ = legacy
    cid = f"c-{secrets.token_hex(4)}"
    await h.community(cid, owner="olga", members={"wri": "member"})
    await h.known(communities=[cid], members=[(cid, "wri")])
    made = []
    for kind in (pb.POST_TYPE_DISCUSSION, pb.POST_TYPE_QUESTION, pb.POST_TYPE_DISCUSSION):
        reply = await h.stub.CreatePost(
            pb.CreatePostRequest(space_id=cid, type=kind, title="t", body="b"),
            metadata=h.auth("wri"),
            timeout=10,
        )
        made.append(reply.post.post_id)
    bucket = await h.db[FEED_BUCKETS].find_one({"_id": bucket_id(cid, day_of(made[1]))})
    assert entry(made[1], "question") in bucket["entries"]

    await h.stub.DeletePost(pb.DeletePostRequest(post_id=made[1]), metadata=h.auth("wri"))
    bucket = await h.db[FEED_BUCKETS].find_one({"_id": bucket_id(cid, day_of(made[1]))})
    assert entry(made[1], "question") not in bucket["entries"]

    # An entry whose post was never stored (a crash between the two writes) shows nothing.
    orphan = new_id(now_ms())
    await h.db[FEED_BUCKETS].update_one(
        {"_id": bucket_id(cid, day_of(orphan))},
        {"$addToSet": {"entries": entry(orphan, "discussion")}},
    )
    assert await _feed(h, "wri", cid, page_size=1) == [made[2], made[0]]
    assert await _feed(h, "wri", cid, type=pb.POST_TYPE_QUESTION) == []


async def test_seeded_posts_are_on_the_feeds_like_created_ones(
    legacy: tuple[PostHarness, list[str]],
) -> None:
    h, _ = legacy
    cid = f"c-{secrets.token_hex(4)}"
    await h.community(cid, owner="olga", members={"see": "member"})
    await h.known(communities=[cid], members=[(cid, "see")])
    seeded = await h.seed_posts(
        [
            SeedPost(cid, "olga", now_ms() - timedelta(days=d), PostType.QUESTION, tags=("abap",))
            for d in range(1, 60, 3)
        ]
    )
    created = await h.stub.CreatePost(
        pb.CreatePostRequest(space_id=cid, type=pb.POST_TYPE_DISCUSSION, title="t", body="b"),
        metadata=h.auth("see"),
        timeout=10,
    )
    expected = [created.post.post_id, *sorted(seeded, reverse=True)]
    assert await _feed(h, "see", cid, page_size=6) == expected
    assert await _feed(h, "see", cid, tag="abap") == expected[1:]
    home = await h.stub.ListHomeFeed(
        pb.ListHomeFeedRequest(page_size=3), metadata=h.auth("see"), timeout=10
    )
    assert [p.post_id for p in home.posts] == expected[:3]
