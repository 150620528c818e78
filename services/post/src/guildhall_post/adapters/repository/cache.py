"""The post service's Redis cache: space timelines and copies of posts (ADR 0021).

Two kinds of keys, under a prefix naming the service's database (so test runs and
deployments sharing a Redis never meet):

- ``<db>:tl:<space>`` — a **space timeline**: a sorted set of the space's newest
  published post ids, scored by the milliseconds of their ULIDs (so the set's order is
  the feeds' ``_id`` order). A timeline is trusted only once it holds a marker (score
  +inf, so always its top member), added by :meth:`PostCache.build_timelines` after it
  wrote every id the database returned: :data:`WHOLE` when that was all of the space,
  :data:`NEWEST` when only its newest :data:`KEEP`. Posting ``ZADD``s the new id whether
  or not the timeline exists (a build racing with the post then unions, never loses it);
  deleting ``ZREM``s it. A timeline keeps its newest :data:`KEEP` ids; one that holds
  that many (or is marked :data:`NEWEST`) is complete only down to its oldest id, and a
  page beyond goes to the database.
- ``<db>:post:<id>`` — a **copy of a post** (its public fields, BSON), stored with its
  version and replaced only by a newer one (``guildhall_kit.cache.PUT_IF_NEWER``).
  Every write of a post stores its copy after the database write; a deleted post's copy
  is kept as a tombstone (state ``deleted``), never just dropped, so a reader's late
  fill of the old copy cannot bring it back.

The feed reader trusts neither blindly: ids come from the timeline, the posts from
their copies, and a post whose copy is not ``published`` is left out (and removed from
the timeline). The post topic's consumer ``post.cache`` refreshes the copy and the
timeline of every post an event names, so a write whose cache update failed (Redis
down for a moment) is repaired within the event lag.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC
from typing import Any, Final

import bson
from bson.codec_options import CodecOptions
from redis.asyncio import Redis

from guildhall_kit import cache as kc
from guildhall_kit.mongo import Document
from guildhall_post.adapters.repository.documents import HIDDEN_FIELDS

WHOLE: Final = "~whole"
NEWEST: Final = "~newest"
KEEP: Final = 200
"""Newest ids a timeline keeps; deeper pages read the database."""
TIMELINE_TTL_S: Final = 24 * 3600
COPY_TTL_S: Final = 3600
_SLACK: Final = 8
"""Extra ids read per space beyond a page: ids of the cursor's millisecond, deleted ones."""

_CODEC: Final[CodecOptions[Document]] = CodecOptions(tz_aware=True, tzinfo=UTC)
_CROCKFORD: Final = {c: i for i, c in enumerate("0123456789abcdefghjkmnpqrstvwxyz")}


def id_ms(item_id: str) -> int:
    """The milliseconds in a ULID's first ten characters (its score in a timeline)."""
    value = 0
    for char in item_id[:10]:
        value = value * 32 + _CROCKFORD.get(char, 0)
    return value


class TimelineRead:
    """What the timelines answered for one page: candidate ids by space, and the spaces
    that must be read from the database (no complete timeline, or the page runs past it)."""

    def __init__(self) -> None:
        self.ids: dict[str, list[str]] = {}
        self.cold: list[str] = []


