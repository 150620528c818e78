"""Wiring of the post service: servicers, indexes, background tasks.

Skeleton: the contract is served, every method answers UNIMPLEMENTED until
its capability lands.
"""

from __future__ import annotations

from collections.abc import Sequence

import grpc

from guildhall.post.v1 import post_pb2, post_pb2_grpc
from guildhall_kit.service import ServiceContext, ServiceParts
from guildhall_post.settings import PostSettings

SERVICE_NAME = post_pb2.DESCRIPTOR.services_by_name["PostService"].full_name


async def build(ctx: ServiceContext[PostSettings]) -> ServiceParts:
    def register(server: grpc.aio.Server) -> Sequence[str]:
        servicer = post_pb2_grpc.PostServiceServicer()  # type: ignore[abstract]  # skeleton: UNIMPLEMENTED
        post_pb2_grpc.add_PostServiceServicer_to_server(servicer, server)
        return [SERVICE_NAME]

    return ServiceParts(register=register)
