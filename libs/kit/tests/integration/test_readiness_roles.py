"""Readiness per role while Kafka cannot be reached (docs/operations.md, "Readiness").

A service that only writes through its outbox is ready on MongoDB alone: its
events wait in the outbox. A service with consumers is not ready until its
Kafka side has come up once. Both are live throughout. The broker address here
is a port where nothing listens; MongoDB is the real local server.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from guildhall.profile.v1 import profile_pb2, profile_pb2_grpc
from guildhall_kit.auth.devkeys import ensure_dev_keys
from guildhall_kit.bus import Event
from guildhall_kit.grpc import LIVENESS_SERVICE
from guildhall_kit.service import (
    ConsumerSpec,
    RunningService,
    ServiceContext,
    ServiceParts,
    start_service,
)
from guildhall_kit.settings import ServiceSettings, load_settings

pytestmark = pytest.mark.integration

UNREACHABLE_KAFKA = "127.0.0.1:1"


class RoleSettings(ServiceSettings):
    service_name: ClassVar[str] = "kit-roles"


def _register(server: grpc.aio.Server) -> Sequence[str]:
    profile_pb2_grpc.add_ProfileServiceServicer_to_server(
        profile_pb2_grpc.ProfileServiceServicer(),  # type: ignore[abstract]  # health only
        server,
    )
    return [profile_pb2.DESCRIPTOR.services_by_name["ProfileService"].full_name]


async def _writer(ctx: ServiceContext[RoleSettings]) -> ServiceParts:
    del ctx
    return ServiceParts(register=_register, outbox_collections=["things"])


async def _consumer(ctx: ServiceContext[RoleSettings]) -> ServiceParts:
    del ctx

    async def handle(event: Event) -> None:
        del event

    return ServiceParts(
        register=_register,
        consumers=[
            ConsumerSpec(group="kit-roles", topics=["guildhall.profile.v1"], handler=handle)
        ],
    )


async def _status(service: RunningService[Any], name: str = "") -> str:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{service.app.port}") as channel:
        health: Any = health_pb2_grpc.HealthStub(channel)
        reply = await health.Check(health_pb2.HealthCheckRequest(service=name), timeout=2)
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))


async def _start(infra: Any, tmp_path: Path, unique: str, build: Any) -> RunningService[Any]:
    keys = ensure_dev_keys(tmp_path)
    settings = load_settings(
        RoleSettings,
        kafka_bootstrap_servers=UNREACHABLE_KAFKA,
        mongo_uri=infra.mongo_uri,
        mongo_database=f"kit_roles_{unique}",
        grpc_port=0,
        jwt_jwks_file=keys.jwks_path,
    )
    return await start_service(settings, build)


async def test_a_writer_is_ready_without_kafka(infra: Any, tmp_path: Path, unique: str) -> None:
    service = await _start(infra, tmp_path, unique, _writer)
    try:
        await service.app.wait_ready(10)
        assert await _status(service) == "SERVING"
        assert await _status(service, LIVENESS_SERVICE) == "SERVING"
    finally:
        await service.stop(drain_s=0)


async def test_a_consumer_waits_for_kafka_but_stays_live(
    infra: Any, tmp_path: Path, unique: str
) -> None:
    service = await _start(infra, tmp_path, unique, _consumer)
    try:
        await asyncio.sleep(3)
        assert await _status(service) == "NOT_SERVING"
        assert await _status(service, LIVENESS_SERVICE) == "SERVING"
    finally:
        await service.stop(drain_s=0)
