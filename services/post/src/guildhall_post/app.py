"""Wiring of the post service: store, read models, access funnel, search, servicer.

``build`` is called by the kit's boot sequence (guildhall_kit.service). It opens
the search index, wires the operations to their adapters and declares:

- indexes of the content collections and the read models;
- the outbox collections (posts, answers, comments) the relay publishes;
- consumers: ``post.access`` (community topic -> access read model) and
  ``post.profile`` (profile topic -> people and expertise);
- a background task keeping the search index in step with the post topic.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Sequence
from pathlib import Path

import grpc

from guildhall.post.v1 import post_pb2, post_pb2_grpc
from guildhall_kit.logging import get_logger
from guildhall_kit.service import ConsumerSpec, RunningService, ServiceContext, ServiceParts
from guildhall_post.adapters.community import CommunityAccess
from guildhall_post.adapters.events import EventFactory
from guildhall_post.adapters.funnel import AccessFunnel
from guildhall_post.adapters.grpc_api import PostServicer
from guildhall_post.adapters.operations import PostOperations
from guildhall_post.adapters.readmodel import ReadModel, read_model_indexes
from guildhall_post.adapters.search import SearchProjection, SearchService
from guildhall_post.adapters.store import OUTBOX_COLLECTIONS, Store, store_indexes
from guildhall_post.search import SearchIndex
from guildhall_post.settings import PostSettings

_log = get_logger(__name__)

SERVICE_NAME = post_pb2.DESCRIPTOR.services_by_name["PostService"].full_name

_INDEXES: weakref.WeakKeyDictionary[ServiceContext[PostSettings], SearchIndex] = (
    weakref.WeakKeyDictionary()
)
_STORES: weakref.WeakKeyDictionary[ServiceContext[PostSettings], Store] = (
    weakref.WeakKeyDictionary()
)


def search_index_of(service: RunningService[PostSettings]) -> SearchIndex:
    """The search index of a running post service (tests and benchmarks wait on it)."""
    return _INDEXES[service.ctx]


def store_of(service: RunningService[PostSettings]) -> Store:
    """The content store of a running post service (tests and benchmarks seed through it)."""
    return _STORES[service.ctx]


async def build(ctx: ServiceContext[PostSettings]) -> ServiceParts:
    settings = ctx.settings
    outbox = ctx.outbox()
    # Writes (and the relay's clears) go through the kit's writer handle: one connection
    # on FerretDB 1.x, whose updates are not isolated from each other.
    store = Store(ctx.db, outbox, writer=ctx.writer_db, hint=ctx.hint_relay)
    _STORES[ctx] = store
    read_model = ReadModel(ctx.db, writer=ctx.writer_db)
    community = CommunityAccess(
        settings.community_addr, deadline_s=settings.community_deadline_seconds
    )
    funnel = AccessFunnel(read_model, community)
    ops = PostOperations(
        store,
        funnel,
        read_model,
        EventFactory(outbox),
        home_feed_max_spaces=settings.home_feed_max_spaces,
    )
    path = Path(settings.search_index_path) if settings.search_index_path else None
    index = await asyncio.to_thread(SearchIndex.open, path)
    _INDEXES[ctx] = index
    projection = SearchProjection(index, ctx.bus, ctx.registry)
    search = SearchService(index, store, funnel, ops)

    def register(server: grpc.aio.Server) -> Sequence[str]:
        post_pb2_grpc.add_PostServiceServicer_to_server(PostServicer(ops, search), server)
        return [SERVICE_NAME]

    async def stop_search() -> None:
        with contextlib.suppress(Exception):
            await projection.flush()
        await asyncio.to_thread(index.close)

    return ServiceParts(
        register=register,
        indexes=[*store_indexes(), *read_model_indexes()],
        outbox_collections=list(OUTBOX_COLLECTIONS),
        consumers=[
            ConsumerSpec(
                group="post.access",
                topics=["guildhall.community.v1"],
                handler=read_model.handle_community_event,
            ),
            ConsumerSpec(
                group="post.profile",
                topics=["guildhall.profile.v1"],
                handler=read_model.handle_profile_event,
            ),
        ],
        background=[projection.run],
        on_stop=[stop_search, community.close],
    )
