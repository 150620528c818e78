"""Wiring of the profile service: servicers, indexes, background tasks.

Skeleton: the contract is served, every method answers UNIMPLEMENTED until
its capability lands.
"""

from __future__ import annotations

from collections.abc import Sequence

import grpc

from guildhall.profile.v1 import profile_pb2, profile_pb2_grpc
from guildhall_kit.service import ServiceContext, ServiceParts
from guildhall_profile.settings import ProfileSettings

SERVICE_NAME = profile_pb2.DESCRIPTOR.services_by_name["ProfileService"].full_name


async def build(ctx: ServiceContext[ProfileSettings]) -> ServiceParts:
    def register(server: grpc.aio.Server) -> Sequence[str]:
        servicer = profile_pb2_grpc.ProfileServiceServicer()  # type: ignore[abstract]  # skeleton: UNIMPLEMENTED
        profile_pb2_grpc.add_ProfileServiceServicer_to_server(servicer, server)
        return [SERVICE_NAME]

    return ServiceParts(register=register)
