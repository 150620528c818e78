"""Per-space timelines in day buckets, and the bounded walk that reads a feed page. Pure.

docs/adr/0006-feeds-fan-out.md, section 2. Every post has an *entry* ``{id, type}`` in
the bucket of its space and UTC day (the day of its id's ULID time), and every space
lists the days it has a bucket for:

- ``feed_buckets``: ``{_id: "<space_id>:<YYYYMMDD>", space_id, day, entries: [entry]}``
- ``feed_days``:    ``{_id: <space_id>, days: ["YYYYMMDD", ...]}`` (unordered)

so a feed page is read with ``_id`` look-ups only. Entries are a *superset* of the
visible posts: an entry is written before its post (a crash leaves an entry without a
post), and a post's state, tags and pin live only on the post. A walk therefore
re-checks every candidate against the post document itself; the entry's type (fixed
at creation) only saves fetching posts that cannot match.

Order: ids are lowercase ULIDs, which sort as strings in creation order, so every id
of day D sorts below every id of day D+1 (:func:`day_floor`). A walk reads days newest
first, a whole day's buckets together (entries within a day are not ordered), and
emits ids strictly below the page position, newest first: the same keyset order as
``sort _id desc`` with ``_id < position``.
"""

from __future__ import annotations

import re
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Final

from .content import ItemState, PostType

_CROCKFORD: Final = "0123456789abcdefghjkmnpqrstvwxyz"
_ULID_LENGTH: Final = 26
_TIME_CHARS: Final = 10
_DAY_MS: Final = 86_400_000
_EPOCH: Final = date(1970, 1, 1)
_DAY: Final = re.compile(r"^\d{8}$")


# ---------------------------------------------------------------------- ids and days


def id_millis(item_id: str) -> int:
    """Milliseconds since the epoch encoded in a lowercase ULID's first ten characters.

    Raises:
        ValueError: ``item_id`` is not a lowercase ULID.
    """
    if len(item_id) != _ULID_LENGTH:
        raise ValueError(f"not a ULID: {item_id!r}")
    value = 0
    for char in item_id[:_TIME_CHARS]:
        digit = _CROCKFORD.find(char)
        if digit < 0:
            raise ValueError(f"not a ULID: {item_id!r}")
        value = value * 32 + digit
    return value


def _day_date(day: str) -> date:
    if not _DAY.match(day):
        raise ValueError(f"not a day (YYYYMMDD): {day!r}")
    return date(int(day[:4]), int(day[4:6]), int(day[6:]))


