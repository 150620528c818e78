"""Wiring of the post service: repositories, read model, access funnel, search, servicer.

``build`` is called by the kit's boot sequence (guildhall_kit.service). It opens
the search index, wires the use cases to their adapters and declares:

- the indexes of the content collections and the read model;
- the outbox collections (posts, answers, comments) the relay publishes;
- consumers: ``post.access`` (community topic -> access read model),
  ``post.profile`` (profile topic -> people and expertise) and, with a Redis cache,
  ``post.cache`` (post topic -> the copies and timelines of the posts named, ADR 0021);
- a background task keeping the search index in step with the post topic.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc

from guildhall.post.v1 import post_pb2, post_pb2_grpc
from guildhall_kit import cache as kit_cache
from guildhall_kit.bus import Event
from guildhall_kit.clients import CommunityAccessClient
from guildhall_kit.service import ConsumerSpec, RunningService, ServiceContext, ServiceParts
from guildhall_post.adapters.consumers import ReadModelConsumers
from guildhall_post.adapters.events import Events
from guildhall_post.adapters.grpc_api import PostServicer
from guildhall_post.adapters.repository import (
    OUTBOX_COLLECTIONS,
    ContentRepository,
    ReadModelRepository,
    indexes,
)
from guildhall_post.adapters.repository.cache import COPY_TTL_S, PostCache, SpaceSetCache
from guildhall_post.adapters.search import SearchProjection
from guildhall_post.application import Application
from guildhall_post.application.access import AccessFunnel
from guildhall_post.application.common import Deps
from guildhall_post.search import SearchIndex
from guildhall_post.settings import PostSettings

SERVICE_NAME = post_pb2.DESCRIPTOR.services_by_name["PostService"].full_name

_INDEXES: weakref.WeakKeyDictionary[ServiceContext[PostSettings], SearchIndex] = (
    weakref.WeakKeyDictionary()
)
_CONTENT: weakref.WeakKeyDictionary[ServiceContext[PostSettings], ContentRepository] = (
    weakref.WeakKeyDictionary()
)


def search_index_of(service: RunningService[PostSettings]) -> SearchIndex:
    """The search index of a running post service (tests and benchmarks wait on it)."""
    return _INDEXES[service.ctx]


def content_of(service: RunningService[PostSettings]) -> ContentRepository:
    """The content repository of a running post service (tests and benchmarks seed it)."""
    return _CONTENT[service.ctx]


async def build(ctx: ServiceContext[PostSettings]) -> ServiceParts:
    settings = ctx.settings
    outbox = ctx.outbox()
    # Writes (and the relay's clears) go through the kit's writer handle: one connection
    # on FerretDB 1.x, whose updates are not isolated from each other.
    redis = kit_cache.make_redis(settings.redis_url, timeout_s=settings.redis_timeout_seconds)
    cache = PostCache(redis, settings.database_name) if redis is not None else None
    space_sets = SpaceSetCache(redis, settings.database_name) if redis is not None else None
    content = ContentRepository(
        ctx.db, outbox, writer=ctx.writer_db, hint=ctx.hint_relay, cache=cache
    )
    _CONTENT[ctx] = content
    read_model = ReadModelRepository(ctx.db, writer=ctx.writer_db, space_sets=space_sets)
    community = CommunityAccessClient(
        settings.community_addr, deadline_s=settings.community_deadline_seconds
    )
    deps = Deps(
        content=content,
        read_model=read_model,
        access=AccessFunnel(read_model, community, content, space_sets=space_sets),
        events=Events(outbox),
        home_feed_max_spaces=settings.home_feed_max_spaces,
    )
    path = Path(settings.search_index_path) if settings.search_index_path else None
    index = await asyncio.to_thread(SearchIndex.open, path)
    _INDEXES[ctx] = index
    projection = SearchProjection(index, ctx.bus, ctx.registry)
    app = Application.build(deps, index)
    consumers = ReadModelConsumers(read_model)

    def register(server: grpc.aio.Server) -> Sequence[str]:
        post_pb2_grpc.add_PostServiceServicer_to_server(PostServicer(app), server)
        return [SERVICE_NAME]

    async def stop_search() -> None:
        with contextlib.suppress(Exception):
            await projection.flush()
        await asyncio.to_thread(index.close)

    async def refresh_cache(event: Event) -> None:
        # A copy a failed write left stale expires within COPY_TTL_S (timelines are checked
        # against the copies on every read): older events have nothing to repair, and a
        # new group (it starts at the topic's beginning) skips its history quickly.
        if datetime.now(UTC) - event.time < timedelta(seconds=COPY_TTL_S):
            await content.refresh([event.key])

    async def close_cache() -> None:
        await kit_cache.close(redis)

    cache_consumers = (
        [
            ConsumerSpec(
                group="post.cache",
                topics=["guildhall.post.v1"],
                handler=refresh_cache,
                dedupe=False,
            )
        ]
        if cache is not None
        else []
    )
    return ServiceParts(
        register=register,
        indexes=indexes(),
        outbox_collections=list(OUTBOX_COLLECTIONS),
        consumers=[
            *cache_consumers,
            ConsumerSpec(
                group="post.access",
                topics=["guildhall.community.v1"],
                handler=consumers.community_event,
            ),
            ConsumerSpec(
                group="post.profile",
                topics=["guildhall.profile.v1"],
                handler=consumers.profile_event,
            ),
        ],
        background=[projection.run],
        on_stop=[stop_search, community.close, close_cache],
    )
