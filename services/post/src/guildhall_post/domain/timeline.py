"""Per-space timelines in day buckets, and the bounded walk that reads a feed page. Pure.

docs/adr/0006-feeds-fan-out.md, section 3. Every post has an *entry* ``{id, type}`` in
the bucket of its space and UTC day (the day of its id's ULID time); every space lists
the months it has buckets in, and every month of a space lists its days:

- ``feed_months``:  ``{_id: <space_id>, months: ["YYYYMM", ...]}``
- ``feed_days``:    ``{_id: "<space_id>:<YYYYMM>", space_id, month, days: ["YYYYMMDD", ...]}``
- ``feed_buckets``: ``{_id: "<space_id>:<YYYYMMDD>", space_id, day, entries: [entry, ...]}``

(lists unordered), so a feed page is read with ``_id`` look-ups only, and what one page
reads does not grow with the history: a month list gains twelve values a year, a day
list at most 31. Entries are a *superset* of the visible posts: the three are written
before the post (a crash leaves an entry without a post), and a post's state, tags and
pin live only on the post. A walk therefore re-checks every candidate against the post
document itself; the entry's type (fixed at creation) only saves fetching posts that
cannot match.

Order: ids are lowercase ULIDs, which sort as strings in creation order, so every id
of day D sorts below every id of day D+1 (:func:`day_floor`), and likewise for months.
A walk reads months and days newest first, a whole day's buckets together (entries
within a day are not ordered), and emits ids strictly below the page position, newest
first: the same keyset order as ``sort _id desc`` with ``_id < position``.
"""

from __future__ import annotations

import re
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Mapping
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
_MONTH: Final = re.compile(r"^\d{6}$")


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


def month_floor(month: str) -> str:
    """The smallest id of ``month`` (``YYYYMM``).

    Raises:
        ValueError: ``month`` is not ``YYYYMM``.
    """
    if not _MONTH.match(month):
        raise ValueError(f"not a month (YYYYMM): {month!r}")
    return day_floor(month + "01")


def bucket_id(space_id: str, day: str) -> str:
    """The ``_id`` of a space's bucket for one day (``feed_buckets``)."""
    return f"{space_id}:{day}"


def days_id(space_id: str, month: str) -> str:
    """The ``_id`` of the list of a space's days in one month (``feed_days``)."""
    return f"{space_id}:{month}"


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


@dataclass(frozen=True, slots=True)
class DaysWrite:
    """The days to add to one month's list of a space (created if missing)."""

    days_id: str
    space_id: str
    month: str
    days: list[str]


@dataclass(frozen=True, slots=True)
class TimelineWrites:
    """Every upsert that adds some posts to their timelines, one per document, in the
    order they must be applied (each level lists what the next one holds)."""

    months: dict[str, list[str]]
    """Months to add per space (``feed_months``)."""
    days: list[DaysWrite]
    buckets: list[BucketWrite]


def group_writes(
    items: Iterable[TimelineItem], *, listed: Callable[[str, str], bool] = lambda s, d: False
) -> TimelineWrites:
    """The writes that add ``items`` to their timelines, in a stable order. ``listed(space,
    day)`` says the day is known to be listed already (its month and day lists are then
    not written again; they only ever grow)."""
    months: dict[str, set[str]] = defaultdict(set)
    days: dict[str, DaysWrite] = {}
    buckets: dict[str, BucketWrite] = {}
    for item in items:
        day = item.day
        if not listed(item.space_id, day):
            month = day[:6]
            months[item.space_id].add(month)
            key = days_id(item.space_id, month)
            listing = days.get(key)
            if listing is None:
                listing = days[key] = DaysWrite(key, item.space_id, month, [])
            if day not in listing.days:
                listing.days.append(day)
        key = bucket_id(item.space_id, day)
        write = buckets.get(key)
        if write is None:
            write = buckets[key] = BucketWrite(key, item.space_id, day, [])
        write.entries.append(item.entry)
    return TimelineWrites(
        months={s: sorted(m) for s, m in sorted(months.items())},
        days=[days[k] for k in sorted(days)],
        buckets=[buckets[k] for k in sorted(buckets)],
    )


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

    max_docs: int = 512
    """Timeline documents (day lists and buckets) read per page. A month's day lists and
    a day's buckets are read together, so a page may read one month's or one day's more
    than this (at most one per merged space)."""
    max_items: int = 500
    """Post documents fetched per page (candidates the post itself rules out count)."""
    first_read: int = 2
    """Buckets asked for by the first read (day lists: one month); each further read
    doubles, up to ``max_read``."""
    max_read: int = 500
    """Most ids in one read (FerretDB's ``_id`` pushdown takes at most 1,000)."""

    def __post_init__(self) -> None:
        if min(self.max_docs, self.max_items, self.first_read, self.max_read) < 1:
            raise ValueError("feed limits must be positive")


