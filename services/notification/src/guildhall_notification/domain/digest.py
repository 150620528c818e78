"""E-mail digests: when one is due, and what it says.

A person gets a digest of their unread notifications when digests are on for
them, they have an address, they have not been active for ``inactive_after``,
at least one period of their frequency has passed since the last digest, and
something unread arrived since then.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from guildhall_notification.domain.texts import one_line


class Frequency(enum.StrEnum):
    OFF = "off"
    HOURLY = "hourly"
    DAILY = "daily"
    WEEKLY = "weekly"


PERIOD: Final = {
    Frequency.HOURLY: timedelta(hours=1),
    Frequency.DAILY: timedelta(days=1),
    Frequency.WEEKLY: timedelta(days=7),
}

DEFAULT_FREQUENCY: Final = Frequency.DAILY
MAX_ITEMS: Final = 50
"""A digest lists at most this many notifications (the newest) and says how many more."""


def next_due(
    frequency: Frequency, last_digest_at: datetime | None, now: datetime
) -> datetime | None:
    """When a digest may next be sent; None when digests are off."""
    if frequency is Frequency.OFF:
        return None
    if last_digest_at is None:
        return now
    return last_digest_at + PERIOD[frequency]


def away(active_at: datetime | None, now: datetime, inactive_after: timedelta) -> bool:
    """Whether the person has not been active for ``inactive_after`` (never seen counts)."""
    return active_at is None or now - active_at >= inactive_after


@dataclass(frozen=True, slots=True)
class DigestLine:
    """One notification as a digest lists it."""

    title: str
    excerpt: str
    created_at: datetime


def render(
    display_name: str, lines: Sequence[DigestLine], *, total: int, link_base: str
) -> tuple[str, str]:
    """Subject and plain-text body of a digest of ``total`` unread notifications, of
    which ``lines`` (newest first) are listed."""
    count = f"{total} unread notification" + ("" if total == 1 else "s")
    subject = f"Guildhall: {count}"
    greeting = f"Hello {one_line(display_name, 60)}," if display_name else "Hello,"
    out = [greeting, "", f"You have {count} while you were away:", ""]
    for line in lines:
        out.append(f"- {line.title}")
        if line.excerpt:
            out.append(f"  {line.excerpt}")
    if total > len(lines):
        out.append(f"... and {total - len(lines)} more.")
    out += ["", f"Read them in Guildhall: {link_base}", ""]
    return subject, "\n".join(out)
