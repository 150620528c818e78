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
from collections.abc import Collection
from typing import Final

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