@dataclass(frozen=True, slots=True)
class ReadDays:
    """Step: read these day lists by ``_id``; answer with :meth:`FeedWalk.days_read`."""

    ids: tuple[str, ...]


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


Step = ReadDays | ReadBuckets | FetchItems | FeedPage


def _batch(
    plan: deque[tuple[str, list[str]]], size: int, room: int
) -> tuple[list[tuple[str, list[str]]], list[str]]:
    """Take whole groups (a month's day lists, a day's buckets) off the front of ``plan``:
    at least one, then more while the ids stay within ``size`` and ``room``."""
    taken: list[tuple[str, list[str]]] = []
    ids: list[str] = []
    while plan:
        key, group = plan[0]
        if ids and len(ids) + len(group) > min(size, room):
            break
        plan.popleft()
        taken.append((key, group))
        ids.extend(group)
        if len(ids) >= size:
            break
    return taken, ids


class FeedWalk:
    """One feed page as a sequence of ``_id`` reads (the caller does the I/O).

    ``months_by_space`` is what ``feed_months`` holds for the spaces of ``flt`` (spaces
    not in the filter are ignored). ``before`` is the page position (exclusive; None for
    the first page). Drive it with :meth:`next_step` until it returns a
    :class:`FeedPage`, answering each :class:`ReadDays` with :meth:`days_read`, each
    :class:`ReadBuckets` with :meth:`buckets_read` and each :class:`FetchItems` with
    :meth:`items_fetched`.

    Promises, for ids below ``before``: the page holds, newest first, the admitted posts
    above its position, and every admitted post between the two positions that existed
    (with its entry) when it was read; so pages neither repeat nor skip. When ``size + 1``
    posts were found the page holds ``size`` and its position is the last one; when a
    bound of :class:`FeedLimits` stopped the walk first, the page may be short (even
    empty) and its position is where the walk stopped; position None means the feed ends.
    """

    def __init__(
        self,
        months_by_space: Mapping[str, Iterable[str]],
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
        by_month: dict[str, list[str]] = defaultdict(list)
        for space_id, months in months_by_space.items():
            if space_id not in flt.spaces:
                continue
            for month in {str(m) for m in months}:
                if _MONTH.match(month) and self._below(month_floor(month)):
                    by_month[month].append(days_id(space_id, month))
        # Newest first; a month's day lists are read together, then its days' buckets.
        self._months: deque[tuple[str, list[str]]] = deque(
            (m, sorted(ids)) for m, ids in sorted(by_month.items(), reverse=True)
        )
        self._days: deque[tuple[str, list[str]]] = deque()
        self._days_read_size = 1  # this month's lists usually suffice
        self._buckets_read_size = self._limits.first_read
        self._reading_days: dict[str, str] = {}
        self._reading_buckets: dict[str, str] = {}
        self._expanded_floor: str | None = None
        self._fetching: tuple[str, ...] = ()
        self._fetch_size = 0
        self._candidates: deque[str] = deque()
        self._seen: set[str] = set()
        self._found: list[Mapping[str, Any]] = []
        self._floor: str | None = None
        self._last_examined: str | None = None
        self.docs_read_count = 0
        """Timeline documents asked for so far (for tests and measurements)."""
        self.items_fetched_count = 0
        """Posts asked for so far."""

    def _below(self, floor: str) -> bool:
        """Whether a month or day starting at ``floor`` may hold ids below the position."""
        return self._before is None or floor < self._before

    def next_step(self) -> Step:
        """What to do next: read day lists or buckets, fetch posts, or the page (the walk is
        then over)."""
        if self._reading_days or self._reading_buckets or self._fetching:
            raise RuntimeError("the previous step has not been answered")
        wanted = self._size + 1
        if len(self._found) >= wanted:
            return FeedPage(self._found[: self._size], str(self._found[self._size - 1]["_id"]))
        needed = wanted - len(self._found)
        more = bool(self._days or self._months)
        # Read on while candidates are short, within the budget -- or, before anything
        # moved the position, whatever the budget (every page makes progress).
        if (
            more
            and len(self._candidates) < needed
            and (self.docs_read_count < self._limits.max_docs or self._floor is None)
        ):
            return self._read_buckets() if self._days else self._read_days()
        if self._candidates:
            if self.items_fetched_count < self._limits.max_items:
                return self._fetch(needed)
            assert self._last_examined is not None  # a fetch happened: max_items >= 1
            return FeedPage(self._found, self._last_examined)
        if more:
            assert self._floor is not None  # the budget was spent on reads that set it
            return FeedPage(self._found, self._floor)
        return FeedPage(self._found, None)

    def _room(self) -> int:
        return max(1, self._limits.max_docs - self.docs_read_count)

    def _read_days(self) -> ReadDays:
        taken, ids = _batch(self._months, self._days_read_size, self._room())
        self._reading_days = {i: month for month, group in taken for i in group}
        self._days_read_size = min(self._days_read_size * 2, self._limits.max_read)
        return ReadDays(tuple(ids))

    def days_read(self, docs: Iterable[Mapping[str, Any]]) -> None:
        """Answer a :class:`ReadDays` with the day lists found (missing ones are empty)."""
        reading, self._reading_days = self._reading_days, {}
        self.docs_read_count += len(reading)
        by_day: dict[str, list[str]] = defaultdict(list)
        for doc in docs:
            key = str(doc.get("_id"))
            month = reading.get(key)
            if month is None:
                continue
            space_id = key[: -len(month) - 1]
            for day in {str(d) for d in doc.get("days") or ()}:
                # A day of another month would break the order: it is ignored.
                if _DAY.match(day) and day[:6] == month and self._below(day_floor(day)):
                    by_day[day].append(bucket_id(space_id, day))
        # The day plan was empty (days are read before the next months), and these months
        # are newer than every month not read yet.
        self._days.extend((d, sorted(ids)) for d, ids in sorted(by_day.items(), reverse=True))
        oldest = min(reading.values(), default=None)
        if oldest is not None:
            self._expanded_floor = month_floor(oldest)
            if not self._days:
                self._floor = self._expanded_floor

    def _read_buckets(self) -> ReadBuckets:
        taken, ids = _batch(self._days, self._buckets_read_size, self._room())
        self._reading_buckets = {i: day for day, group in taken for i in group}
        self._buckets_read_size = min(self._buckets_read_size * 2, self._limits.max_read)
        return ReadBuckets(tuple(ids))

    def buckets_read(self, docs: Iterable[Mapping[str, Any]]) -> None:
        """Answer a :class:`ReadBuckets` with the bucket documents found (missing ones are
        empty buckets)."""
        reading, self._reading_buckets = self._reading_buckets, {}
        self.docs_read_count += len(reading)
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
            # Every day of the months read is read once none is left: down to their start.
            done = not self._days and self._expanded_floor is not None
            self._floor = self._expanded_floor if done else day_floor(oldest)

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
