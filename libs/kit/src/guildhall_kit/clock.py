"""Time and ids as every service stores them.

Times are UTC and whole milliseconds, which is what BSON stores, so a document
read back equals what was written. Ids of stored objects are lowercase ULIDs
(ADR 0003): 26 characters that sort by creation time, so "newest first" is a
descending ``_id`` range on an ordinary index.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from guildhall_kit.bus.event import new_event_id

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"

Clock = Callable[[], datetime]
"""What a service asks for the current time (tests pass a fixed or stepping one)."""


def now_ms() -> datetime:
    """Now, in UTC and whole milliseconds."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def new_id(at: datetime | None = None) -> str:
    """A new object id: a lowercase ULID, sortable by ``at`` (default now) to the millisecond."""
    return new_event_id(at).lower()


def aware(value: datetime | None) -> datetime | None:
    """``value`` as an aware UTC datetime (a client without ``tz_aware`` returns naive ones)."""
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def id_floor(at: datetime) -> str:
    """The smallest id :func:`new_id` can mint at ``at``: a keyset bound for a time range.

    Every id minted at ``at`` or later sorts at or after it; every id minted
    earlier sorts before it.
    """
    value = int(at.timestamp() * 1000) << 80
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))
