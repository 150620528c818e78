"""Time and ids as the post service stores them."""

from __future__ import annotations

from datetime import UTC, datetime

from guildhall_kit.bus.event import new_event_id


def now_ms() -> datetime:
    """Now, in whole milliseconds (what BSON stores, so a round trip is lossless)."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def new_id(at: datetime | None = None) -> str:
    """A new item id: a lowercase ULID (docs/adr/0003-contracts.md), sortable by time."""
    return new_event_id(at).lower()


def aware(value: datetime | None) -> datetime | None:
    """``value`` as an aware UTC datetime (documents may come back naive from some clients)."""
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
