"""Every service boots as its own process, serves health, answers, and drains on SIGTERM."""

from __future__ import annotations

import signal

import grpc
import httpx2
import pytest

from guildhall.gateway.v1 import gateway_pb2, gateway_pb2_grpc
from guildhall_kit.auth import PrincipalKind
from guildhall_testsupport.platform import Platform

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def test_services_serve_answer_and_drain(platform: Platform) -> None:
    token = platform.token("p-vera", PrincipalKind.PARTNER, "acme")
    async with grpc.aio.insecure_channel(platform.addr("gateway")) as channel:
        me = await gateway_pb2_grpc.GatewayServiceStub(channel).GetMe(
            gateway_pb2.GetMeRequest(),
            metadata=(("authorization", f"Bearer {token}"),),
            timeout=5,
        )
    assert (me.person_id, me.org_id) == ("p-vera", "acme")
    assert me.kind == gateway_pb2.PRINCIPAL_KIND_PARTNER_USER

    base = f"http://{platform.addr('gateway-http')}"
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
        assert proc.wait(30) == 0, f"{name} did not exit cleanly on SIGTERM: {platform.log(name)}"
