"""Per-key asyncio locks.

FerretDB 1.x (the local and test database) applies an update as a read followed by
a write of the whole document, so two concurrent updates of one document can lose
one of them. The post service keeps one writer per document in its process with
these locks; on MongoDB they cost nothing that matters.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class DocumentLocks:
    """One asyncio lock per document id, created on demand and dropped when unused."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key]
                del self._locks[key]
