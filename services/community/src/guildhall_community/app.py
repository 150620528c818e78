"""Wiring of the community service: servicers, indexes, background tasks.

Skeleton: the contract is served, every method answers UNIMPLEMENTED until
its capability lands.
"""

from __future__ import annotations

from collections.abc import Sequence

import grpc

from guildhall.community.v1 import community_pb2, community_pb2_grpc
from guildhall_community.settings import CommunitySettings
from guildhall_kit.service import ServiceContext, ServiceParts

SERVICE_NAME = community_pb2.DESCRIPTOR.services_by_name["CommunityService"].full_name


async def build(ctx: ServiceContext[CommunitySettings]) -> ServiceParts:
    def register(server: grpc.aio.Server) -> Sequence[str]:
        servicer = community_pb2_grpc.CommunityServiceServicer()  # type: ignore[abstract]  # skeleton: UNIMPLEMENTED
        community_pb2_grpc.add_CommunityServiceServicer_to_server(servicer, server)
        return [SERVICE_NAME]

    return ServiceParts(register=register)
