"""Value types of the search engine: what goes in (SearchDoc) and what comes out (SearchPage).

No I/O here. Every value is immutable and validated at construction, so the
index never has to guess what a half-formed document meant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

MAX_VERSION = 2**63 - 1
"""The largest version a document may carry; ``delete`` without a version uses it."""


class ItemKind(StrEnum):
    """What an indexed item is. The values are what the index stores."""

    DISCUSSION = "discussion"
    ANNOUNCEMENT = "announcement"
    QUESTION = "question"
    IDEA = "idea"
    WIKI = "wiki"
    ANSWER = "answer"
    COMMENT = "comment"


def require_id(value: str, name: str) -> str:
    """Return ``value`` if it can be an id: not empty, no control characters (ValueError else).

    The index keeps its own bookkeeping under keys that contain a control
    character, so no item id can ever collide with them.
    """
    if not value:
        raise ValueError(f"{name} must not be empty")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise ValueError(f"{name} must not contain control characters")
    return value


def require_aware(value: datetime, name: str) -> datetime:
    """Return ``value`` in UTC; a naive datetime is a programming error and raises ValueError."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value!r}")
    return value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class SearchDoc:
    """One searchable item: a post of any kind, an answer or a comment.

    ``version`` orders the states of one item: the index keeps the document
    with the highest version it has seen and ignores anything older or equal,
    so a redelivered or replayed event can never overwrite a newer state. It
    must grow with every change to the item's indexed content (a per-item
    change counter kept with the item, or the offset of the event in its Kafka
    partition, since every event about one item shares a partition: they are
    keyed by the top-level item id). Do not mix the two schemes in one index.

    Raises ValueError when an id is empty, ``created_at`` is naive, the version
    is out of range, or an answer or comment has no ``parent_id``.
    """

    item_id: str
    """The item's id; unique across kinds."""
    space_id: str
    """The space the item lives in: the access filter matches on it."""
    kind: ItemKind
    """Discussion, question, answer, comment, ..."""
    title: str
    """The title; empty for answers and comments."""
    body: str
    """Markdown as written; indexed as plain text, never rendered."""
    author_id: str
    """Who wrote it."""
    created_at: datetime
    """When it was created (timezone-aware; stored in UTC to the microsecond)."""
    version: int
    """Orders the states of this item (see the class docstring); 0 to ``MAX_VERSION``."""
    tags: tuple[str, ...] = ()
    """Tags as the author wrote them; matched case-insensitively."""
    answered: bool = False
    """For questions: whether the question counts as answered. Ignored for other kinds."""
    parent_id: str | None = None
    """For answers and comments: the item they belong to. Deleting the parent removes them."""

    def __post_init__(self) -> None:
        for name in ("item_id", "space_id", "author_id"):
            require_id(getattr(self, name), f"SearchDoc.{name}")
        if self.parent_id:
            require_id(self.parent_id, "SearchDoc.parent_id")
        kind: object = self.kind  # untyped callers may pass the plain string value
        if not isinstance(kind, ItemKind):
            object.__setattr__(self, "kind", ItemKind(str(kind)))
        object.__setattr__(self, "created_at", require_aware(self.created_at, "created_at"))
        if not 0 <= self.version <= MAX_VERSION:
            raise ValueError(f"SearchDoc.version must be in 0..{MAX_VERSION}, got {self.version}")
        object.__setattr__(self, "tags", tuple(self.tags))
        if self.kind in (ItemKind.ANSWER, ItemKind.COMMENT) and not self.parent_id:
            raise ValueError(f"a {self.kind} needs a parent_id")
        if self.parent_id == "":
            object.__setattr__(self, "parent_id", None)


@dataclass(frozen=True, slots=True)
class Snippet:
    """A window of an item's body around the words that matched.

    ``highlights`` are ``(start, end)`` character offsets into ``text`` (Python
    string indices, end exclusive). The text is the stored Markdown, not HTML:
    whoever renders it must escape it.
    """

    text: str
    highlights: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class Hit:
    """One search result."""

    item_id: str
    space_id: str
    kind: ItemKind
    title: str
    """Empty for answers and comments (show the parent's title, via ``parent_id``)."""
    score: float
    """Relevance (higher is better); 0.0 when the query had no words (newest-first browsing)."""
    author_id: str
    created_at: datetime
    parent_id: str | None = None
    snippet: Snippet | None = None


@dataclass(frozen=True, slots=True)
class SearchPage:
    """One page of results, best first.

    ``total`` counts every item that matches the query and every filter,
    access filter included, not just this page.
    """

    hits: list[Hit] = field(default_factory=list)
    total: int = 0
    relaxed: bool = False
    """True when no item had every word and these items have half of them or more."""
