"""A Guildhall service as a child process for the benchmarks, on a seeded database.

Shared by :mod:`bench.access_bench` (community) and :mod:`bench.directory_bench`
(profile): start ``python -m guildhall_<service>`` on a free loopback port against
the local Kafka and the given MongoDB-protocol server, wait until it reports
SERVING, give call metadata for a principal, and stop it (its topics deleted).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import grpc
from aiokafka.admin import AIOKafkaAdminClient
from grpc_health.v1 import health_pb2, health_pb2_grpc

from guildhall_kit.auth import PrincipalKind, mint_token
from guildhall_kit.auth.devkeys import ensure_dev_keys

KAFKA = os.environ.get("GUILDHALL_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092")
HOME = "home"

Metadata = tuple[tuple[str, str], ...]


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class ServiceProcess:
    """``python -m <module>`` on ``database``, its own topics (``prefix``) and port."""

    def __init__(
        self,
        module: str,
        *,
        mongo: str,
        database: str,
        prefix: str,
        log: Path,
        settings: dict[str, str],
    ) -> None:
        self.port = free_port()
        self.keys = ensure_dev_keys()
        self.prefix = prefix
        self._tokens: dict[tuple[str, bool], Metadata] = {}
        env = dict(os.environ)
        env.update(
            GUILDHALL_KAFKA_BOOTSTRAP_SERVERS=KAFKA,
            GUILDHALL_MONGO_URI=mongo,
            GUILDHALL_MONGO_DATABASE=database,
            GUILDHALL_TOPIC_PREFIX=prefix,
            GUILDHALL_GRPC_PORT=str(self.port),
            GUILDHALL_METRICS_PORT="0",
            GUILDHALL_JWT_JWKS_FILE=str(self.keys.jwks_path),
            GUILDHALL_LOG_LEVEL="WARNING",
            GUILDHALL_DRAIN_SECONDS="1",
        )
        env.update(settings)
        with log.open("wb") as out:
            # The service module of this checkout, run with this interpreter.
            self.proc = subprocess.Popen(  # noqa: S603
                [sys.executable, "-m", module], env=env, stdout=out, stderr=out
            )
        self.channel = grpc.aio.insecure_channel(f"127.0.0.1:{self.port}")

    def metadata(
        self,
        subject: str,
        *,
        kind: PrincipalKind = PrincipalKind.EMPLOYEE,
        admin: bool = False,
    ) -> Metadata:
        """Call metadata of ``subject`` (minted once, so calls do not pay for it)."""
        key = (f"{kind.value}:{subject}", admin)
        if key not in self._tokens:
            token = mint_token(
                self.keys.private_key_pem,
                kid=self.keys.kid,
                subject=subject,
                kind=kind,
                org_id=HOME,
                roles=["admin"] if admin else [],
            )
            self._tokens[key] = (("authorization", f"Bearer {token}"),)
        return self._tokens[key]

    async def wait_ready(self, within: float) -> float:
        """Seconds until the service reported SERVING; raises if it exits or takes longer."""
        started = time.perf_counter()
        health: Any = health_pb2_grpc.HealthStub(self.channel)
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the service exited with {self.proc.returncode}")
            with contextlib.suppress(grpc.aio.AioRpcError):
                reply = await health.Check(health_pb2.HealthCheckRequest(service=""), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return time.perf_counter() - started
            if time.perf_counter() - started > within:
                raise TimeoutError(f"the service was not ready within {within}s")
            await asyncio.sleep(0.2)

    async def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL) and delete its topics."""
        await self.channel.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA)
        await admin.start()
        try:
            mine = [t for t in await admin.list_topics() if t.startswith(self.prefix)]
            if mine:
                await admin.delete_topics(mine)
        finally:
            await admin.close()
