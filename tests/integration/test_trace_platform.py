"""One trace from a partner's HTTP request to the live delivery of the notification it
causes, every service a real process, over the real Kafka and FerretDB.

The services export their spans over OTLP (as in production) to a receiver this
test runs, which keeps them in memory. The partner's request carries a
``traceparent`` naming a span of the test's own, so its trace is known: the
gateway's server span, the post service's RPC and write, the outbox's publish,
the notification service's consumer spans and its live delivery to the SSE
stream the gateway serves must all be in it, each span's
parent in the trace, up to the test's span.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx2
import pytest
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from guildhall_kit.auth import PrincipalKind
from guildhall_testsupport.platform import GENEROUS_DEADLINES, Platform, start_platform

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(300)]

HOME = "home"
TRACE_ID = os.urandom(16)
CALLER_SPAN = os.urandom(8)


@dataclass(frozen=True)
class Span:
    service: str
    name: str
    trace_id: bytes
    span_id: bytes
    parent: bytes
    kind: int


class Receiver(trace_service_pb2_grpc.TraceServiceServicer):
    """An OTLP/gRPC receiver that keeps every span in memory (metrics are dropped)."""

    def __init__(self) -> None:
        self.spans: list[Span] = []

    async def Export(self, request: Any, context: Any) -> Any:
        for resource_spans in request.resource_spans:
            attributes = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            service = attributes.get("service.name", "")
            for scope_spans in resource_spans.scope_spans:
                for s in scope_spans.spans:
                    self.spans.append(
                        Span(service, s.name, s.trace_id, s.span_id, s.parent_span_id, s.kind)
                    )
        return trace_service_pb2.ExportTraceServiceResponse()


class _Metrics(metrics_service_pb2_grpc.MetricsServiceServicer):
    async def Export(self, request: Any, context: Any) -> Any:
        return metrics_service_pb2.ExportMetricsServiceResponse()


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    server = grpc.aio.server()
    spans = Receiver()
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(spans, server)  # type: ignore[no-untyped-call]
    metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(_Metrics(), server)  # type: ignore[no-untyped-call]
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield spans, f"http://127.0.0.1:{port}"
    finally:
        await server.stop(None)


@pytest.fixture
async def platform(
    infra: Any, tmp_path: Path, unique: str, receiver: tuple[Receiver, str]
) -> AsyncIterator[Platform]:
    async with start_platform(
        kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
        mongo_uri=infra.mongo_uri,
        workdir=tmp_path,
        unique=unique,
        extra_env={
            "GUILDHALL_OTLP_ENDPOINT": receiver[1],
            "OTEL_BSP_SCHEDULE_DELAY": "200",
            **GENEROUS_DEADLINES,
        },
    ) as running:
        yield running


async def _ok(
    http: httpx2.AsyncClient, method: str, path: str, token: str, body: Any = None, **headers: str
) -> Any:
    for _ in range(150):
        reply = await http.request(
            method, path, headers={"authorization": f"Bearer {token}", **headers}, json=body
        )
        if reply.status_code < 300:
            return reply.json() if reply.content else None
        if reply.status_code not in (403, 404, 409):
            break
        await asyncio.sleep(0.2)
    raise AssertionError(f"{method} {path}: {reply.status_code} {reply.text}")


async def _listen(
    http: httpx2.AsyncClient, token: str, heard: list[dict[str, Any]], got: asyncio.Event
) -> None:
    """Read ``GET /v1/events`` (SSE) and keep each notification it delivers."""
    headers = {"authorization": f"Bearer {token}"}
    async with http.stream("GET", "/v1/events", headers=headers, timeout=None) as reply:
        assert reply.status_code == 200
        kind = ""
        async for line in reply.aiter_lines():
            if line.startswith("event:"):
                kind = line.removeprefix("event:").strip()
            elif line.startswith("data:") and kind == "notification":
                heard.append(json.loads(line.removeprefix("data:")))
                got.set()


def _chain(span: Span, by_id: dict[bytes, Span]) -> list[Span]:
    """``span`` and its ancestors in the trace, nearest first."""
    chain = [span]
    while chain[-1].parent in by_id:
        chain.append(by_id[chain[-1].parent])
    return chain


async def test_a_partners_post_and_the_notification_it_causes_are_one_trace(
    platform: Platform, receiver: tuple[Receiver, str]
) -> None:
    p, spans = platform, receiver[0]
    alice = p.token("alice", PrincipalKind.EMPLOYEE, HOME, ["admin"])
    vera = p.token("vera", PrincipalKind.PARTNER, "acme")
    bob = p.token("bob", PrincipalKind.EMPLOYEE, HOME)
    async with httpx2.AsyncClient(base_url=f"http://{p.addr('gateway-http')}", timeout=15) as http:
        await _ok(
            http,
            "POST",
            "/v1/orgs",
            alice,
            {"org_id": "acme", "kind": "vendor", "display_name": "Acme"},
        )
        for person, org in (("alice", HOME), ("bob", HOME), ("vera", "acme")):
            await _ok(
                http,
                "POST",
                "/v1/people",
                alice,
                {
                    "person_id": person,
                    "org_id": org,
                    "display_name": person.title(),
                    "email": f"{person}@{org}.example",
                },
            )
        made = await _ok(
            http, "POST", "/v1/communities", alice, {"name": "Supply", "visibility": "open"}
        )
        community = made["community"]["community_id"]
        pinhole = (
            await _ok(
                http,
                "POST",
                f"/v1/communities/{community}/pinholes",
                alice,
                {"title": "Rollout", "purpose": "Plan it"},
            )
        )["pinhole"]["pinhole_id"]
        await _ok(http, "POST", f"/v1/communities/{community}/join", bob)
        await _ok(http, "POST", f"/v1/pinholes/{pinhole}/open", alice)
        await _ok(
            http, "PUT", f"/v1/pinholes/{pinhole}/grants/acme", alice, {"level": "contributor"}
        )

        heard: list[dict[str, Any]] = []
        got = asyncio.Event()
        stream = asyncio.create_task(_listen(http, bob, heard, got))
        await asyncio.sleep(1.0)  # the stream is open before the post is written
        traceparent = f"00-{TRACE_ID.hex()}-{CALLER_SPAN.hex()}-01"
        await _ok(
            http,
            "POST",
            f"/v1/spaces/{pinhole}/posts",
            vera,
            {
                "type": "discussion",
                "title": "Shipping plan",
                "body": "@bob please look",
                "mentioned_person_ids": ["bob"],
            },
            traceparent=traceparent,
        )
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(60):
                await got.wait()
        stream.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await stream
        assert heard, "bob's live stream delivered nothing"

    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    delivery: Span | None = None
    while delivery is None and loop.time() < deadline:
        await asyncio.sleep(0.5)
        ours = [s for s in spans.spans if s.trace_id == TRACE_ID]
        delivery = next(
            (s for s in ours if s.service == "notification" and s.name == "deliver notification"),
            None,
        )
    ours = [s for s in spans.spans if s.trace_id == TRACE_ID]
    names = sorted({(s.service, s.name) for s in ours})
    assert delivery is not None, f"no live delivery span in the trace: {names}"
    by_id = {s.span_id: s for s in ours}
    # Every span of the trace hangs from the partner's request: no broken link.
    for span in ours:
        assert _chain(span, by_id)[-1].parent == CALLER_SPAN, (span, names)
    chain = _chain(delivery, by_id)
    hops = [(s.service, s.name) for s in reversed(chain)]
    services = [service for service, _ in hops]
    assert services[0] == "gateway", hops
    assert "post" in services, hops
    assert services[-1] == "notification", hops
    assert any(s.service == "notification" and s.name.startswith("process ") for s in chain), hops
    assert any(name.startswith("publish ") and "guildhall.post.v1" in name for _, name in hops), (
        hops
    )
    assert any(name.endswith("/CreatePost") for _, name in hops), hops
    print("trace:", " -> ".join(f"{service}:{name}" for service, name in hops))
