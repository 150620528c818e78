"""Notification ids that only grow, whatever the clock does.

A lowercase ULID (26 characters: 48 bits of milliseconds, 80 random bits).
:class:`MonotonicIds` never hands out an id at or below one it handed out
before, or below a floor it was told about (the last id written for a shard
by any process), so ids written one after another by the shard's writer sort
in the order they were written.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Final

_ALPHABET: Final = "0123456789abcdefghjkmnpqrstvwxyz"
_INDEX: Final = {c: i for i, c in enumerate(_ALPHABET)}
_MAX: Final = (1 << 130) - 1


def encode(value: int) -> str:
    """The 26-character lowercase ULID of a 128-bit value."""
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def decode(text: str) -> int:
    """The value of a ULID (either case). Raises ValueError for anything else."""
    if len(text) != 26:
        raise ValueError("a ULID has 26 characters")
    value = 0
    for char in text.lower():
        if char not in _INDEX:
            raise ValueError(f"not a ULID character: {char!r}")
        value = value << 5 | _INDEX[char]
    if value > _MAX:
        raise ValueError("ULID out of range")
    return value


class MonotonicIds:
    """Mints strictly increasing ULIDs from a clock reading."""

    def __init__(self) -> None:
        self._last = 0

    def raise_floor(self, floor: str) -> None:
        """Never mint an id at or below ``floor`` from now on (ignored if not a ULID)."""
        try:
            value = decode(floor)
        except ValueError:
            return
        self._last = max(self._last, value)

    def next(self, at: datetime) -> str:
        """A new id for ``at``: a fresh ULID, or the successor of the last one if the
        clock has not moved past it."""
        millis = int(at.timestamp() * 1000)
        fresh = (millis << 80) | int.from_bytes(os.urandom(10), "big")
        value = fresh if fresh > self._last else self._last + 1
        self._last = value
        return encode(value)
