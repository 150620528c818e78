"""Revision history and diffs. Pure.

Every item (post, answer, comment) keeps its whole history: revision 1 is what
was created, every edit or restore adds the next number, nothing is rewritten.
The item itself always holds its current revision in full, so the history is
the stored revisions plus the current one (see
:mod:`guildhall_post.adapters.repository` for how that survives a crash).
"""

from __future__ import annotations

import difflib
import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from guildhall_kit.errors import Aborted, NotFound


class DiffOp(enum.StrEnum):
    EQUAL = "equal"
    INSERT = "insert"
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class Revision:
    """One revision of an item."""

    item_id: str
    revision: int
    title: str
    body: str
    tags: tuple[str, ...]
    author_id: str
    created_at: datetime
    summary: str = ""
    restored_from: int = 0


@dataclass(frozen=True, slots=True)
class Diff:
    """Two revisions compared."""

    lines: list[tuple[DiffOp, str]] = field(default_factory=list)
    unified: str = ""
    tags_added: list[str] = field(default_factory=list)
    tags_removed: list[str] = field(default_factory=list)


def require_base(current: int, base: int) -> None:
    """Raise ABORTED unless ``base`` is the item's current revision (nothing is written).

    Raises:
        Aborted: naming both numbers, so the caller knows to re-read and merge.
    """
    if base != current:
        raise Aborted(
            f"revision {base} is not current (the item is at revision {current}); "
            "re-read it, merge your change and retry"
        )


def require_revision(revision: int, current: int) -> None:
    """Raise NOT_FOUND for a revision number the item never had (the item is readable)."""
    if not 1 <= revision <= current:
        raise NotFound("revision", str(revision))


def diff(older: Revision, newer: Revision) -> Diff:
    """Line-by-line comparison of the bodies, a unified diff, and the tag changes."""
    a = older.body.splitlines()
    b = newer.body.splitlines()
    lines: list[tuple[DiffOp, str]] = []
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            lines.extend((DiffOp.EQUAL, line) for line in a[i1:i2])
            continue
        lines.extend((DiffOp.DELETE, line) for line in a[i1:i2])
        lines.extend((DiffOp.INSERT, line) for line in b[j1:j2])
    unified = "\n".join(
        difflib.unified_diff(
            a,
            b,
            fromfile=f"revision {older.revision}",
            tofile=f"revision {newer.revision}",
            lineterm="",
        )
    )
    before, after = set(older.tags), set(newer.tags)
    return Diff(
        lines=lines,
        unified=unified,
        tags_added=sorted(after - before),
        tags_removed=sorted(before - after),
    )


def merge_history(stored: Sequence[Revision], current: Revision) -> list[Revision]:
    """The full history, newest first: the stored revisions plus the current one.

    The current revision comes from the item's own document and wins over a stored
    copy with the same number (they are equal unless a write was interrupted).
    """
    by_number = {r.revision: r for r in stored if r.revision < current.revision}
    by_number[current.revision] = current
    return [by_number[n] for n in sorted(by_number, reverse=True)]
