"""A database outage answers UNAVAILABLE, fast, and the service recovers without a restart.

The service reaches the real FerretDB through a TCP proxy the test controls.
Cutting the proxy (every connection closed, nothing listening) is the outage
as the service sees it; reopening it on the same port is the recovery.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlparse

import grpc
import pytest

from guildhall.profile.v1 import profile_pb2, profile_pb2_grpc
from guildhall_kit.auth import PrincipalKind, mint_token, require_principal
from guildhall_kit.auth.devkeys import ensure_dev_keys
from guildhall_kit.errors import NotFound
from guildhall_kit.service import ServiceContext, ServiceParts, start_service
from guildhall_kit.settings import ServiceSettings, load_settings
from guildhall_testsupport.platform import free_port

pytestmark = pytest.mark.integration

SERVICE = profile_pb2.DESCRIPTOR.services_by_name["ProfileService"].full_name


class OutageSettings(ServiceSettings):
    service_name: ClassVar[str] = "kit-outage"


class Proxy:
    """Forwards 127.0.0.1:<port> to the database; ``cut`` and ``restore`` it."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def restore(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        await self._server.wait_closed()
        self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers -= {writer, up_writer}


class PeopleReader(profile_pb2_grpc.ProfileServiceServicer):
    """GetPerson reads the service's own database: found or NotFound."""

    def __init__(self, ctx: ServiceContext[OutageSettings]) -> None:
        self._db = ctx.db

    async def GetPerson(
        self, request: profile_pb2.GetPersonRequest, context: Any
    ) -> profile_pb2.GetPersonResponse:
        require_principal(PrincipalKind.EMPLOYEE)
        if await self._db.people.find_one({"_id": request.person_id}) is None:
            raise NotFound("person", request.person_id)
        return profile_pb2.GetPersonResponse(person=profile_pb2.Person(person_id=request.person_id))


async def build(ctx: ServiceContext[OutageSettings]) -> ServiceParts:
    def register(server: grpc.aio.Server) -> Sequence[str]:
        profile_pb2_grpc.add_ProfileServiceServicer_to_server(PeopleReader(ctx), server)  # type: ignore[abstract]
        return [SERVICE]

    return ServiceParts(register=register)


@pytest.fixture
async def proxied(
    infra: Any, tmp_path: Path, unique: str
) -> AsyncIterator[tuple[Proxy, Any, tuple[tuple[str, str], ...]]]:
    mongo = urlparse(infra.mongo_uri)
    proxy = Proxy((mongo.hostname or "127.0.0.1", mongo.port or 27017))
    await proxy.restore()
    keys = ensure_dev_keys(tmp_path)
    settings = load_settings(
        OutageSettings,
        kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
        mongo_uri=f"mongodb://127.0.0.1:{proxy.port}/",
        mongo_database=f"kit_outage_{unique}",
        mongo_timeout_seconds=1.0,
        grpc_port=0,
        jwt_jwks_file=keys.jwks_path,
    )
    service = await start_service(settings, build)
    await service.app.wait_ready(10)
    token = mint_token(
        keys.private_key_pem,
        kid=keys.kid,
        subject="alice",
        kind=PrincipalKind.EMPLOYEE,
        org_id="home",
    )
    async with grpc.aio.insecure_channel(f"127.0.0.1:{service.app.port}") as channel:
        yield (
            proxy,
            profile_pb2_grpc.ProfileServiceStub(channel),
            (("authorization", f"Bearer {token}"),),
        )
    await service.stop(drain_s=0)
    with contextlib.suppress(AssertionError):
        await proxy.cut()


async def _code(stub: Any, auth: tuple[tuple[str, str], ...]) -> grpc.StatusCode:
    try:
        await stub.GetPerson(
            profile_pb2.GetPersonRequest(person_id="bob"), metadata=auth, timeout=20
        )
    except grpc.aio.AioRpcError as exc:
        return exc.code()
    return grpc.StatusCode.OK


async def test_an_outage_is_unavailable_within_the_timeout_and_the_service_recovers(
    proxied: tuple[Proxy, Any, tuple[tuple[str, str], ...]],
) -> None:
    proxy, stub, auth = proxied
    assert await _code(stub, auth) == grpc.StatusCode.NOT_FOUND  # the database answers

    await proxy.cut()
    started = time.monotonic()
    assert await _code(stub, auth) == grpc.StatusCode.UNAVAILABLE
    waited = time.monotonic() - started
    # GUILDHALL_MONGO_TIMEOUT_SECONDS is 1 s here; a generous bound, far below the
    # caller's 20 s deadline, shows the answer comes from the timeout, not the deadline.
    assert waited < 10, f"UNAVAILABLE took {waited:.1f} s"

    await proxy.restore()
    deadline = time.monotonic() + 30
    while (code := await _code(stub, auth)) != grpc.StatusCode.NOT_FOUND:
        assert code == grpc.StatusCode.UNAVAILABLE, code
        assert time.monotonic() < deadline, "the service never recovered"
        await asyncio.sleep(0.5)
