"""Wiring of the community service: servicer, repository, relay hints, consumers, sweeper."""

from __future__ import annotations

from collections.abc import Sequence

import grpc

from guildhall.community.v1 import community_pb2, community_pb2_grpc
from guildhall_community.adapters.consumers import GROUP, TOPIC, ProfileFacts
from guildhall_community.adapters.grpc_api import CommunityServicer
from guildhall_community.adapters.repository import OUTBOX_COLLECTIONS, Repository, indexes
from guildhall_community.application import CommunityApp
from guildhall_community.settings import CommunitySettings
from guildhall_kit.periodic import every
from guildhall_kit.service import ConsumerSpec, ServiceContext, ServiceParts

SERVICE_NAME = community_pb2.DESCRIPTOR.services_by_name["CommunityService"].full_name


async def build(ctx: ServiceContext[CommunitySettings]) -> ServiceParts:
    settings = ctx.settings
    # Writes go through the kit's writer handle (serialised on FerretDB) and hint the
    # kit's relay with the documents that got events; it scans only every
    # outbox_poll_seconds.
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

    return ServiceParts(
        register=register,
        indexes=indexes(),
        outbox_collections=OUTBOX_COLLECTIONS,
        consumers=[
            ConsumerSpec(group=GROUP, topics=[TOPIC], handler=ProfileFacts(repository).handle)
        ],
        background=[
            # Records lapsed pinholes closed; bookkeeping (decisions treat them as closed).
            every(
                settings.pinhole_sweep_seconds,
                app.pinholes.sweep,
                name="pinhole_sweep",
                first_after=0,
            )
        ],
    )