class PostCache:
    """See the module docstring."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self._r = redis
        self._prefix = prefix
        self._put = redis.register_script(kc.PUT_IF_NEWER)
        self._building: set[str] = set()

    def _tl(self, space_id: str) -> str:
        return f"{self._prefix}:tl:{space_id}"

    def _copy(self, post_id: str) -> str:
        return f"{self._prefix}:post:{post_id}"

    # ------------------------------------------------------------------ copies

    async def copies(self, post_ids: Sequence[str]) -> dict[str, Document] | None:
        """The cached copies of these posts (missing ones left out); None if the cache
        cannot answer."""
        if not post_ids:
            return {}
        try:
            kc.trip()
            stored = await self._r.mget([self._copy(p) for p in post_ids])
        except kc.CacheError as exc:
            kc.warn("read copies", exc)
            return None
        out = {}
        for post_id, value in zip(post_ids, stored, strict=True):
            if isinstance(value, bytes) and value:
                out[post_id] = bson.decode(kc.payload_of(value), codec_options=_CODEC)
        return out

    async def store(self, docs: Iterable[Mapping[str, Any]], *, timelines: bool = False) -> bool:
        """Store copies of these post documents (each only over an older copy), in one
        round trip. With ``timelines``, also put each published post on its space's
        timeline and take any other off (a write of the post: creation, deletion, a
        refresh from its events). False if the cache could not take it."""
        docs = list(docs)
        if not docs:
            return True
        try:
            kc.trip()
            async with self._r.pipeline(transaction=False) as pipe:
                for doc in docs:
                    public = {k: v for k, v in doc.items() if k not in HIDDEN_FIELDS}
                    post_id = str(public["_id"])
                    version = int(public.get("version") or 0)
                    value = kc.versioned(version, bson.encode(public))
                    await self._put(
                        keys=[self._copy(post_id)], args=[version, value, COPY_TTL_S], client=pipe
                    )
                    if timelines and public.get("space_id"):
                        key = self._tl(str(public["space_id"]))
                        if public.get("state") == "published":
                            pipe.zadd(key, {post_id: id_ms(post_id)})
                            pipe.zremrangebyrank(key, 0, -(KEEP + 2))
                            pipe.expire(key, TIMELINE_TTL_S)
                        else:
                            pipe.zrem(key, post_id)
                await pipe.execute()
        except kc.CacheError as exc:
            kc.warn("store copies", exc)
            return False
        return True

    # ------------------------------------------------------------------ timelines

    async def unposted(self, space_id: str, post_ids: Sequence[str]) -> None:
        """These posts left the space's feed (deleted)."""
        if not post_ids:
            return
        try:
            kc.trip()
            await self._r.zrem(self._tl(space_id), *post_ids)
        except kc.CacheError as exc:
            kc.warn("timeline remove", exc)

    async def timelines(
        self, space_ids: Sequence[str], *, before: str | None, limit: int
    ) -> TimelineRead | None:
        """Up to ``limit`` ids per space below ``before`` from complete timelines (one
        round trip); None if the cache cannot answer."""
        high = f"({id_ms(before) + 1}" if before else "+inf"
        want = limit + _SLACK
        try:
            kc.trip()
            async with self._r.pipeline(transaction=False) as pipe:
                for space in space_ids:
                    key = self._tl(space)
                    pipe.zrevrangebyscore(key, high, "-inf", start=0, num=want)
                    pipe.zrevrange(key, 0, 0)
                    pipe.zcard(key)
                replies = await pipe.execute()
        except kc.CacheError as exc:
            kc.warn("timeline read", exc)
            return None
        read = TimelineRead()
        for i, space in enumerate(space_ids):
            raw, top, size = replies[3 * i : 3 * i + 3]
            marker = _text(top[0]) if top else ""
            if marker not in (WHOLE, NEWEST):
                read.cold.append(space)
                continue
            ids = [_text(m) for m in raw]
            fetched = len(ids)
            ids = [p for p in ids if not p.startswith("~") and (before is None or p < before)]
            # The page must not run past what the timeline is known to hold: all of the
            # space, or only its newest ids.
            bottomless = marker == WHOLE and int(size) <= KEEP
            if len(ids) < limit and (fetched == want or not bottomless):
                read.cold.append(space)
                continue
            read.ids[space] = ids[:limit]
        return read

    async def build_timelines(self, newest: Mapping[str, Sequence[str]], full: int) -> None:
        """Write each space's newest ids (as the database listed them, at most ``full``)
        and mark the timeline complete: every published post of the space is then in it,
        or, if ``full`` ids came back, its newest ones."""
        if not newest:
            return
        try:
            kc.trip()
            async with self._r.pipeline(transaction=False) as pipe:
                for space, ids in newest.items():
                    key = self._tl(space)
                    members: dict[str, float] = {p: id_ms(p) for p in ids}
                    members[NEWEST if len(ids) >= full else WHOLE] = float("inf")
                    pipe.zadd(key, members)
                    pipe.zremrangebyrank(key, 0, -(KEEP + 2))
                    pipe.expire(key, TIMELINE_TTL_S)
                await pipe.execute()
        except kc.CacheError as exc:
            kc.warn("timeline build", exc)

    def claim_builds(self, space_ids: Iterable[str], most: int) -> list[str]:
        """Spaces whose timelines this process will build now (none already being built)."""
        chosen = [s for s in space_ids if s not in self._building][:most]
        self._building.update(chosen)
        return chosen

    def release_builds(self, space_ids: Iterable[str]) -> None:
        self._building.difference_update(space_ids)


def _stamped(counters: tuple[int, int], until_ms: int, body: Mapping[str, Any]) -> bytes:
    """A cached answer with the counters it was computed under and its expiry (0: none)."""
    return bson.encode({"a": counters[0], "g": counters[1], "until": until_ms, **body})


