"""Wiring of the community service: servicer, repository, relay, consumers, sweeper, indexes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import grpc
from pymongo.asynchronous.database import AsyncDatabase

from guildhall.community.v1 import community_pb2, community_pb2_grpc
from guildhall_community.adapters.documents import OUTBOX_COLLECTIONS
from guildhall_community.adapters.grpc_service import CommunityServicer
from guildhall_community.adapters.profile_facts import GROUP, TOPIC, ProfileFacts
from guildhall_community.adapters.relay import HintedRelay
from guildhall_community.adapters.repository import Repository, indexes
from guildhall_community.application import CommunityApp
from guildhall_community.settings import CommunitySettings
from guildhall_kit.logging import get_logger
from guildhall_kit.mongo import Document, make_client
from guildhall_kit.outbox import outbox_indexes
from guildhall_kit.service import ConsumerSpec, ServiceContext, ServiceParts

SERVICE_NAME = community_pb2.DESCRIPTOR.services_by_name["CommunityService"].full_name

_log = get_logger(__name__)


def single_connection(uri: str) -> str:
    """``uri`` with a connection pool of one (``maxPoolSize=1``)."""
    parts = urlsplit(uri)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k.lower() != "maxpoolsize"]
    query.append(("maxPoolSize", "1"))
    return urlunsplit(parts._replace(query=urlencode(query)))


async def writer_database(
    ctx: ServiceContext[CommunitySettings],
) -> tuple[AsyncDatabase[Document], Callable[[], Awaitable[None]] | None]:
    """The database handle every write of this service goes through, and how to close it.

    On MongoDB, the service's own handle: each update is atomic there. On
    FerretDB 1.x, whose updates read the document and write it back without
    isolation, a handle on a client with a single connection, which FerretDB
    serves one operation at a time — so this process's compare-and-set writes
    and its outbox relay's clears never interleave. (Several replicas against
    one FerretDB would still race: FerretDB is the local and test backend.)
    """
    info = await ctx.mongo.admin.command("buildInfo")
    if "ferretdbVersion" not in info:
        return ctx.db, None
    _log.info(
        "FerretDB detected: writes go through one connection", ferretdb=info["ferretdbVersion"]
    )
    client = make_client(
        single_connection(ctx.settings.mongo_uri), app_name="guildhall-community-writer"
    )
    return client[ctx.settings.database_name], client.close


async def run_sweeper(app: CommunityApp, every_s: float) -> None:
    """Record lapsed pinholes closed, every ``every_s`` seconds, until cancelled."""
    while True:
        try:
            closed = await app.sweep()
            if closed:
                _log.info("sweeper recorded lapsed pinholes", closed=closed)
        except Exception:  # noqa: BLE001 - the next pass retries; the sweeper is bookkeeping
            _log.exception("sweeper pass failed")
        await asyncio.sleep(every_s)


async def build(ctx: ServiceContext[CommunitySettings]) -> ServiceParts:
    settings = ctx.settings
    writer, close_writer = await writer_database(ctx)
    # The service runs its own relay, over the writer: told which documents got events,
    # it publishes those at once and scans for leftovers only every outbox_scan_seconds
    # (a scan reads every document on FerretDB), and its clears never race state writes.
    relay = HintedRelay(
        writer, OUTBOX_COLLECTIONS, ctx.producer, scan_seconds=settings.outbox_scan_seconds
    )
    repository = Repository(ctx.db, ctx.outbox(), writer=writer)
    app = CommunityApp(
        repository,
        policy=settings.pinhole_open_policy,
        write_attempts=settings.write_attempts,
        on_events=relay.hint,
    )
    servicer = CommunityServicer(app)

    def register(server: grpc.aio.Server) -> Sequence[str]:
        community_pb2_grpc.add_CommunityServiceServicer_to_server(servicer, server)
        return [SERVICE_NAME]

    async def sweeper() -> None:
        await run_sweeper(app, settings.pinhole_sweep_seconds)

    return ServiceParts(
        register=register,
        indexes=[*indexes(), *(i for c in OUTBOX_COLLECTIONS for i in outbox_indexes(c))],
        consumers=[
            ConsumerSpec(group=GROUP, topics=[TOPIC], handler=ProfileFacts(repository).handle)
        ],
        background=[relay.run, sweeper],
        on_stop=[close_writer] if close_writer is not None else [],
    )
