"""Every RPC of every service answers bytes that do not decode with INVALID_ARGUMENT.

grpcio decodes a request before any service code runs; the kit's interceptor
installs a deserializer that cannot raise, so a malformed request is a plain
INVALID_ARGUMENT, never UNKNOWN naming a Python class. Checked here on each
method of each service's contract, every service running as its own process.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from guildhall_testsupport.platform import SERVICES, Platform, start_platform

pytestmark = pytest.mark.integration

# Garbage, and 1,000 nested groups of an unknown field (past protobuf's recursion limit).
UNDECODABLE = (b"\xff\xff\xff\xff", b"\x7b" * 1000 + b"\x7c" * 1000)


def _methods(service: str) -> list[tuple[str, bool]]:
    """(full method path, server-streaming) of every RPC of ``service``'s contract."""
    module: Any = importlib.import_module(f"guildhall.{service}.v1.{service}_pb2")
    found = []
    for descriptor in module.DESCRIPTOR.services_by_name.values():
        for method in descriptor.methods:
            found.append((f"/{descriptor.full_name}/{method.name}", method.server_streaming))
    return found


@pytest.fixture(scope="module")
async def platform(infra: Any, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Platform]:
    async with start_platform(
        kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
        mongo_uri=infra.mongo_uri,
        workdir=tmp_path_factory.mktemp("codes"),
        unique=os.urandom(4).hex(),
    ) as started:
        yield started


async def test_every_rpc_answers_undecodable_bytes_with_invalid_argument(
    platform: Platform,
) -> None:
    checked = 0
    wrong: list[str] = []
    for service in SERVICES:
        async with grpc.aio.insecure_channel(platform.addr(service)) as channel:
            for path, streaming in _methods(service):
                for payload in UNDECODABLE:
                    try:
                        if streaming:
                            stream: Any = channel.unary_stream(path)
                            async for _ in stream(payload, timeout=5):
                                pass
                        else:
                            unary: Any = channel.unary_unary(path)
                            await unary(payload, timeout=5)
                        wrong.append(f"{path}: accepted")
                    except grpc.aio.AioRpcError as exc:
                        details = exc.details() or ""
                        if exc.code() != grpc.StatusCode.INVALID_ARGUMENT or "Error" in details:
                            wrong.append(f"{path}: {exc.code().name} {details[:80]}")
                    checked += 1
    assert checked >= 2 * 70, f"only {checked} calls: the contracts lost their methods?"
    assert not wrong, "\n".join(wrong)