def day_of(item_id: str) -> str:
    """The UTC day (``YYYYMMDD``) of the item's ULID time: the bucket it belongs to.

    Raises:
        ValueError: ``item_id`` is not a lowercase ULID.
    """
    return (_EPOCH + timedelta(days=id_millis(item_id) // _DAY_MS)).strftime("%Y%m%d")


def day_floor(day: str) -> str:
    """The smallest id of ``day``: every id of the day sorts at or above it, and every id of
    an earlier day below it. A valid page position (``_id < floor`` skips the whole day).

    Raises:
        ValueError: ``day`` is not ``YYYYMMDD``.
    """
    millis = (_day_date(day) - _EPOCH).days * _DAY_MS
    chars = []
    for _ in range(_TIME_CHARS):
        chars.append(_CROCKFORD[millis & 31])
        millis >>= 5
    return "".join(reversed(chars)) + "0" * (_ULID_LENGTH - _TIME_CHARS)


def next_day(day: str) -> str:
    """The day after ``day``."""
    return (_day_date(day) + timedelta(days=1)).strftime("%Y%m%d")


def bucket_id(space_id: str, day: str) -> str:
    """The ``_id`` of a space's bucket for one day."""
    return f"{space_id}:{day}"


def entry(item_id: str, post_type: str) -> dict[str, str]:
    """A post's timeline entry. Always built here: removal is by exact value (``$pullAll``),
    and BSON compares subdocuments field by field in order."""
    return {"id": item_id, "type": post_type}


@dataclass(frozen=True, slots=True)
class TimelineItem:
    """One post as the timeline knows it."""

    space_id: str
    item_id: str
    post_type: str

    @property
    def day(self) -> str:
        return day_of(self.item_id)

    @property
    def bucket(self) -> str:
        return bucket_id(self.space_id, self.day)

    @property
    def entry(self) -> dict[str, str]:
        return entry(self.item_id, self.post_type)


@dataclass(frozen=True, slots=True)
class BucketWrite:
    """The entries to add to one bucket (created if missing)."""

    bucket_id: str
    space_id: str
    day: str
    entries: list[dict[str, str]]


def group_writes(items: Iterable[TimelineItem]) -> tuple[dict[str, list[str]], list[BucketWrite]]:
    """The writes that add ``items`` to their timelines: the days to add per space, and the
    entries to add per bucket, each in a stable order (one upsert per document)."""
    days: dict[str, set[str]] = defaultdict(set)
    buckets: dict[str, BucketWrite] = {}
    for item in items:
        day = item.day
        days[item.space_id].add(day)
        key = bucket_id(item.space_id, day)
        write = buckets.get(key)
        if write is None:
            write = buckets[key] = BucketWrite(key, item.space_id, day, [])
        write.entries.append(item.entry)
    return {s: sorted(d) for s, d in sorted(days.items())}, [buckets[k] for k in sorted(buckets)]


# ---------------------------------------------------------------------- filters


@dataclass(frozen=True, slots=True)
class FeedFilter:
    """What a feed shows: published posts of ``spaces``, optionally of one type, with one
    tag, or pinned only. The post document decides; the entry only rules posts out."""

    spaces: frozenset[str]
    post_type: str = ""
    tag: str = ""
    pinned_only: bool = False

    def admits_entry(self, value: Mapping[str, Any]) -> bool:
        """Whether the entry's post may match (its type is fixed at creation)."""
        kind = value.get("type")
        if not isinstance(kind, str):
            return True  # an entry of unknown shape: the post decides
        if self.post_type and kind != self.post_type:
            return False
        # Only announcements can ever be pinned (at creation or by PinPost).
        return not (self.pinned_only and kind != PostType.ANNOUNCEMENT.value)

    def admits_item(self, doc: Mapping[str, Any]) -> bool:
        """Whether the post document belongs on the feed now."""
        if doc.get("state") != ItemState.PUBLISHED.value:
            return False
        if doc.get("space_id") not in self.spaces:
            return False
        if self.post_type and doc.get("type") != self.post_type:
            return False
        if self.tag:
            tags = doc.get("tags") or ()
            if self.tag not in ([tags] if isinstance(tags, str) else tags):
                return False
        return not (self.pinned_only and doc.get("pinned") is not True)


# ---------------------------------------------------------------------- the walk


@dataclass(frozen=True, slots=True)
class FeedLimits:
    """Bounds of one page's work; when one is reached the page is returned short, with a
    position (the paging convention allows short pages; only the end has no token)."""

    max_buckets: int = 512
    """Bucket documents read per page. A day's buckets are read together, so a page may
    read one day's more than this (at most one per merged space)."""
    max_items: int = 500
    """Post documents fetched per page (candidates the post itself rules out count)."""
    first_read: int = 2
    """Buckets asked for by the first read; each further read doubles, up to ``max_read``."""
    max_read: int = 500
    """Most ids in one read (FerretDB's ``_id`` pushdown takes at most 1,000 values)."""

    def __post_init__(self) -> None:
        if min(self.max_buckets, self.max_items, self.first_read, self.max_read) < 1:
            raise ValueError("feed limits must be positive")


@dataclass(frozen=True, slots=True)
class ReadBuckets:
    """Step: read these buckets by ``_id``; answer with :meth:`FeedWalk.buckets_read`."""

    ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FetchItems:
    """Step: fetch these posts by ``_id``; answer with :meth:`FeedWalk.items_fetched`."""

    ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FeedPage:
    """The walk's answer: the posts of the page, newest first, and the position the next
    page starts below (None: nothing follows)."""

    items: list[Mapping[str, Any]]
    position: str | None


Step = ReadBuckets | FetchItems | FeedPage


class FeedWalk:
    """One feed page as a sequence of ``_id`` reads (the caller does the I/O).

    ``days_by_space`` is what ``feed_days`` holds for the spaces of ``flt`` (spaces not in
    the filter are ignored). ``before`` is the page position (exclusive; None for the
    first page). Drive it with :meth:`next_step` until it returns a :class:`FeedPage`,
    answering each :class:`ReadBuckets` with :meth:`buckets_read` and each
    :class:`FetchItems` with :meth:`items_fetched`.

    Promises, for ids below ``before``: the page holds, newest first, the admitted posts
    above its position, and every admitted post between the two positions that existed
    (with its entry) when it was read; so pages neither repeat nor skip. When ``size + 1``
    posts were found the page holds ``size`` and its position is the last one; when a
    bound of :class:`FeedLimits` stopped the walk first, the page may be short (even
    empty) and its position is where the walk stopped; position None means the feed ends.
    """

    def __init__(
        self,
        days_by_space: Mapping[str, Iterable[str]],
        flt: FeedFilter,
        *,
        before: str | None,
        size: int,
        limits: FeedLimits | None = None,
    ) -> None:
        if size < 1:
            raise ValueError("size must be positive")
        self._flt = flt
        self._before = before
        self._size = size
        self._limits = limits or FeedLimits()
        by_day: dict[str, list[str]] = defaultdict(list)
        for space_id, days in days_by_space.items():
            if space_id not in flt.spaces:
                continue
            for day in {str(d) for d in days}:
                if not _DAY.match(day):
                    continue
                if before is not None and day_floor(day) >= before:
                    continue  # every id of that day is at or above the position
                by_day[day].append(bucket_id(space_id, day))
        self._days: deque[tuple[str, list[str]]] = deque(
            (day, sorted(buckets)) for day, buckets in sorted(by_day.items(), reverse=True)
        )
        self._read_size = self._limits.first_read
        self._reading: dict[str, str] = {}
        self._fetching: tuple[str, ...] = ()
        self._fetch_size = 0
        self._candidates: deque[str] = deque()
        self._seen: set[str] = set()
        self._found: list[Mapping[str, Any]] = []
        self._oldest_read: str | None = None
        self._last_examined: str | None = None
        self.buckets_read_count = 0
        """Bucket documents asked for so far (for tests and measurements)."""
        self.items_fetched_count = 0
        """Posts asked for so far."""

    def next_step(self) -> Step:
        """What to do next: read buckets, fetch posts, or the page (the walk is then over)."""
        if self._reading or self._fetching:
            raise RuntimeError("the previous step has not been answered")
        wanted = self._size + 1
        if len(self._found) >= wanted:
            return FeedPage(self._found[: self._size], str(self._found[self._size - 1]["_id"]))
        needed = wanted - len(self._found)
        if (
            self._days
            and len(self._candidates) < needed
            and self.buckets_read_count < self._limits.max_buckets
        ):
            return self._read()
        if self._candidates:
            if self.items_fetched_count < self._limits.max_items:
                return self._fetch(needed)
            assert self._last_examined is not None  # a fetch happened: max_items >= 1
            return FeedPage(self._found, self._last_examined)
        if self._days:
            assert self._oldest_read is not None  # the bucket budget was spent on reads
            return FeedPage(self._found, day_floor(self._oldest_read))
        return FeedPage(self._found, None)

    def _read(self) -> ReadBuckets:
        ids: list[str] = []
        room = self._limits.max_buckets - self.buckets_read_count
        while self._days:
            day, buckets = self._days[0]
            # A day is never split (its entries are unordered), but a batch of days stays
            # within the read size and the page's bucket budget when it can.
            if ids and len(ids) + len(buckets) > min(self._read_size, room):
                break
            self._days.popleft()
            ids.extend(buckets)
            self._reading.update(dict.fromkeys(buckets, day))
            if len(ids) >= self._read_size:
                break
        self._read_size = min(self._read_size * 2, self._limits.max_read)
        return ReadBuckets(tuple(ids))

    def buckets_read(self, docs: Iterable[Mapping[str, Any]]) -> None:
        """Answer a :class:`ReadBuckets` with the bucket documents found (missing ones are
        empty buckets)."""
        reading, self._reading = self._reading, {}
        self.buckets_read_count += len(reading)
        fresh: list[str] = []
        for doc in docs:
            day = reading.get(str(doc.get("_id")))
            if day is None:
                continue
            low, high = day_floor(day), day_floor(next_day(day))
            for value in doc.get("entries") or ():
                if not isinstance(value, Mapping):
                    continue
                item_id = value.get("id")
                if not isinstance(item_id, str) or not low <= item_id < high:
                    continue  # not of this day: it would break the order
                if self._before is not None and item_id >= self._before:
                    continue
                if item_id in self._seen or not self._flt.admits_entry(value):
                    continue
                self._seen.add(item_id)
                fresh.append(item_id)
        # Days are read newest first, so this batch sorts below every earlier candidate.
        self._candidates.extend(sorted(fresh, reverse=True))
        oldest = min(reading.values(), default=None)
        if oldest is not None:
            self._oldest_read = oldest

    def _fetch(self, needed: int) -> FetchItems:
        # The first fetch asks for exactly what the page lacks (most candidates are visible);
        # when the posts rule candidates out, each further fetch asks for twice as many.
        size = needed if not self._fetch_size else max(needed, self._fetch_size * 2)
        size = min(
            size,
            self._limits.max_items - self.items_fetched_count,
            self._limits.max_read,
            len(self._candidates),
        )
        self._fetch_size = size
        self._fetching = tuple(self._candidates.popleft() for _ in range(size))
        return FetchItems(self._fetching)

    def items_fetched(self, docs: Mapping[str, Mapping[str, Any]]) -> None:
        """Answer a :class:`FetchItems` with the posts found, by id (missing ones are entries
        whose post was never written, or not yet)."""
        fetching, self._fetching = self._fetching, ()
        self.items_fetched_count += len(fetching)
        for item_id in fetching:
            self._last_examined = item_id
            doc = docs.get(item_id)
            if doc is not None and self._flt.admits_item(doc):
                self._found.append(doc)
                if len(self._found) > self._size:
                    return
