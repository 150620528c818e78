"""The words of notifications: one-line titles and short excerpts.

Every text is built from facts of the one space the notification is about
(the item's title, the pinhole's own title, the actor's display name), never
from another space: for a pinhole the space is named by the pinhole's title,
not its community's name, so a partner's notification quotes nothing from
outside the pinhole.
"""

from __future__ import annotations

import re
from typing import Final

TITLE_MAX: Final = 200
EXCERPT_MAX: Final = 200
_SPACES: Final = re.compile(r"\s+")


def one_line(text: str, limit: int) -> str:
    """``text`` on one line (white space collapsed), cut to ``limit`` characters (ellipsis)."""
    flat = _SPACES.sub(" ", text).strip()
    if len(flat) <= limit:
        return flat
    return flat[: limit - 1].rstrip() + "\u2026"


def excerpt(body: str) -> str:
    """The first words of a body, on one line."""
    return one_line(body, EXCERPT_MAX)


def quoted(title: str) -> str:
    return f"\u201c{one_line(title, 120) or 'untitled'}\u201d"


def who(name: str) -> str:
    return one_line(name, 60) or "Someone"


def title(text: str) -> str:
    """A finished title, bounded."""
    return one_line(text, TITLE_MAX)
