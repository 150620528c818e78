"""Wiring of the profile service: servicer, indexes, outbox, consumers, background tasks.

Besides the gRPC server the process runs:

- the outbox relay over ``orgs`` and ``people`` (the kit's);
- consumers of the post topic (expertise, authors) and the community topic (hosts);
- the home org bootstrap: created on first start, retried until MongoDB
  answers; readiness waits for it;
- the directory repair loop: re-projects people whose directory rows a crash
  left stale (see :mod:`guildhall_profile.repository`).
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
    repo = ProfileRepository(ctx.db, ctx.outbox())
    profiles = Profiles(repo, ctx.outbox(), home_org_id=settings.home_org_id, wake=ctx.wake_relay)
    community = CommunityAccess(
        settings.community_addr, deadline_seconds=settings.community_deadline_seconds
    )
    servicer = ProfileServicer(profiles, PeopleAccess(repo, community), Gate(settings.home_org_id))
    home_ready = asyncio.Event()

    def register(server: grpc.aio.Server) -> Sequence[str]:
        profile_pb2_grpc.add_ProfileServiceServicer_to_server(servicer, server)
        return [SERVICE_NAME]

    async def bootstrap_home() -> None:
        delay = 0.5
        while True:
            try:
                await profiles.bootstrap_home(settings.home_org_name)
                home_ready.set()
                return
            except RuntimeError:
                raise  # a second home org: a configuration error, not a transient one
            except Exception as exc:  # noqa: BLE001 - MongoDB not reachable yet; retry
                _log.warning("home org bootstrap failed; retrying", error=repr(exc), retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    async def home_org_ready() -> None:
        if not home_ready.is_set():
            raise RuntimeError("home org not bootstrapped yet")

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
        indexes=indexes(),
        outbox_collections=OUTBOX_COLLECTIONS,
        consumers=[
            ConsumerSpec(group=POST_GROUP, topics=[POST_TOPIC], handler=PostEvents(profiles)),
            ConsumerSpec(
                group=COMMUNITY_GROUP, topics=[COMMUNITY_TOPIC], handler=CommunityEvents(profiles)
            ),
        ],
        readiness=[home_org_ready],
        background=[bootstrap_home, repair_directory],
        on_stop=[community.close],
    )
