"""The real services as real processes (cross-service tests, demo data, benchmarks).

:func:`start_platform` starts services as ``python -m guildhall_<name>`` on
free ports against a real Kafka and MongoDB/FerretDB, isolated by a topic
prefix and database names, waits until each reports SERVING, and on exit kills
them and drops their databases. :class:`Platform` gives their addresses, logs
and dev tokens.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from guildhall_kit.auth import PrincipalKind, mint_token
from guildhall_kit.auth.devkeys import ensure_dev_keys
from guildhall_kit.mongo import make_client

SERVICES = ("profile", "community", "post", "notification", "gateway")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def health_status(port: int, service: str = "") -> str:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub: Any = health_pb2_grpc.HealthStub(channel)
        try:
            reply = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=1)
        except grpc.aio.AioRpcError:
            return "DOWN"
        return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))


class Platform:
    """Running service processes, their ports, logs and a token minter."""

    def __init__(
        self,
        procs: dict[str, subprocess.Popen[bytes]],
        ports: dict[str, int],
        logs: Path,
        keys_dir: Path,
    ) -> None:
        self.procs, self.ports, self.logs = procs, ports, logs
        self._keys = ensure_dev_keys(keys_dir)

    def addr(self, name: str) -> str:
        return f"127.0.0.1:{self.ports[name]}"

    def token(
        self, subject: str, kind: PrincipalKind, org: str, roles: list[str] | None = None
    ) -> str:
        return mint_token(
            self._keys.private_key_pem,
            kid=self._keys.kid,
            subject=subject,
            kind=kind,
            org_id=org,
            roles=roles,
        )

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text()[-3000:]

    async def wait_serving(self, within: float = 60.0) -> None:
        deadline = time.monotonic() + within
        pending = set(self.procs)
        while pending and time.monotonic() < deadline:
            for name in list(pending):
                assert self.procs[name].poll() is None, f"{name} exited: {self.log(name)}"
                if await health_status(self.ports[name]) == "SERVING":
                    pending.discard(name)
            await asyncio.sleep(0.2)
        assert not pending, f"never SERVING: {sorted(pending)}"


GENEROUS_DEADLINES: dict[str, str] = {
    "GUILDHALL_ACCESS_DEADLINE_SECONDS": "5",
    "GUILDHALL_CALL_DEADLINE_SECONDS": "15",
}
"""Deadlines for a platform on a machine shared with other suites: a refusal for lack of
time (503) is correct behaviour, but not what the cross-service tests look at."""


@asynccontextmanager
async def start_platform(
    *,
    kafka_bootstrap_servers: str,
    mongo_uri: str,
    workdir: Path,
    unique: str,
    services: Sequence[str] = SERVICES,
    extra_env: dict[str, str] | None = None,
) -> AsyncIterator[Platform]:
    """Start ``services`` as processes; yield once all are SERVING; kill and clean up after."""
    keys = ensure_dev_keys(workdir / "keys")
    ports = {name: free_port() for name in SERVICES}
    ports["gateway-http"] = free_port()
    for name in SERVICES:
        ports[f"{name}-metrics"] = free_port()
    procs: dict[str, subprocess.Popen[bytes]] = {}
    for name in services:
        env = dict(os.environ)
        env.update(
            GUILDHALL_KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap_servers,
            GUILDHALL_MONGO_URI=mongo_uri,
            GUILDHALL_MONGO_DATABASE=f"platform_{unique}_{name}",
            GUILDHALL_TOPIC_PREFIX=f"t{unique}.",
            GUILDHALL_GRPC_PORT=str(ports[name]),
            GUILDHALL_METRICS_PORT=str(ports[f"{name}-metrics"]),
            GUILDHALL_JWT_JWKS_FILE=str(keys.jwks_path),
            # The gateway signs the services' tokens with the test key pair and
            # accepts the test key's tokens as the development issuer's.
            GUILDHALL_SIGNING_KEY_FILE=str(workdir / "keys" / "private.pem"),
            GUILDHALL_SIGNING_KEY_ID=keys.kid,
            GUILDHALL_DEV_ISSUER_ENABLED="true",
            GUILDHALL_DRAIN_SECONDS="2",
            GUILDHALL_HTTP_PORT=str(ports["gateway-http"]),
            **(extra_env or {}),
        )
        for other in SERVICES:
            env[f"GUILDHALL_{other.upper()}_ADDR"] = f"127.0.0.1:{ports[other]}"
        with (workdir / f"{name}.log").open("wb") as log:
            # Popen returns at once (the child runs on its own); S603: fixed argv, our modules.
            procs[name] = subprocess.Popen(  # noqa: S603, ASYNC220
                [sys.executable, "-m", f"guildhall_{name}"], env=env, stdout=log, stderr=log
            )
    running = Platform(procs, ports, workdir, workdir / "keys")
    try:
        await running.wait_serving()
        yield running
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        client: Any = make_client(mongo_uri, app_name="test-cleanup")
        for name in services:
            await client.drop_database(f"platform_{unique}_{name}")
        await client.close()


SETTLING_CODES = (
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.FAILED_PRECONDITION,
)
"""What a call answers while a service's read model has not yet followed earlier events."""


def bearer(token: str, timeout_s: float = 10.0) -> dict[str, Any]:
    """Keyword arguments for a stub call as the bearer of ``token``, with a deadline."""
    return {"metadata": (("authorization", f"Bearer {token}"),), "timeout": timeout_s}


async def settled(call: Any, request: Any, token: str, within: float = 30.0) -> Any:
    """``call(request)`` as ``token``, retried while it answers a :data:`SETTLING_CODES` code.

    For set-up steps and employee reads that follow earlier writes through
    events. Never use it for a partner check that must be refused at once.

    Raises:
        grpc.aio.AioRpcError: any other code, or a settling code after ``within`` seconds.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        try:
            return await call(request, **bearer(token))
        except grpc.aio.AioRpcError as exc:
            if exc.code() not in SETTLING_CODES or loop.time() > deadline:
                raise
            await asyncio.sleep(0.2)
