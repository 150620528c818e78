"""The feeds' timeline: ids and days, the writes it groups, filters, and the bounded walk.

The walk is checked against a model: for random spaces, days, types, tags, deletions
and orphan entries, paging through it with any page size and any bounds yields exactly
the admitted posts below the position, newest first, each once.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from guildhall_kit.bus.event import new_event_id
from guildhall_post.domain.timeline import (
    FeedFilter,
    FeedLimits,
    FeedPage,
    FeedWalk,
    FetchItems,
    ReadBuckets,
    ReadDays,
    TimelineItem,
    bucket_id,
    day_floor,
    day_of,
    days_id,
    entry,
    group_writes,
    id_millis,
    month_floor,
    next_day,
)

T = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _id(at: datetime) -> str:
    return new_event_id(at).lower()


# ---------------------------------------------------------------------- ids and days


def test_an_id_decodes_to_its_millisecond_and_day() -> None:
    item_id = _id(T)
    assert id_millis(item_id) == int(T.timestamp() * 1000)
    assert day_of(item_id) == "20261125"


def test_a_day_holds_exactly_the_ids_between_its_floor_and_the_next_days_floor() -> None:
    last = _id(datetime(2026, 11, 25, 23, 59, 59, 999_000, tzinfo=UTC))
    first = _id(datetime(2026, 11, 26, tzinfo=UTC))
    assert day_of(last) == "20261125"
    assert day_of(first) == "20261126"
    assert day_floor("20261125") <= last < day_floor("20261126") <= first
    assert next_day("20261231") == "20270101"
    assert next_day("20280228") == "20280229"
    assert day_floor("19700101") == "0" * 26


@pytest.mark.parametrize(
    "bad", ["", "u" * 26, "01ARZ3NDEKTSV4RRFFQ69G5FAV", "01arz3ndek", "01arz3ndeu" + "0" * 16]
)
def test_what_is_not_a_lowercase_ulid_has_no_day(bad: str) -> None:
    with pytest.raises(ValueError, match="not a ULID"):
        day_of(bad)


def test_a_malformed_day_has_no_floor() -> None:
    with pytest.raises(ValueError, match="YYYYMMDD"):
        day_floor("2026-11-25")


def test_writes_are_grouped_one_upsert_per_document() -> None:
    a1, a2 = _id(T), _id(T + timedelta(hours=1))
    a3 = _id(T + timedelta(days=6))
    b1 = _id(T)
    items = [
        TimelineItem("a", a1, "discussion"),
        TimelineItem("b", b1, "question"),
        TimelineItem("a", a2, "idea"),
        TimelineItem("a", a3, "discussion"),
    ]
    writes = group_writes(items)
    assert writes.months == {"a": ["202611", "202612"], "b": ["202611"]}
    assert [(d.days_id, d.space_id, d.month, d.days) for d in writes.days] == [
        ("a:202611", "a", "202611", ["20261125"]),
        ("a:202612", "a", "202612", ["20261201"]),
        ("b:202611", "b", "202611", ["20261125"]),
    ]
    assert [(b.bucket_id, b.space_id, b.day) for b in writes.buckets] == [
        ("a:20261125", "a", "20261125"),
        ("a:20261201", "a", "20261201"),
        ("b:20261125", "b", "20261125"),
    ]
    assert writes.buckets[0].entries == [entry(a1, "discussion"), entry(a2, "idea")]
    # The exact value a removal pulls: field order included.
    assert list(entry(a1, "idea")) == ["id", "type"]
    # Days already listed are not listed again; their buckets are still written.
    known = group_writes(items, listed=lambda space, day: space == "a")
    assert known.months == {"b": ["202611"]}
    assert [d.days_id for d in known.days] == ["b:202611"]
    assert len(known.buckets) == 3


def test_a_month_starts_at_its_first_days_floor() -> None:
    assert month_floor("202611") == day_floor("20261101")
    assert day_floor("20261130") < month_floor("202612") == day_floor("20261201")
    with pytest.raises(ValueError, match="YYYYMM"):
        month_floor("2026-11")
    assert days_id("space:x", "202611") == "space:x:202611"


# ---------------------------------------------------------------------- filters


def _post(item_id: str, space: str = "s", **fields: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "_id": item_id,
        "space_id": space,
        "type": "discussion",
        "state": "published",
        "tags": [],
        "pinned": False,
    }
    doc.update(fields)
    return doc


def test_the_filter_rules_entries_out_by_their_fixed_type_only() -> None:
    i = _id(T)
    assert FeedFilter(frozenset("s"), post_type="question").admits_entry(entry(i, "question"))
    assert not FeedFilter(frozenset("s"), post_type="question").admits_entry(entry(i, "idea"))
    # Only announcements can be pinned, so pinned_only skips every other entry.
    pinned = FeedFilter(frozenset("s"), pinned_only=True)
    assert pinned.admits_entry(entry(i, "announcement"))
    assert not pinned.admits_entry(entry(i, "discussion"))
    # Tags change with edits: an entry never rules a post out by tag.
    assert FeedFilter(frozenset("s"), tag="abap").admits_entry(entry(i, "discussion"))
    assert FeedFilter(frozenset("s"), post_type="idea").admits_entry({"id": i})


def test_the_post_document_decides() -> None:
    i = _id(T)
    flt = FeedFilter(frozenset({"s"}), post_type="announcement", tag="abap", pinned_only=True)
    good = _post(i, type="announcement", tags=["abap"], pinned=True)
    assert flt.admits_item(good)
    assert not flt.admits_item({**good, "state": "deleted"})
    assert not flt.admits_item({**good, "space_id": "other"})
    assert not flt.admits_item({**good, "tags": ["java"]})
    assert not flt.admits_item({**good, "pinned": False})
    assert not flt.admits_item({**good, "type": "discussion"})
    assert FeedFilter(frozenset({"s"}), tag="abap").admits_item(_post(i, tags="abap"))


# ---------------------------------------------------------------------- the walk


class World:
    """Month lists, day lists, buckets and posts as the store would hold them."""

    def __init__(self) -> None:
        self.months: dict[str, set[str]] = {}
        self.days: dict[str, set[str]] = {}
        self.buckets: dict[str, dict[str, Any]] = {}
        self.posts: dict[str, dict[str, Any]] = {}

    def add(self, space: str, at: datetime, *, with_post: bool = True, **fields: Any) -> str:
        item_id = _id(at)
        kind = str(fields.get("type", "discussion"))
        day = day_of(item_id)
        self.months.setdefault(space, set()).add(day[:6])
        self.days.setdefault(days_id(space, day[:6]), set()).add(day)
        bucket = self.buckets.setdefault(bucket_id(space, day), {"entries": []})
        bucket["entries"].append(entry(item_id, kind))
        if with_post:
            self.posts[item_id] = _post(item_id, space, **fields)
        return item_id

    def page(
        self, flt: FeedFilter, before: str | None, size: int, limits: FeedLimits | None = None
    ) -> tuple[FeedPage, FeedWalk, list[ReadDays | ReadBuckets | FetchItems]]:
        walk = FeedWalk(self.months, flt, before=before, size=size, limits=limits)
        steps: list[ReadDays | ReadBuckets | FetchItems] = []
        while True:
            step = walk.next_step()
            if isinstance(step, FeedPage):
                return step, walk, steps
            steps.append(step)
            if isinstance(step, ReadDays):
                walk.days_read(
                    [{"_id": i, "days": sorted(self.days[i])} for i in step.ids if i in self.days]
                )
            elif isinstance(step, ReadBuckets):
                walk.buckets_read(
                    [{"_id": b, **self.buckets[b]} for b in step.ids if b in self.buckets]
                )
            else:
                walk.items_fetched({i: self.posts[i] for i in step.ids if i in self.posts})

    def all_pages(
        self, flt: FeedFilter, size: int, limits: FeedLimits | None = None
    ) -> tuple[list[str], list[FeedPage]]:
        seen: list[str] = []
        pages: list[FeedPage] = []
        before = None
        for _ in range(10_000):
            page, _, _ = self.page(flt, before, size, limits)
            pages.append(page)
            seen.extend(str(d["_id"]) for d in page.items)
            if page.position is None:
                return seen, pages
            assert before is None or page.position < before, "no progress"
            before = page.position
        raise AssertionError("the walk never ended")

    def expected(self, flt: FeedFilter) -> list[str]:
        return sorted((i for i, d in self.posts.items() if flt.admits_item(d)), reverse=True)


def test_a_space_feed_reads_the_newest_days_first_and_stops_at_a_full_page() -> None:
    w = World()
    ids = [w.add("s", T - timedelta(days=d, minutes=m)) for d in range(30) for m in range(3)]
    page, walk, steps = w.page(FeedFilter(frozenset({"s"})), None, 5)
    assert [d["_id"] for d in page.items] == sorted(ids, reverse=True)[:5]
    assert page.position == page.items[-1]["_id"]
    # This month's day list, then two days hold the 6 posts a page of 5 needs (5 + 1).
    assert [type(s) for s in steps] == [ReadDays, ReadBuckets, FetchItems]
    assert steps[0].ids == ("s:202611",)
    assert steps[1].ids == ("s:20261125", "s:20261124")
    assert walk.docs_read_count == 3
    assert walk.items_fetched_count == 6


def test_what_a_page_reads_does_not_grow_with_the_history() -> None:
    w = World()
    for d in range(3 * 365):  # three years, every day
        w.add("s", T - timedelta(days=d))
    page, walk, _ = w.page(FeedFilter(frozenset({"s"})), None, 20)
    assert len(page.items) == 20
    # One month's days (then the next month's) and 21 buckets, whatever came before.
    assert walk.docs_read_count <= 2 + 32
    deep, walk, _ = w.page(FeedFilter(frozenset({"s"})), _id(T - timedelta(days=700)), 20)
    assert len(deep.items) == 20
    assert walk.docs_read_count <= 2 + 32


def test_a_sparse_space_is_walked_month_by_month_in_few_reads() -> None:
    w = World()
    ids = [w.add("s", T - timedelta(days=30 * m)) for m in range(40)]
    page, walk, steps = w.page(FeedFilter(frozenset({"s"})), None, 10)
    assert [d["_id"] for d in page.items] == sorted(ids, reverse=True)[:10]
    # Reads double in size: a few round trips for eleven months.
    assert len(steps) <= 10
    assert walk.docs_read_count <= 2 * 16


def test_a_position_inside_a_day_skips_the_newer_days_and_the_newer_part_of_that_day() -> None:
    w = World()
    ids = [w.add("s", T - timedelta(hours=h)) for h in range(72)]
    ordered = sorted(ids, reverse=True)
    page, _, steps = w.page(FeedFilter(frozenset({"s"})), ordered[30], 4)
    assert [d["_id"] for d in page.items] == ordered[31:35]
    first = steps[1]
    assert isinstance(first, ReadBuckets)
    assert first.ids[0] == bucket_id("s", day_of(ordered[30]))


def test_a_day_floor_position_does_not_read_that_day_again() -> None:
    w = World()
    w.add("s", T)
    older = w.add("s", T - timedelta(days=3))
    page, walk, _ = w.page(FeedFilter(frozenset({"s"})), day_floor("20261125"), 10)
    assert [d["_id"] for d in page.items] == [older]
    assert page.position is None
    assert walk.docs_read_count == 2  # the month's days and one bucket


def test_a_month_floor_position_skips_that_month() -> None:
    w = World()
    w.add("s", T)
    older = w.add("s", T - timedelta(days=40))
    page, _, steps = w.page(FeedFilter(frozenset({"s"})), month_floor("202611"), 10)
    assert [d["_id"] for d in page.items] == [older]
    assert steps[0].ids == ("s:202610",)


def test_entries_without_posts_deleted_posts_and_misfiled_entries_are_left_out() -> None:
    w = World()
    kept = w.add("s", T)
    w.add("s", T - timedelta(minutes=1), with_post=False)  # crashed before the post
    w.add("s", T - timedelta(minutes=2), state="deleted")
    # An entry filed under the wrong day would break the order: it is ignored.
    stray = _id(T - timedelta(days=5))
    w.posts[stray] = _post(stray)
    w.buckets["s:20261125"]["entries"].append(entry(stray, "discussion"))
    w.buckets["s:20261125"]["entries"].append(entry(kept, "discussion"))  # a duplicate
    # So is a day listed under another month.
    w.days["s:202611"].add("20261001")
    w.buckets["s:20261001"] = {"entries": [entry(_id(T - timedelta(days=55)), "idea")]}
    page, _, _ = w.page(FeedFilter(frozenset({"s"})), None, 10)
    assert [d["_id"] for d in page.items] == [kept]
    assert page.position is None


def test_the_home_feed_merges_spaces_by_id_and_ignores_spaces_not_asked_for() -> None:
    w = World()
    rng = random.Random(7)  # noqa: S311 - reproducible test data, not security
    for space in ("a", "b", "c", "hidden"):
        for _ in range(40):
            w.add(space, T - timedelta(minutes=rng.randrange(60 * 24 * 20)))
    flt = FeedFilter(frozenset({"a", "b", "c"}))
    seen, _ = w.all_pages(flt, 7)
    assert seen == w.expected(flt)
    assert len(seen) == 120


def test_a_rare_tag_gives_short_pages_with_a_position_within_the_bound() -> None:
    w = World()
    rare = [w.add("s", T - timedelta(minutes=10 * i), tags=["rare"]) for i in range(0, 400, 97)]
    for i in range(400):
        if i % 97:
            w.add("s", T - timedelta(minutes=10 * i), tags=["common"])
    flt = FeedFilter(frozenset({"s"}), tag="rare")
    limits = FeedLimits(max_items=50)
    page, walk, _ = w.page(flt, None, 10, limits)
    assert walk.items_fetched_count <= 50
    assert page.position is not None
    assert len(page.items) < 10
    seen, pages = w.all_pages(flt, 10, limits)
    assert seen == sorted(rare, reverse=True)
    assert len(pages) >= 8  # 400 posts, 50 looked at per page


def test_the_read_bound_returns_a_short_page_at_a_day_floor() -> None:
    w = World()
    for d in range(40):
        w.add("s", T - timedelta(days=d), type="question")
    flt = FeedFilter(frozenset({"s"}), post_type="idea")  # no entry matches
    limits = FeedLimits(max_docs=9, first_read=2)
    page, walk, _ = w.page(flt, None, 10, limits)
    assert page.items == []
    assert walk.docs_read_count == 9  # November's days, then 2 + 4 buckets, then 2 (room)
    assert walk.items_fetched_count == 0
    assert page.position == day_floor(day_of(_id(T - timedelta(days=7))))
    _, pages = w.all_pages(flt, 10, limits)
    assert pages[-1].position is None
    assert all(not p.items for p in pages)


def test_a_day_is_never_split_even_beyond_the_read_bound() -> None:
    w = World()
    spaces = [f"s{i}" for i in range(30)]
    for space in spaces:
        w.add(space, T)
    page, walk, _ = w.page(FeedFilter(frozenset(spaces)), None, 50, FeedLimits(max_docs=4))
    assert walk.docs_read_count == 60  # 30 day lists, then 30 buckets
    assert len(page.items) == 30
    assert page.position is None


def test_an_unanswered_step_is_a_programming_error() -> None:
    w = World()
    w.add("s", T)
    walk = FeedWalk(w.months, FeedFilter(frozenset({"s"})), before=None, size=1)
    assert isinstance(walk.next_step(), ReadDays)
    with pytest.raises(RuntimeError):
        walk.next_step()


def test_limits_and_sizes_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        FeedLimits(max_items=0)
    with pytest.raises(ValueError, match="positive"):
        FeedWalk({}, FeedFilter(frozenset()), before=None, size=0)


def test_an_empty_feed_ends_at_once() -> None:
    page, walk, steps = World().page(FeedFilter(frozenset({"s"})), None, 20)
    assert page == FeedPage([], None)
    assert steps == []
    assert walk.docs_read_count == 0


def _random_world(rng: random.Random, spaces: Sequence[str]) -> World:
    w = World()
    for space in spaces:
        for _ in range(rng.randrange(0, 60)):
            at = T - timedelta(minutes=rng.randrange(60 * 24 * rng.choice([1, 3, 40, 400])))
            w.add(
                space,
                at,
                with_post=rng.random() > 0.05,
                type=rng.choice(["discussion", "question", "announcement", "idea"]),
                tags=rng.sample(["a", "b", "c"], rng.randrange(0, 3)),
                state="deleted" if rng.random() < 0.1 else "published",
                pinned=rng.random() < 0.3,
            )
    # Announcements are the only posts ever pinned.
    for doc in w.posts.values():
        doc["pinned"] = doc["pinned"] and doc["type"] == "announcement"
    return w


@pytest.mark.parametrize("seed", range(40))
def test_paging_yields_exactly_the_admitted_posts_newest_first_for_any_bounds(seed: int) -> None:
    rng = random.Random(seed)  # noqa: S311 - reproducible model check, not security
    spaces = [f"s{i}" for i in range(rng.randrange(1, 6))]
    w = _random_world(rng, spaces)
    flt = FeedFilter(
        frozenset(rng.sample(spaces, rng.randrange(1, len(spaces) + 1))),
        post_type=rng.choice(["", "", "question", "announcement"]),
        tag=rng.choice(["", "", "a"]),
        pinned_only=rng.random() < 0.2,
    )
    limits = FeedLimits(
        max_docs=rng.choice([1, 3, 512]),
        max_items=rng.choice([1, 5, 500]),
        first_read=rng.choice([1, 2, 8]),
        max_read=rng.choice([1, 4, 500]),
    )
    size = rng.choice([1, 2, 7, 20])
    seen, pages = w.all_pages(flt, size, limits)
    assert seen == w.expected(flt)
    for page in pages:
        assert len(page.items) <= size
        if page.position is not None and page.items:
            # At its last post when the page filled, below it when a bound cut the walk.
            assert page.position <= page.items[-1]["_id"]


def _ids(docs: Sequence[Mapping[str, Any]]) -> list[str]:
    return [str(d["_id"]) for d in docs]


def test_a_post_written_behind_the_readers_position_is_seen_on_a_later_page() -> None:
    w = World()
    for m in range(20):
        w.add("s", T - timedelta(minutes=m))
    flt = FeedFilter(frozenset({"s"}))
    first, _, _ = w.page(flt, None, 5)
    assert first.position is not None
    late = w.add("s", T - timedelta(minutes=7, seconds=30))  # minted earlier, stored now
    second, _, _ = w.page(flt, first.position, 5)
    assert late in _ids(second.items)
