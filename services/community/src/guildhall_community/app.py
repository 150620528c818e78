"""Wiring of the community service: servicer, repository, relay, consumers, sweeper, indexes."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import grpc

from guildhall.community.v1 import community_pb2, community_pb2_grpc
from guildhall_community.adapters.documents import OUTBOX_COLLECTIONS
from guildhall_community.adapters.grpc_service import CommunityServicer
from guildhall_community.adapters.profile_facts import GROUP, TOPIC, ProfileFacts
from guildhall_community.adapters.repository import Repository, indexes
from guildhall_community.application import CommunityApp
from guildhall_community.settings import CommunitySettings
from guildhall_kit.logging import get_logger
from guildhall_kit.service import ConsumerSpec, ServiceContext, ServiceParts

SERVICE_NAME = community_pb2.DESCRIPTOR.services_by_name["CommunityService"].full_name

_log = get_logger(__name__)


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


async def run_recount(repository: Repository, every_s: float, batch: int = 5_000) -> None:
    """Recount every community's member count, one pass every ``every_s`` seconds.

    Batches are large because each one is a query on ``communities`` by ``_id``
    range, which FerretDB answers with a scan (10 per pass at 50,000 communities).
    """
    while True:
        await asyncio.sleep(every_s)
        after, corrected = "", 0
        try:
            while True:
                visited, fixed = await repository.recount_members(after, batch)
                corrected += fixed
                if len(visited) < batch:
                    break
                after = visited[-1]
        except Exception:  # noqa: BLE001 - bookkeeping; the next pass starts over
            _log.exception("member recount pass failed")
        if corrected:
            _log.info("member counts corrected", communities=corrected)


async def build(ctx: ServiceContext[CommunitySettings]) -> ServiceParts:
    settings = ctx.settings
    # Writes go through the kit's writer handle (serialised on FerretDB) and hint the
    # kit's relay with the documents that got events; it scans only every
    # outbox_poll_seconds (a scan reads every document on FerretDB).
    repository = Repository(ctx.db, ctx.outbox(), writer=ctx.writer_db)

    def hint(written: Sequence[tuple[str, str]]) -> None:
        for collection, document_id in written:
            ctx.hint_relay(collection, document_id)

    app = CommunityApp(
        repository,
        policy=settings.pinhole_open_policy,
        write_attempts=settings.write_attempts,
        on_events=hint,
    )
    servicer = CommunityServicer(app)

    def register(server: grpc.aio.Server) -> Sequence[str]:
        community_pb2_grpc.add_CommunityServiceServicer_to_server(servicer, server)
        return [SERVICE_NAME]

    async def sweeper() -> None:
        repaired = await repository.repair_pinhole_index()
        _log.info("pinhole index checked", pinholes=repaired)
        named = await repository.repair_name_directory()
        if named:
            _log.info("name directory built from existing communities", communities=named)
        await run_sweeper(app, settings.pinhole_sweep_seconds)

    async def roster() -> None:
        added = await repository.repair_roster()
        if added:
            _log.info("roster built from existing memberships", memberships=added)
        await run_recount(repository, settings.member_recount_seconds)

    return ServiceParts(
        register=register,
        indexes=indexes(),
        outbox_collections=OUTBOX_COLLECTIONS,
        consumers=[
            ConsumerSpec(group=GROUP, topics=[TOPIC], handler=ProfileFacts(repository).handle)
        ],
        background=[sweeper, roster],
    )
