"""Wiring of the profile service: servicer, indexes, outbox, consumers, background tasks.

At boot (before serving) the home org is created if it does not exist yet; a
home org of another id than ``GUILDHALL_HOME_ORG_ID`` fails the boot, since
there is exactly one. Besides the gRPC server the process runs:

- the outbox relay over ``orgs`` and ``people``, writing through the same
  handle as every other write (see :func:`writer_database`);
- consumers of the post topic (expertise, authors) and the community topic (hosts);
- the directory repair loop: re-projects people whose directory rows a crash
  left stale (see :mod:`guildhall_profile.repository`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import grpc
from pymongo.asynchronous.database import AsyncDatabase

from guildhall.profile.v1 import profile_pb2, profile_pb2_grpc
from guildhall_kit.logging import get_logger
from guildhall_kit.mongo import Document, make_client
from guildhall_kit.outbox import OutboxRelay, outbox_indexes
from guildhall_kit.service import ConsumerSpec, ServiceContext, ServiceParts
from guildhall_profile.access import Gate, PeopleAccess
from guildhall_profile.application import Profiles
from guildhall_profile.community import CommunityAccess
from guildhall_profile.consumers import (
    COMMUNITY_GROUP,
    COMMUNITY_TOPIC,
    POST_GROUP,
    POST_TOPIC,
    CommunityEvents,
    PostEvents,
)
from guildhall_profile.grpc_api import ProfileServicer
from guildhall_profile.repository import OUTBOX_COLLECTIONS, ProfileRepository, indexes
from guildhall_profile.settings import ProfileSettings

SERVICE_NAME = profile_pb2.DESCRIPTOR.services_by_name["ProfileService"].full_name

_log = get_logger(__name__)


def single_connection(uri: str) -> str:
    """``uri`` with a connection pool of one (``maxPoolSize=1``)."""
    parts = urlsplit(uri)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k.lower() != "maxpoolsize"]
    query.append(("maxPoolSize", "1"))
    return urlunsplit(parts._replace(query=urlencode(query)))


async def writer_database(
    ctx: ServiceContext[ProfileSettings],
) -> tuple[AsyncDatabase[Document], Callable[[], Awaitable[None]] | None]:
    """The handle every write of this service goes through, and how to close it.

    MongoDB applies each single-document update atomically: the service's own
    handle. FerretDB 1.x reads a document and writes it back without isolation
    (measured on 1.24: 200 concurrent ``$inc`` of one document kept 11), which
    breaks compare-and-set and lets the relay's outbox clear overwrite a state
    change made meanwhile; there every write, the relay's included, goes
    through a client with one connection, which FerretDB serves one operation
    at a time. FerretDB is the local and test backend; one process per database.
    """
    info = await ctx.mongo.admin.command("buildInfo")
    if "ferretdbVersion" not in info:
        return ctx.db, None
    _log.info("FerretDB: writes go through one connection", ferretdb=info["ferretdbVersion"])
    client = make_client(
        single_connection(ctx.settings.mongo_uri), app_name="guildhall-profile-writer"
    )
    return client[ctx.settings.database_name], client.close


async def build(ctx: ServiceContext[ProfileSettings]) -> ServiceParts:
    settings = ctx.settings
    writer, close_writer = await writer_database(ctx)
    # The service's own relay over the writer, instead of the kit's (which clears
    # outboxes through the pooled client, racing state writes on FerretDB). It is
    # registered as the context's relay, so wake_relay and stop reach it.
    relay = OutboxRelay(
        writer, OUTBOX_COLLECTIONS, ctx.producer, poll_seconds=settings.outbox_poll_seconds
    )
    ctx.relay = relay
    repo = ProfileRepository(ctx.db, ctx.outbox(), writer=writer)
    profiles = Profiles(repo, ctx.outbox(), home_org_id=settings.home_org_id, wake=relay.wake)
    community = CommunityAccess(
        settings.community_addr, deadline_seconds=settings.community_deadline_seconds
    )
    servicer = ProfileServicer(profiles, PeopleAccess(repo, community), Gate(settings.home_org_id))
    # Like the kit's index creation right after build: needs MongoDB at boot, and
    # a wrong GUILDHALL_HOME_ORG_ID stops the process here instead of serving.
    await profiles.bootstrap_home(settings.home_org_name)

    def register(server: grpc.aio.Server) -> Sequence[str]:
        profile_pb2_grpc.add_ProfileServiceServicer_to_server(servicer, server)
        return [SERVICE_NAME]

    async def repair_directory() -> None:
        while True:
            try:
                repaired = await profiles.repair_directory()
                if repaired:
                    _log.info("directory rows repaired", people=repaired)
            except Exception as exc:  # noqa: BLE001 - next round retries; the loop must live
                _log.warning("directory repair failed", error=repr(exc))
            await asyncio.sleep(settings.directory_repair_seconds)

    return ServiceParts(
        register=register,
        indexes=[*indexes(), *(i for c in OUTBOX_COLLECTIONS for i in outbox_indexes(c))],
        consumers=[
            ConsumerSpec(group=POST_GROUP, topics=[POST_TOPIC], handler=PostEvents(profiles)),
            ConsumerSpec(
                group=COMMUNITY_GROUP, topics=[COMMUNITY_TOPIC], handler=CommunityEvents(profiles)
            ),
        ],
        background=[relay.run, repair_directory],
        on_stop=[community.close, *([close_writer] if close_writer is not None else [])],
    )
