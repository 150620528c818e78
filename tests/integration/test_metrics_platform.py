"""Every service serves Prometheus metrics at /metrics, every service a real process.

After a few requests through the gateway (which write posts through the post
service's outbox, whose events the notification and community consumers read
from the real Kafka), the scrape endpoints show the documented series
(docs/metrics.md): per route and per RPC rate, errors and duration, consumer
lag per group and partition, and the outbox backlog and age.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from aiokafka import AIOKafkaProducer

from guildhall_kit.auth import PrincipalKind
from guildhall_testsupport.platform import GENEROUS_DEADLINES, Platform, start_platform

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(300)]

HOME = "home"


@pytest.fixture
async def platform(infra: Any, tmp_path: Path, unique: str) -> AsyncIterator[Platform]:
    async with start_platform(
        kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
        mongo_uri=infra.mongo_uri,
        workdir=tmp_path,
        unique=unique,
        extra_env={
            **GENEROUS_DEADLINES,
        },
    ) as running:
        yield running


async def _ok(
    http: httpx2.AsyncClient, method: str, path: str, token: str, body: Any = None
) -> Any:
    for _ in range(150):
        reply = await http.request(
            method, path, headers={"authorization": f"Bearer {token}"}, json=body
        )
        if reply.status_code < 300:
            return reply.json() if reply.content else None
        if reply.status_code not in (403, 404, 409):
            break
        await asyncio.sleep(0.2)
    raise AssertionError(f"{method} {path}: {reply.status_code} {reply.text}")


async def _scrape(http: httpx2.AsyncClient, platform: Platform, service: str) -> str:
    reply = await http.get(f"http://{platform.addr(f'{service}-metrics')}/metrics")
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("text/plain")
    return str(reply.text)


async def _scrape_until(
    http: httpx2.AsyncClient, platform: Platform, service: str, pattern: str, within: float = 60
) -> str:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        text = await _scrape(http, platform, service)
        if re.search(pattern, text, re.MULTILINE) or loop.time() > deadline:
            return text
        await asyncio.sleep(0.5)


async def test_each_service_serves_its_rpc_route_bus_and_outbox_metrics(
    platform: Platform, infra: Any, unique: str
) -> None:
    p = platform
    alice = p.token("alice", PrincipalKind.EMPLOYEE, HOME, ["admin"])
    async with httpx2.AsyncClient(base_url=f"http://{p.addr('gateway-http')}", timeout=15) as http:
        await _ok(
            http,
            "POST",
            "/v1/people",
            alice,
            {"person_id": "alice", "org_id": HOME, "display_name": "Alice", "email": "a@x.example"},
        )
        made = await _ok(
            http, "POST", "/v1/communities", alice, {"name": "Metrics", "visibility": "open"}
        )
        space = made["community"]["community_id"]
        for n in range(3):
            await _ok(
                http,
                "POST",
                f"/v1/spaces/{space}/posts",
                alice,
                {"type": "discussion", "title": f"Post {n}", "body": "Hello"},
            )
        missing = await http.get(
            "/v1/posts/no-such-post", headers={"authorization": f"Bearer {alice}"}
        )
        assert missing.status_code == 404
        unauthenticated = await http.get("/v1/posts/x")
        assert unauthenticated.status_code == 401

        gateway = await _scrape(http, p, "gateway")
        # Per route: count, errors (by status) and the duration histogram.
        assert re.search(
            r'^http_server_request_duration_seconds_count\{[^}]*http_request_method="POST"'
            r'[^}]*http_response_status_code="201"[^}]*http_route="/v1/spaces/\{space_id\}/posts"'
            r"[^}]*\} 3\.0$",
            gateway,
            re.MULTILINE,
        ), gateway
        assert re.search(
            r'^http_server_request_duration_seconds_bucket\{[^}]*http_response_status_code="404"'
            r'[^}]*http_route="/v1/posts/\{post_id\}"',
            gateway,
            re.MULTILINE,
        )
        assert re.search(
            r'^http_server_request_duration_seconds_count\{[^}]*http_response_status_code="401"'
            r'[^}]*http_route=""',
            gateway,
            re.MULTILINE,
        )

        post = await _scrape_until(
            http, p, "post", r'^guildhall_outbox_pending\{.*db_collection="posts"'
        )
        # Per RPC: count by method and code, and the duration histogram.
        assert re.search(
            r'^rpc_server_calls_total\{[^}]*rpc_method="[^"]*/CreatePost"[^}]*\} 3\.0$',
            post,
            re.MULTILINE,
        ), post
        assert re.search(r"^rpc_server_duration_seconds_bucket\{", post, re.MULTILINE)
        assert re.search(
            r'^guildhall_outbox_oldest_age_seconds\{[^}]*db_collection="posts"', post, re.MULTILINE
        ), post

        notification = await _scrape_until(
            http,
            p,
            "notification",
            r'^messaging_consumer_lag\{[^}]*messaging_destination_name="[^"]*guildhall\.post\.v1"',
        )
        lags = re.findall(r"^messaging_consumer_lag\{([^}]*)\} (\S+)$", notification, re.MULTILINE)
        assert lags, notification
        assert any(
            'messaging_consumer_group_name="' in labels
            and "messaging_destination_partition_id=" in labels
            and "guildhall.post.v1" in labels
            for labels, _ in lags
        ), lags

        # A record that is no event at all goes to the dead-letter topic, and is counted.
        producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap_servers)
        await producer.start()
        try:
            await producer.send_and_wait(f"t{unique}.guildhall.post.v1", b"not an event", b"x")
        finally:
            await producer.stop()
        notification = await _scrape_until(
            http, p, "notification", r"^guildhall_bus_dead_letters_total\{"
        )
        dead = re.findall(
            r"^guildhall_bus_dead_letters_total\{([^}]*)\} (\S+)$", notification, re.MULTILINE
        )
        assert any(
            'messaging_consumer_group_name="notification.post"' in labels
            and f'messaging_destination_name="t{unique}.guildhall.post.v1"' in labels
            and float(value) >= 1
            for labels, value in dead
        ), dead
