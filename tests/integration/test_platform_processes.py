"""Every service boots as its own process, serves health, answers, and drains on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx2
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from guildhall.gateway.v1 import gateway_pb2, gateway_pb2_grpc
from guildhall_kit.auth import PrincipalKind, mint_token
from guildhall_kit.auth.devkeys import ensure_dev_keys

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SERVICES = ("profile", "community", "post", "notification", "gateway")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def _status(port: int, service: str = "") -> str:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub: Any = health_pb2_grpc.HealthStub(channel)
        try:
            reply = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=1)
        except grpc.aio.AioRpcError:
            return "DOWN"
        return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))


class Platform:
    def __init__(self, procs: dict[str, subprocess.Popen[bytes]], ports: dict[str, int]) -> None:
        self.procs, self.ports = procs, ports


@pytest.fixture
def platform(infra: Any, tmp_path: Path, unique: str) -> Iterator[Platform]:
    keys = ensure_dev_keys(tmp_path / "keys")
    ports = {name: _free_port() for name in SERVICES}
    ports["gateway-http"] = _free_port()
    procs: dict[str, subprocess.Popen[bytes]] = {}
    for name in SERVICES:
        env = dict(os.environ)
        env.update(
            GUILDHALL_KAFKA_BOOTSTRAP_SERVERS=infra.kafka_bootstrap_servers,
            GUILDHALL_MONGO_URI=infra.mongo_uri,
            GUILDHALL_MONGO_DATABASE=f"platform_{unique}_{name}",
            GUILDHALL_TOPIC_PREFIX=f"t{unique}.",
            GUILDHALL_GRPC_PORT=str(ports[name]),
            GUILDHALL_JWT_JWKS_FILE=str(keys.jwks_path),
            GUILDHALL_DRAIN_SECONDS="2",
            GUILDHALL_HTTP_PORT=str(ports["gateway-http"]),
        )
        for other in SERVICES:
            env[f"GUILDHALL_{other.upper()}_ADDR"] = f"127.0.0.1:{ports[other]}"
        with (tmp_path / f"{name}.log").open("wb") as log:
            procs[name] = subprocess.Popen(
                [sys.executable, "-m", f"guildhall_{name}"], env=env, stdout=log, stderr=log
            )
    try:
        yield Platform(procs, ports)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)


async def test_services_serve_answer_and_drain(platform: Platform, tmp_path: Path) -> None:
    deadline = time.monotonic() + 60
    pending = set(SERVICES)
    while pending and time.monotonic() < deadline:
        for name in list(pending):
            assert platform.procs[name].poll() is None, (
                f"{name} exited: {(tmp_path / f'{name}.log').read_text()[-2000:]}"
            )
            if await _status(platform.ports[name]) == "SERVING":
                pending.discard(name)
        await asyncio.sleep(0.2)
    assert not pending, f"never SERVING: {sorted(pending)}"

    keys = ensure_dev_keys(tmp_path / "keys")
    token = mint_token(
        keys.private_key_pem,
        kid=keys.kid,
        subject="p-vera",
        kind=PrincipalKind.PARTNER,
        org_id="acme",
    )
    async with grpc.aio.insecure_channel(f"127.0.0.1:{platform.ports['gateway']}") as channel:
        me = await gateway_pb2_grpc.GatewayServiceStub(channel).GetMe(
            gateway_pb2.GetMeRequest(),
            metadata=(("authorization", f"Bearer {token}"),),
            timeout=5,
        )
    assert (me.person_id, me.org_id) == ("p-vera", "acme")
    assert me.kind == gateway_pb2.PRINCIPAL_KIND_PARTNER_USER

    base = f"http://127.0.0.1:{platform.ports['gateway-http']}"
    async with httpx2.AsyncClient(base_url=base, timeout=5) as http:
        assert (await http.get("/healthz")).status_code == 200
        assert (await http.get("/readyz")).status_code == 200
        reply = await http.get("/v1/me", headers={"authorization": f"Bearer {token}"})
        assert reply.status_code == 200
        assert reply.json()["org_id"] == "acme"
        assert (await http.get("/v1/me")).status_code == 401

    for proc in platform.procs.values():
        proc.send_signal(signal.SIGTERM)
    for name, proc in platform.procs.items():
        assert proc.wait(30) == 0, f"{name} did not exit cleanly on SIGTERM"