def _exact(stored: Any, counters: tuple[int, int], now_ms: int) -> Document | None:
    """The answer :func:`_stamped` stored, if it is still exact: the same counters, and
    its expiry not passed; None otherwise."""
    if not isinstance(stored, bytes) or not stored:
        return None
    doc = bson.decode(stored, codec_options=_CODEC)
    if (doc["a"], doc["g"]) != counters or (doc["until"] and now_ms >= doc["until"]):
        return None
    return doc


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class SpaceSetCache:
    """Each employee's home-feed spaces (ADR 0021), exact against the read model.

    ``<db>:hs:<person>:<variant>`` holds the list with the two counters it was computed
    under: ``<db>:access`` (raised by every community or pinhole change the read model
    applies) and ``<db>:gen:<person>`` (raised by every change of that person's
    memberships). :meth:`lookup` reads all three in one round trip and answers only if
    both counters are unchanged and no pinhole in it has expired since; the counters are
    read *before* the read model, so a change applied while a list was being computed
    always makes it miss. Partners' spaces are never cached: they are asked of the
    community service on every request.
    """

    TTL_S: Final = 600

    def __init__(self, redis: Redis, prefix: str) -> None:
        self._r = redis
        self._prefix = prefix

    def _access(self) -> str:
        return f"{self._prefix}:access"

    def _gen(self, person_id: str) -> str:
        return f"{self._prefix}:gen:{person_id}"

    def _key(self, person_id: str, variant: str) -> str:
        return f"{self._prefix}:hs:{person_id}:{variant}"

    async def lookup(
        self, person_id: str, variant: str, now_ms: int
    ) -> tuple[list[str] | None, tuple[int, int] | None]:
        """(the cached list or None, the counters to store a fresh one under — None when
        the cache cannot answer, and nothing should be stored)."""
        try:
            kc.trip()
            access, gen, stored = await self._r.mget(
                [self._access(), self._gen(person_id), self._key(person_id, variant)]
            )
        except kc.CacheError as exc:
            kc.warn("space set read", exc)
            return None, None
        counters = (int(access or 0), int(gen or 0))
        value = _exact(stored, counters, now_ms)
        return (None if value is None else list(value["spaces"])), counters

    async def keep(
        self,
        person_id: str,
        variant: str,
        counters: tuple[int, int],
        spaces: Sequence[str],
        until_ms: int,
    ) -> None:
        """Store a list computed under ``counters``, valid until ``until_ms`` (0: no end)."""
        value = _stamped(counters, until_ms, {"spaces": list(spaces)})
        try:
            kc.trip()
            await self._r.set(self._key(person_id, variant), value, ex=self.TTL_S)
        except kc.CacheError as exc:
            kc.warn("space set write", exc)

    async def person_changed(self, person_id: str) -> None:
        """A membership of the person changed: their lists are stale. Raises the cache's
        error, so the event that changed it is retried rather than forgotten."""
        kc.trip()
        await self._r.incr(self._gen(person_id))

    async def access_changed(self) -> None:
        """A community or pinhole changed: every list is stale (raises, as above)."""
        kc.trip()
        await self._r.incr(self._access())

    def _views(self, person_id: str, variant: str) -> str:
        return f"{self._prefix}:views:{person_id}:{variant}"

    async def views(
        self, person_id: str, variant: str, space_ids: Sequence[str], now_ms: int
    ) -> tuple[dict[str, Document], tuple[int, int] | None]:
        """The person's cached views of these spaces that are still exact (same counters,
        no expiry passed), and the counters to store fresh ones under (None: the cache
        cannot answer). A view is ``{"visible", "actions", "read_only"}``."""
        try:
            kc.trip()
            async with self._r.pipeline(transaction=False) as pipe:
                pipe.get(self._access())
                pipe.get(self._gen(person_id))
                pipe.hmget(self._views(person_id, variant), list(space_ids))
                access, gen, stored = await pipe.execute()
        except kc.CacheError as exc:
            kc.warn("views read", exc)
            return {}, None
        counters = (int(access or 0), int(gen or 0))
        out = {}
        for space_id, value in zip(space_ids, stored, strict=True):
            doc = _exact(value, counters, now_ms)
            if doc is not None:
                out[space_id] = doc
        return out, counters

    async def keep_views(
        self,
        person_id: str,
        variant: str,
        counters: tuple[int, int],
        views: Mapping[str, tuple[Document, int]],
    ) -> None:
        """Store views computed under ``counters``: space -> (view, valid until ms or 0)."""
        if not views:
            return
        fields = {space: _stamped(counters, until, view) for space, (view, until) in views.items()}
        key = self._views(person_id, variant)
        try:
            kc.trip()
            async with self._r.pipeline(transaction=False) as pipe:
                pipe.hset(key, mapping=fields)  # type: ignore[arg-type]
                pipe.expire(key, self.TTL_S)
                await pipe.execute()
        except kc.CacheError as exc:
            kc.warn("views write", exc)
