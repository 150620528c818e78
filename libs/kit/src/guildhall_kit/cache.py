"""Redis as a cache in front of MongoDB: the client, and the rules every cache here follows.

1. **MongoDB is the truth.** A cache holds copies and derived lists only; a service
   runs without one (``GUILDHALL_REDIS_URL`` empty) and serves the same answers.
2. **A failing cache is a miss.** Every call is bounded by
   ``GUILDHALL_REDIS_TIMEOUT_SECONDS``; an error or timeout is logged (once a minute
   per message, the kit's log filter) and the caller reads MongoDB.
3. **Writes are versioned.** A copy is stored with the document's ``version`` and only
   replaces an older one (:data:`PUT_IF_NEWER`), so a reader that filled the cache with
   what it read before a write can never overwrite the write's own copy.
4. **Every cache call counts as a round trip** (:mod:`guildhall_kit.roundtrips`).
"""

from __future__ import annotations

from typing import Any, Final

from redis.asyncio import Redis
from redis.exceptions import RedisError

from guildhall_kit import roundtrips
from guildhall_kit.logging import get_logger

_log = get_logger(__name__)

CacheError: Final = (RedisError, OSError, TimeoutError)
"""What a cache call may raise when Redis is slow or gone: treat it as a miss."""

VERSION_WIDTH: Final = 16
"""A stored copy starts with its version as this many decimal digits."""

PUT_IF_NEWER: Final = """
local current = redis.call('GETRANGE', KEYS[1], 0, 15)
if current ~= '' and tonumber(current) ~= nil and tonumber(current) >= tonumber(ARGV[1]) then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
"""
"""KEYS[1]: the copy's key; ARGV: version, the stored value (version prefix included),
time to live in seconds. Stores the value unless a copy of the same or a newer version
is there."""


def make_redis(url: str, *, timeout_s: float) -> Redis | None:
    """A client for ``url`` (None when empty). Does not connect until the first call."""
    if not url:
        return None
    return Redis.from_url(
        url,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        health_check_interval=30,
        max_connections=64,
    )


def versioned(version: int, payload: bytes) -> bytes:
    """The stored form of a copy: its version, zero-padded, then the payload."""
    return str(max(version, 0)).zfill(VERSION_WIDTH).encode() + payload


def payload_of(stored: bytes) -> bytes:
    return stored[VERSION_WIDTH:]


def trip() -> None:
    """Count one cache round trip against the running request."""
    roundtrips.count("cache")


def warn(what: str, exc: BaseException) -> None:
    _log.warning("cache unavailable; reading the database", what=what, error=type(exc).__name__)


async def close(client: Any) -> None:
    if client is not None:
        await client.aclose()
