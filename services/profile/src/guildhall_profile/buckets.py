"""The layout of an ordered list kept in bounded buckets: where an entry goes, how a bucket
splits, how a list is built in bulk. Pure; :mod:`guildhall_profile.lists` does the I/O.

A list is a set of strings read in ascending order. Its *head* document
(``_id`` = the list id) names its buckets in order, each with the lowest
string it may hold (``lo``; the first bucket's is ``""``); a bucket holds
the entries from its ``lo`` up to the next bucket's. So the entry ``e`` lives
in the last bucket whose ``lo`` is at most ``e``, and reading a list from a
position is: the bucket holding the position, then the ones after it.

Buckets hold at most :data:`BUCKET_MAX` entries: when an add takes one past
that, it is split at its median into two new buckets (see
:mod:`guildhall_profile.lists` for the protocol). A bucket's ``lo`` never
changes and new bounds only ever appear *inside* the bucket being split, so
a bucket that has not been split still covers exactly the range an older
copy of the head gave it: a head read earlier is safe to use as long as the
buckets it names are found live.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

BUCKET_MAX: Final = 1000
"""Most entries a bucket holds before it is split (an entry is at most a few hundred bytes,
so a bucket stays well below 1 MB; MongoDB's limit is 16 MB, and FerretDB rewrites the
whole document on every update)."""

BUILD_FILL: Final = 500
"""Entries per bucket when a list is built in bulk: half full, so adds do not split at once."""


@dataclass(frozen=True, slots=True)
class Bucket:
    """One bucket of a list: its id and the lowest entry it may hold."""

    lo: str
    bucket_id: str


@dataclass(frozen=True, slots=True)
class Head:
    """A list's buckets in order; ``version`` grows with every split (compare-and-set)."""

    list_id: str
    buckets: tuple[Bucket, ...]
    version: int

    def __post_init__(self) -> None:
        los = [b.lo for b in self.buckets]
        if not los or los[0] != "" or los != sorted(set(los)):
            raise ValueError(f"bad bucket bounds for {self.list_id!r}: {los!r}")

    def index_of(self, entry: str) -> int:
        """The index of the bucket that holds ``entry`` (or would)."""
        return bisect.bisect_right([b.lo for b in self.buckets], entry) - 1

    def bucket_for(self, entry: str) -> Bucket:
        return self.buckets[self.index_of(entry)]

    def hi(self, index: int) -> str | None:
        """The first entry the bucket at ``index`` may not hold (None: the last bucket)."""
        return self.buckets[index + 1].lo if index + 1 < len(self.buckets) else None

    def holds(self, bucket_id: str) -> bool:
        return any(b.bucket_id == bucket_id for b in self.buckets)

    def split(self, bucket_id: str, at: str, left_id: str, right_id: str) -> Head | None:
        """The head after bucket ``bucket_id`` was split at ``at`` into ``left_id`` (its lower
        part, same ``lo``) and ``right_id`` (from ``at``); None if the head has no such bucket.

        Raises:
            ValueError: ``at`` is not strictly inside the bucket's range.
        """
        for i, b in enumerate(self.buckets):
            if b.bucket_id != bucket_id:
                continue
            hi = self.hi(i)
            if not (b.lo < at and (hi is None or at < hi)):
                raise ValueError(f"split point {at!r} outside bucket {bucket_id!r}")
            parts = (Bucket(b.lo, left_id), Bucket(at, right_id))
            return Head(
                self.list_id,
                self.buckets[:i] + parts + self.buckets[i + 1 :],
                self.version + 1,
            )
        return None


def in_range(entries: Iterable[str], lo: str, hi: str | None) -> list[str]:
    """The entries from ``lo`` up to (not including) ``hi``, sorted and without repeats."""
    return sorted({e for e in entries if lo <= e and (hi is None or e < hi)})


def after(entries: Sequence[str], position: str | None, *, inclusive: bool) -> list[str]:
    """Sorted ``entries`` past ``position`` (at or past it when ``inclusive``; all for None)."""
    if position is None:
        return list(entries)
    cut = (bisect.bisect_left if inclusive else bisect.bisect_right)(entries, position)
    return list(entries[cut:])


def split_point(entries: Iterable[str]) -> str:
    """Where to split a bucket holding ``entries``: their median.

    Strictly above the smallest entry, so both halves keep some and the left
    half keeps the bucket's ``lo``.

    Raises:
        ValueError: fewer than two distinct entries.
    """
    ordered = sorted(set(entries))
    if len(ordered) < 2:
        raise ValueError("a bucket of fewer than two entries is not split")
    return ordered[len(ordered) // 2]


def partition(entries: Iterable[str], at: str) -> tuple[list[str], list[str]]:
    """(entries below ``at``, entries from ``at``), each sorted."""
    ordered = sorted(set(entries))
    cut = bisect.bisect_left(ordered, at)
    return ordered[:cut], ordered[cut:]


def group_by_bucket(head: Head, entries: Iterable[str]) -> dict[str, list[str]]:
    """Bucket id -> the entries that belong in it, sorted."""
    groups: dict[str, list[str]] = {}
    for entry in sorted(set(entries)):
        groups.setdefault(head.bucket_for(entry).bucket_id, []).append(entry)
    return groups


# --- documents ------------------------------------------------------------------------------------


def head_document(head: Head) -> dict[str, Any]:
    return {
        "_id": head.list_id,
        "buckets": [{"lo": b.lo, "id": b.bucket_id} for b in head.buckets],
        "version": head.version,
    }


def head_from(doc: Mapping[str, Any]) -> Head:
    return Head(
        str(doc["_id"]),
        tuple(Bucket(str(b["lo"]), str(b["id"])) for b in doc["buckets"]),
        int(doc["version"]),
    )


def bucket_document(list_id: str, bucket_id: str, entries: Sequence[str]) -> dict[str, Any]:
    """A live bucket of ``list_id`` holding ``entries``."""
    return {"_id": bucket_id, "list": list_id, "entries": list(entries), "live": True}


def build(
    list_id: str,
    entries: Iterable[str],
    new_id: Callable[[], str],
    *,
    fill: int = BUILD_FILL,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The head and bucket documents of a list holding ``entries``, ``fill`` per bucket.

    Raises:
        ValueError: no entries (an empty list has no documents) or ``fill`` below 1.
    """
    ordered = sorted(set(entries))
    if not ordered or fill < 1:
        raise ValueError("a list is built from at least one entry, at least one per bucket")
    chunks = [ordered[i : i + fill] for i in range(0, len(ordered), fill)]
    ids = [new_id() for _ in chunks]
    head = Head(
        list_id,
        tuple(Bucket("" if i == 0 else chunk[0], ids[i]) for i, chunk in enumerate(chunks)),
        1,
    )
    return head_document(head), [
        bucket_document(list_id, ids[i], chunk) for i, chunk in enumerate(chunks)
    ]
