"""Links between items, and how they look to one reader. Pure.

A body links another item by writing ``guildhall://post/<post_id>``; a post may
also quote one item (``quoted_post_id``). Bodies are stored exactly as written.
When an item is returned, every link whose target the reader may not read has
its id replaced by :data:`UNAVAILABLE`, so nothing about content in another
space (not even its id) reaches a reader who may not see it: a pinhole post
that links an internal post shows the link as unavailable to partners.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Final

from .posts import PostType

LINK: Final = re.compile(r"guildhall://post/([a-z0-9][a-z0-9_-]{0,63})")
"""A link to an item; the id alphabet is the contracts' (docs/adr/0003-contracts.md)."""

UNAVAILABLE: Final = "unavailable"
"""What replaces the id of a link the reader may not follow."""

MAX_LINKS: Final = 50
"""Links resolved per body; a body with more keeps the rest as written but unresolved."""


def linked_ids(*texts: str) -> list[str]:
    """The distinct item ids linked from ``texts``, in order of first appearance (at most
    :data:`MAX_LINKS`)."""
    seen: dict[str, None] = {}
    for text in texts:
        for match in LINK.finditer(text):
            seen.setdefault(match.group(1), None)
            if len(seen) >= MAX_LINKS:
                return list(seen)
    return list(seen)


def shape_text(text: str, readable: Collection[str]) -> str:
    """``text`` with every link to an item not in ``readable`` pointing at :data:`UNAVAILABLE`.

    Links beyond the first :data:`MAX_LINKS` distinct ids are never resolved, so they
    are shown unavailable as well.
    """

    def replace(match: re.Match[str]) -> str:
        if match.group(1) in readable:
            return match.group(0)
        return f"guildhall://post/{UNAVAILABLE}"

    return LINK.sub(replace, text)


@dataclass(frozen=True, slots=True)
class LinkTarget:
    """What a reader who may read a linked item learns about it."""

    post_id: str
    title: str
    type: PostType
    space_id: str


@dataclass(frozen=True, slots=True)
class Shaping:
    """Which linked items one reader may follow, for a batch of items.

    ``raw`` leaves text as written and every link followable: for event payloads, which
    stay inside the platform (whoever shows them to a person shapes them then).
    """

    available: Mapping[str, LinkTarget] = field(default_factory=dict)
    raw: bool = False

    def text(self, text: str) -> str:
        """``text`` as this reader sees it."""
        return text if self.raw else shape_text(text, self.available)

    def follows(self, post_id: str) -> bool:
        return self.raw or post_id in self.available


RAW: Final = Shaping(raw=True)
NOTHING: Final = Shaping()
"""A reader who may follow no link (nothing to resolve)."""
