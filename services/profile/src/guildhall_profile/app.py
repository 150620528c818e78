"""Wiring of the profile service: servicer, indexes, outbox, consumers, background tasks.

At boot (before serving) the home org is created if it does not exist yet; a
home org of another id than ``GUILDHALL_HOME_ORG_ID`` fails the boot, since
there is exactly one. Besides the gRPC server the process runs:

- the kit's outbox relay over ``orgs`` and ``people`` (hinted after each write);
- consumers of the post topic (expertise, authors) and the community topic (hosts);
- list upkeep: at start the one-off back-fill of the directory lists on a
  database that never had them, then every ``GUILDHALL_DIRECTORY_REPAIR_SECONDS``
  the removal of stale list entries readers met (see
  :mod:`guildhall_profile.repository`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import grpc

from guildhall.profile.v1 import profile_pb2, profile_pb2_grpc
from guildhall_kit.logging import get_logger
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


async def build(ctx: ServiceContext[ProfileSettings]) -> ServiceParts:
    settings = ctx.settings
    # Every write goes through the kit's writer handle (serialised on FerretDB,
    # see guildhall_kit.mongo), and each write that added events hints the relay.
    repo = ProfileRepository(ctx.db, ctx.outbox(), writer=ctx.writer_db)
    profiles = Profiles(repo, ctx.outbox(), home_org_id=settings.home_org_id, notify=ctx.hint_relay)
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

    async def upkeep_lists() -> None:
        while True:
            try:
                built, pruned = await profiles.upkeep_lists()
                if built:
                    _log.info("directory lists built from existing people", people=built)
                if pruned:
                    _log.info("stale list entries removed", entries=pruned)
            except Exception as exc:  # noqa: BLE001 - next round retries; the loop must live
                _log.warning("list upkeep failed", error=repr(exc))
            await asyncio.sleep(settings.directory_repair_seconds)

    return ServiceParts(
        register=register,
        indexes=indexes(),
        outbox_collections=OUTBOX_COLLECTIONS,
        consumers=[
            ConsumerSpec(group=POST_GROUP, topics=[POST_TOPIC], handler=PostEvents(profiles)),
            ConsumerSpec(
                group=COMMUNITY_GROUP, topics=[COMMUNITY_TOPIC], handler=CommunityEvents(profiles)
            ),
        ],
        background=[upkeep_lists],
        on_stop=[community.close],
    )
