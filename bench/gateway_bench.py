"""Benchmark of the gateway's own cost: HTTP through the gateway vs the same RPC direct.

Run: ``.venv/bin/python -m bench.gateway_bench [--requests N] [--rates 25,50,...]
[--seconds S]`` (``make bench`` runs it with the defaults).

1. Starts profile, community, post and the gateway as processes on free
   loopback ports against the local Kafka and FerretDB (a throw-away topic
   prefix and databases), and seeds one community whose main space holds 40
   posts, plus a pinhole granted to a partner org holding 40 more.
2. The gateway's cost per request: one call in flight at a time, the first
   page (20 posts) of a space feed straight over gRPC to the post service
   (``ListSpaceFeed``) and the same page as ``GET /v1/spaces/{id}/posts``
   through the gateway, for an employee and for a partner (whose request
   also asks the community service for its reach and appends an audit
   record before the answer leaves). p50 / p99 in ms and the difference.
3. Fixed rates: the employee feed read through the gateway, then ``GET
   /v1/me`` (the gateway alone: authentication, rate limit, JSON; no service
   call), at each rate of ``--rates`` (open loop: requests start on schedule
   whether or not the previous ones finished) for ``--seconds`` each; p50 /
   p99 per rate, and the highest rate whose p99 stays at or under 50 ms.
4. JSON encoding of that 20-post page: the gateway's encoder (descriptor
   walk + orjson) vs protobuf's ``MessageToDict`` + the standard json module.

Everything listens on and targets 127.0.0.1; every phase is bounded in count
and time. The load generator runs on the same two cores as the services, so
the rates are a floor of what a gateway process sustains on its own core.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
import httpx2
import orjson
from google.protobuf.json_format import MessageToDict

from guildhall.post.v1 import post_pb2, post_pb2_grpc
from guildhall_gateway.adapters.http import protojson
from guildhall_kit.auth import PrincipalKind
from guildhall_testsupport.platform import Platform, start_platform

DEFAULT_KAFKA = "127.0.0.1:19092"
DEFAULT_MONGO = "mongodb://127.0.0.1:27027/"
SLO_MS = 50.0


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def line(name: str, values: list[float]) -> str:
    return f"  {name:<46} p50 {pct(values, 0.5):7.2f} ms   p99 {pct(values, 0.99):7.2f} ms"


async def timed(n: int, call: Callable[[], Awaitable[Any]]) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        await call()
        out.append((time.perf_counter() - start) * 1000)
    return out


async def seed(platform: Platform, http: httpx2.AsyncClient) -> dict[str, str]:
    admin = platform.token("alice", PrincipalKind.EMPLOYEE, "home", ["admin"])
    head = {"authorization": f"Bearer {admin}"}

    async def ok(method: str, path: str, body: Any = None) -> Any:
        for _ in range(150):
            reply = await http.request(method, path, headers=head, json=body)
            if reply.status_code < 300:
                return reply.json()
            await asyncio.sleep(0.2)
        raise SystemExit(f"seeding failed: {method} {path}: {reply.status_code} {reply.text}")

    await ok("POST", "/v1/orgs", {"org_id": "acme", "kind": "vendor", "display_name": "Acme"})
    made = await ok("POST", "/v1/communities", {"name": "Bench", "visibility": "open"})
    community = made["community"]["community_id"]
    pinhole = (
        await ok(
            "POST",
            f"/v1/communities/{community}/pinholes",
            {"title": "Acme", "purpose": "Bench"},
        )
    )["pinhole"]["pinhole_id"]
    await ok("POST", f"/v1/pinholes/{pinhole}/open")
    await ok("PUT", f"/v1/pinholes/{pinhole}/grants/acme", {"level": "contributor"})
    for space in (community, pinhole):
        for n in range(40):
            await ok(
                "POST",
                f"/v1/spaces/{space}/posts",
                {
                    "type": "discussion",
                    "title": f"Post {n}",
                    "body": "Body text " * 40,
                    "tags": ["bench", f"t{n % 5}"],
                },
            )
    return {"community": community, "pinhole": pinhole, "admin": admin}


async def fixed_rate(
    http: httpx2.AsyncClient, path: str, headers: dict[str, str], rate: float, seconds: float
) -> tuple[list[float], int]:
    """Open loop: request i starts at i / rate; latency counts from its scheduled start."""
    total = int(rate * seconds)
    latencies: list[float] = []
    errors = 0
    loop = asyncio.get_running_loop()
    begin = loop.time() + 0.05

    async def one(i: int) -> None:
        nonlocal errors
        scheduled = begin + i / rate
        await asyncio.sleep(max(0.0, scheduled - loop.time()))
        reply = await http.get(path, headers=headers)
        latencies.append((loop.time() - scheduled) * 1000)
        if reply.status_code != 200:
            errors += 1

    async with asyncio.timeout(seconds + 30):
        await asyncio.gather(*(one(i) for i in range(total)))
    return latencies, errors


def encoding(page: post_pb2.ListSpaceFeedResponse, rounds: int) -> None:
    start = time.perf_counter()
    for _ in range(rounds):
        ours = orjson.dumps(protojson.to_json(page))
    fast = (time.perf_counter() - start) / rounds * 1e6
    start = time.perf_counter()
    for _ in range(rounds):
        stock = json.dumps(MessageToDict(page, preserving_proto_field_name=True)).encode()
    slow = (time.perf_counter() - start) / rounds * 1e6
    print("JSON encoding of a 20-post feed page")
    print(f"  gateway encoder (descriptor walk + orjson)   {fast:8.1f} us  ({len(ours)} bytes)")
    print(f"  MessageToDict + json.dumps                   {slow:8.1f} us  ({len(stock)} bytes)")
    print(f"  ratio                                        {slow / fast:8.1f} x")


async def run(args: argparse.Namespace) -> int:
    lots = {
        "GUILDHALL_RATE_EMPLOYEE_PER_SECOND": "100000",
        "GUILDHALL_RATE_EMPLOYEE_BURST": "100000",
        "GUILDHALL_RATE_PARTNER_ORG_PER_SECOND": "100000",
        "GUILDHALL_RATE_PARTNER_ORG_BURST": "100000",
        "GUILDHALL_LOG_LEVEL": "WARNING",
    }
    with tempfile.TemporaryDirectory(prefix="gateway-bench-") as work:
        started = time.perf_counter()
        async with start_platform(
            kafka_bootstrap_servers=os.environ.get(
                "GUILDHALL_KAFKA_BOOTSTRAP_SERVERS", DEFAULT_KAFKA
            ),
            mongo_uri=os.environ.get("GUILDHALL_MONGO_URI", DEFAULT_MONGO),
            workdir=Path(work),
            unique=f"gb{secrets.token_hex(3)}",
            services=("profile", "community", "post", "gateway"),
            extra_env=lots,
        ) as platform:
            print(f"platform up in {time.perf_counter() - started:.1f} s")
            base = f"http://{platform.addr('gateway-http')}"
            limits = httpx2.Limits(max_connections=64, max_keepalive_connections=64)
            async with (
                httpx2.AsyncClient(base_url=base, timeout=30, limits=limits) as http,
                grpc.aio.insecure_channel(platform.addr("post")) as channel,
            ):
                ids = await seed(platform, http)
                partner = platform.token("vera", PrincipalKind.PARTNER, "acme")
                employee_md = (("authorization", f"Bearer {ids['admin']}"),)
                partner_md = (("authorization", f"Bearer {partner}"),)
                stub = post_pb2_grpc.PostServiceStub(channel)
                main, pinhole = ids["community"], ids["pinhole"]
                employee_head = {"authorization": f"Bearer {ids['admin']}"}
                partner_head = {"authorization": f"Bearer {partner}"}
                n = args.requests
                # Warm both paths (channels, caches) before measuring.
                for _ in range(30):
                    await stub.ListSpaceFeed(
                        post_pb2.ListSpaceFeedRequest(space_id=main),
                        metadata=employee_md,
                        timeout=10,
                    )
                    await http.get(f"/v1/spaces/{main}/posts", headers=employee_head)
                    await http.get(f"/v1/spaces/{pinhole}/posts", headers=partner_head)
                direct = await timed(
                    n,
                    lambda: stub.ListSpaceFeed(
                        post_pb2.ListSpaceFeedRequest(space_id=main),
                        metadata=employee_md,
                        timeout=10,
                    ),
                )
                via = await timed(
                    n, lambda: http.get(f"/v1/spaces/{main}/posts", headers=employee_head)
                )
                p_direct = await timed(
                    n,
                    lambda: stub.ListSpaceFeed(
                        post_pb2.ListSpaceFeedRequest(space_id=pinhole),
                        metadata=partner_md,
                        timeout=10,
                    ),
                )
                p_via = await timed(
                    n, lambda: http.get(f"/v1/spaces/{pinhole}/posts", headers=partner_head)
                )
                me = await timed(n, lambda: http.get("/v1/me", headers=employee_head))
                print(f"one request in flight, {n} each: first feed page (20 posts)")
                print(line("employee: gRPC ListSpaceFeed direct", direct))
                print(line("employee: GET /v1/spaces/{id}/posts via gateway", via))
                print(line("partner: gRPC ListSpaceFeed direct", p_direct))
                print(line("partner: GET via gateway (reach + audit)", p_via))
                print(line("GET /v1/me (no service call)", me))
                print(
                    "  gateway's own cost, p50: employee "
                    f"{statistics.median(via) - statistics.median(direct):.2f} ms, partner "
                    f"{statistics.median(p_via) - statistics.median(p_direct):.2f} ms"
                )
                series = (
                    ("employee feed page via the gateway", f"/v1/spaces/{main}/posts"),
                    ("GET /v1/me: the gateway alone (auth, limits, JSON)", "/v1/me"),
                )
                for title, path in series:
                    print(f"fixed rates, {args.seconds:.0f} s each: {title}")
                    best = 0.0
                    for rate in args.rates:
                        latencies, errors = await fixed_rate(
                            http, path, employee_head, rate, args.seconds
                        )
                        p99 = pct(latencies, 0.99)
                        ok = p99 <= SLO_MS and errors == 0
                        best = rate if ok else best
                        print(
                            f"  {rate:6.0f} req/s  p50 {pct(latencies, 0.5):7.2f} ms  "
                            f"p99 {p99:7.2f} ms  errors {errors}  {'ok' if ok else 'over'}"
                        )
                        if not ok:
                            break
                    print(f"  highest rate with p99 <= {SLO_MS:.0f} ms: {best:.0f} req/s")
                page = await stub.ListSpaceFeed(
                    post_pb2.ListSpaceFeedRequest(space_id=main), metadata=employee_md, timeout=10
                )
                encoding(page, 2000)
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.gateway_bench")
    parser.add_argument("--requests", type=int, default=300, help="requests per latency series")
    parser.add_argument(
        "--rates",
        type=lambda v: [float(x) for x in v.split(",")],
        default=[25.0, 50.0, 100.0, 150.0, 200.0, 300.0, 400.0],
        help="fixed rates to try, in order; stops at the first over the SLO",
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per fixed rate")
    args = parser.parse_args(argv)
    args.requests = max(10, min(args.requests, 5000))
    args.seconds = max(1.0, min(args.seconds, 30.0))
    return args


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(run(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
