"""The gRPC server template against a real FerretDB: health, validation, errors, drain."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pymongo.errors import ServerSelectionTimeoutError

from guildhall.profile.v1 import profile_pb2, profile_pb2_grpc
from guildhall_kit import roundtrips
from guildhall_kit.auth import PrincipalKind, mint_token, require_principal
from guildhall_kit.auth.devkeys import ensure_dev_keys
from guildhall_kit.errors import NotFound
from guildhall_kit.grpc import LIVENESS_SERVICE, GrpcApp
from guildhall_kit.service import ServiceContext, ServiceParts, start_service
from guildhall_kit.settings import ServiceSettings, load_settings

pytestmark = pytest.mark.integration

SERVICE = profile_pb2.DESCRIPTOR.services_by_name["ProfileService"].full_name


class KitTestSettings(ServiceSettings):
    service_name: ClassVar[str] = "kit-test"


class SlowProfile(profile_pb2_grpc.ProfileServiceServicer):
    """GetPerson: 'slow' sleeps a second, 'ghost' is not found, 'twice' reads the
    database twice, anything else answers."""

    def __init__(self, db: Any) -> None:
        self._db = db

    async def GetPerson(
        self, request: profile_pb2.GetPersonRequest, context: Any
    ) -> profile_pb2.GetPersonResponse:
        principal = require_principal(PrincipalKind.EMPLOYEE)
        if request.person_id == "slow":
            await asyncio.sleep(1.0)
        if request.person_id == "ghost":
            raise NotFound("person", request.person_id)
        if request.person_id == "twice":
            await self._db.people.find_one({"_id": "twice"})
            await self._db.people.find_one({"_id": "again"})
        if request.person_id == "dbdown":
            # What PyMongo raises when no server answers within serverSelectionTimeoutMS.
            raise ServerSelectionTimeoutError("127.0.0.1:1: [Errno 111] Connection refused")
        return profile_pb2.GetPersonResponse(
            person=profile_pb2.Person(person_id=request.person_id, org_id=principal.org_id)
        )


async def build(ctx: ServiceContext[KitTestSettings]) -> ServiceParts:
    def register(server: grpc.aio.Server) -> Sequence[str]:
        servicer = SlowProfile(ctx.db)  # type: ignore[abstract]  # only GetPerson is exercised
        profile_pb2_grpc.add_ProfileServiceServicer_to_server(servicer, server)
        return [SERVICE]

    return ServiceParts(register=register)


class Running:
    def __init__(self, app: GrpcApp, stop: Callable[..., Awaitable[None]], token: str) -> None:
        self.app, self.stop, self.token = app, stop, token
        self.channel = grpc.aio.insecure_channel(f"127.0.0.1:{app.port}")
        self.profile = profile_pb2_grpc.ProfileServiceStub(self.channel)
        self.health: Any = health_pb2_grpc.HealthStub(self.channel)

    def auth(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.token}"),)

    async def status(self, service: str = "") -> str:
        reply = await self.health.Check(health_pb2.HealthCheckRequest(service=service), timeout=2)
        return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))


@pytest.fixture
async def running(infra: Any, tmp_path: Path, unique: str) -> AsyncIterator[Running]:
    keys = ensure_dev_keys(tmp_path)
    settings = load_settings(
        KitTestSettings,
        kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
        mongo_uri=infra.mongo_uri,
        mongo_database=f"kit_test_{unique}",
        grpc_port=0,
        jwt_jwks_file=keys.jwks_path,
    )
    service = await start_service(settings, build)
    app = service.app
    token = mint_token(
        keys.private_key_pem,
        kid=keys.kid,
        subject="alice",
        kind=PrincipalKind.EMPLOYEE,
        org_id="home",
    )
    r = Running(app, service.stop, token)
    await app.wait_ready(10)
    yield r
    await r.channel.close()
    await service.stop(drain_s=0)


async def test_health_serving_after_start(running: Running) -> None:
    assert await running.status("") == "SERVING"
    assert await running.status(SERVICE) == "SERVING"
    assert await running.status(LIVENESS_SERVICE) == "SERVING"


async def test_invalid_request_is_invalid_argument_naming_the_field(running: Running) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await running.profile.GetPerson(
            profile_pb2.GetPersonRequest(person_id="Not An Id!"),
            metadata=running.auth(),
            timeout=5,
        )
    err = info.value
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "person_id" in (err.details() or "")
    raw = dict(err.trailing_metadata() or ()).get("grpc-status-details-bin")
    assert isinstance(raw, bytes)
    status = status_pb2.Status.FromString(raw)
    bad = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(bad)
    assert [v.field for v in bad.field_violations] == ["person_id"]


async def test_missing_token_is_unauthenticated(running: Running) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await running.profile.GetPerson(profile_pb2.GetPersonRequest(person_id="bob"), timeout=5)
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_bad_token_is_unauthenticated(running: Running) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await running.profile.GetPerson(
            profile_pb2.GetPersonRequest(person_id="bob"),
            metadata=(("authorization", "Bearer not.a.token"),),
            timeout=5,
        )
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_domain_error_maps_to_status_and_success_carries_principal(
    running: Running,
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await running.profile.GetPerson(
            profile_pb2.GetPersonRequest(person_id="ghost"), metadata=running.auth(), timeout=5
        )
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    reply = await running.profile.GetPerson(
        profile_pb2.GetPersonRequest(person_id="bob"), metadata=running.auth(), timeout=5
    )
    assert reply.person.org_id == "home"


async def test_client_deadline_is_enforced(running: Running) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await running.profile.GetPerson(
            profile_pb2.GetPersonRequest(person_id="slow"), metadata=running.auth(), timeout=0.2
        )
    assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED


async def test_draining_reports_not_serving_and_finishes_inflight(running: Running) -> None:
    inflight = asyncio.ensure_future(
        running.profile.GetPerson(
            profile_pb2.GetPersonRequest(person_id="slow"), metadata=running.auth(), timeout=10
        )
    )
    await asyncio.sleep(0.1)
    stopping = asyncio.ensure_future(running.app.stop(drain_s=4.0))
    await asyncio.sleep(0.2)
    # During the notice period readiness says NOT_SERVING, liveness still SERVING.
    assert await running.status("") == "NOT_SERVING"
    assert await running.status(SERVICE) == "NOT_SERVING"
    assert await running.status(LIVENESS_SERVICE) == "SERVING"
    reply = await inflight
    assert reply.person.person_id == "slow"
    await stopping
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await running.status("")
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_a_database_outage_is_unavailable_not_internal(running: Running) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await running.profile.GetPerson(
            profile_pb2.GetPersonRequest(person_id="dbdown"), metadata=running.auth(), timeout=10
        )
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "database is unavailable" in (info.value.details() or "")


async def test_a_method_the_servicer_lacks_is_unimplemented(running: Running) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await running.profile.GetPersonCard(
            profile_pb2.GetPersonCardRequest(person_id="bob"), metadata=running.auth(), timeout=5
        )
    assert info.value.code() == grpc.StatusCode.UNIMPLEMENTED


# Bytes no GetPersonRequest parser accepts: garbage, invalid UTF-8 in the string
# field 1, a length prefix longer than the message, and 1,000 nested groups of an
# unknown field (past protobuf's recursion limit).
UNDECODABLE = {
    "garbage": b"\xff\xff\xff\xff",
    "invalid utf-8": b"\x0a\x02\xc3\x28",
    "truncated length": b"\x0a\x05ab",
    "deep nesting": b"\x7b" * 1000 + b"\x7c" * 1000,
}


@pytest.mark.parametrize("case", sorted(UNDECODABLE))
async def test_an_undecodable_request_is_invalid_argument_in_plain_words(
    running: Running, case: str
) -> None:
    call: Any = running.channel.unary_unary(f"/{SERVICE}/GetPerson")
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call(UNDECODABLE[case], metadata=running.auth(), timeout=5)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    details = info.value.details() or ""
    assert "not a valid protobuf message" in details
    assert "class" not in details
    assert "Error" not in details


async def test_a_call_reports_its_round_trips_and_the_caller_adds_them(
    running: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(roundtrips, "EXPOSE", True)
    call = running.profile.GetPerson(
        profile_pb2.GetPersonRequest(person_id="twice"), metadata=running.auth(), timeout=5
    )
    await call
    trailer = dict(await call.trailing_metadata())
    assert trailer[roundtrips.TRAILER] == "db=2,cache=0,rpc=0"
    with roundtrips.request_scope("test") as tally:
        call = running.profile.GetPerson(
            profile_pb2.GetPersonRequest(person_id="twice"), metadata=running.auth(), timeout=5
        )
        reply = await roundtrips.unary(call)
    assert reply.person.person_id == "twice"
    assert (tally.rpc, tally.db, tally.cache) == (1, 2, 0)


async def test_round_trips_stay_internal_unless_exposed(
    running: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(roundtrips, "EXPOSE", False)
    call = running.profile.GetPerson(
        profile_pb2.GetPersonRequest(person_id="twice"), metadata=running.auth(), timeout=5
    )
    await call
    assert roundtrips.TRAILER not in dict(await call.trailing_metadata())
