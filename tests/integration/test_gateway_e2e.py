"""One partner story end to end through the gateway, with every credential real.

Every service runs as a process (guildhall_testsupport.platform); the gateway
trusts a realm of its own in the local Keycloak, exactly as an enterprise's
gateway trusts its provider. An employee (signed in at Keycloak) opens a
pinhole of a community to the partner org acme; vic of acme (signed in at
Keycloak too) reads and posts there; acme's ERP system (an OAuth client that
vera, acme's admin, registered) reads the same pinhole; vic hears over
Server-Sent Events that an employee answered him. Neither vic nor the ERP
system reaches anything else: the community, an internal post and internal
search hits answer like things that do not exist.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx2
import pytest

from guildhall_gateway.adapters.http.responses import NOT_FOUND_BYTES
from guildhall_testsupport.keycloak import Realm, oidc_settings, realm_fixture
from guildhall_testsupport.platform import GENEROUS_DEADLINES, Platform, start_platform

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(300)]

realm = realm_fixture()

SETTLE = 30.0


@dataclass
class Stack:
    platform: Platform
    http: httpx2.AsyncClient
    realm: Realm
    tokens: dict[str, str] = field(default_factory=dict)

    async def sign_in(self, *people: str) -> None:
        for person in people:
            self.tokens[person] = await self.realm.sign_in(person)

    def auth(self, who: str) -> dict[str, str]:
        return {"authorization": f"Bearer {self.tokens[who]}"}

    async def ok(self, method: str, path: str, who: str, body: Any = None) -> Any:
        """A step that must succeed; retried while earlier events settle (403/404/409)."""
        deadline = time.monotonic() + SETTLE
        while True:
            reply = await self.http.request(method, path, headers=self.auth(who), json=body)
            if reply.status_code < 300:
                return reply.json() if reply.content else None
            if reply.status_code not in (403, 404, 409) or time.monotonic() > deadline:
                raise AssertionError(f"{method} {path} as {who}: {reply.status_code} {reply.text}")
            await asyncio.sleep(0.2)


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + SETTLE
    while not await check():
        assert time.monotonic() < deadline, f"never: {what}"
        await asyncio.sleep(0.3)


@pytest.fixture(scope="module")
async def stack(
    realm: Realm, infra: Any, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    oidc = {f"GUILDHALL_{key.upper()}": value for key, value in oidc_settings(realm).items()}
    async with start_platform(
        kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
        mongo_uri=infra.mongo_uri,
        workdir=tmp_path_factory.mktemp("e2e"),
        unique=os.urandom(4).hex(),
        extra_env={
            **oidc,
            **GENEROUS_DEADLINES,
        },
    ) as platform:
        base = f"http://{platform.addr('gateway-http')}"
        async with httpx2.AsyncClient(base_url=base, timeout=15) as http:
            made = Stack(platform, http, realm)
            await made.sign_in("alice", "bob", "vera", "vic")
            yield made


class EventStream:
    """``GET /v1/events`` read in the background: the notifications it delivers."""

    def __init__(self, http: httpx2.AsyncClient, headers: dict[str, str]) -> None:
        self.notifications: list[dict[str, Any]] = []
        self.status = 0
        self._task = asyncio.create_task(self._read(http, headers))

    async def _read(self, http: httpx2.AsyncClient, headers: dict[str, str]) -> None:
        async with http.stream("GET", "/v1/events", headers=headers, timeout=None) as reply:
            self.status = reply.status_code
            kind = ""
            async for line in reply.aiter_lines():
                if line.startswith("event:"):
                    kind = line.removeprefix("event:").strip()
                elif line.startswith("data:") and kind == "notification":
                    data = json.loads(line.removeprefix("data:"))
                    self.notifications.append(data.get("notification", data))

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


async def test_partner_person_and_partner_system_reach_the_pinhole_and_nothing_else(
    stack: Stack,
) -> None:
    s, http = stack, stack.http
    # The enterprise's side, all with Keycloak-issued employee tokens.
    await s.ok(
        "POST", "/v1/orgs", "alice", {"org_id": "acme", "kind": "vendor", "display_name": "Acme"}
    )
    for person, org in (("alice", "home"), ("bob", "home"), ("vera", "acme"), ("vic", "acme")):
        await s.ok(
            "POST",
            "/v1/people",
            "alice",
            {
                "person_id": person,
                "org_id": org,
                "display_name": person.title(),
                "email": f"{person}@{org}.example",
            },
        )
    made = await s.ok(
        "POST", "/v1/communities", "alice", {"name": "Supplier quality", "visibility": "open"}
    )
    community = made["community"]["community_id"]
    await s.ok("POST", f"/v1/communities/{community}/join", "bob")
    internal = await s.ok(
        "POST",
        f"/v1/spaces/{community}/posts",
        "bob",
        {"type": "discussion", "title": "Margin targets for Acme", "body": "Internal only."},
    )
    internal_id = internal["post"]["post_id"]
    opened = await s.ok(
        "POST",
        f"/v1/communities/{community}/pinholes",
        "alice",
        {"title": "Acme deliveries", "purpose": "Delivery planning with Acme"},
    )
    pinhole = opened["pinhole"]["pinhole_id"]
    await s.ok("POST", f"/v1/pinholes/{pinhole}/open", "alice")
    await s.ok("PUT", f"/v1/pinholes/{pinhole}/grants/acme", "alice", {"level": "contributor"})

    # vic, signed in at Keycloak, listens for his notifications, reads and posts.
    stream = EventStream(http, s.auth("vic"))
    try:
        feed = await s.ok("GET", f"/v1/spaces/{pinhole}/posts", "vic")
        assert {p["space_id"] for p in feed["posts"]} <= {pinhole}
        posted = await s.ok(
            "POST",
            f"/v1/spaces/{pinhole}/posts",
            "vic",
            {"type": "question", "title": "Margin of the week 12 slot?", "body": "Can we?"},
        )
        vic_post = posted["post"]["post_id"]
        assert posted["post"]["author_id"] == "vic"

        # acme's ERP system: an OAuth client its admin registered, read-only.
        client = await s.ok(
            "POST", "/v1/orgs/acme/clients", "vera", {"name": "ERP", "scopes": ["pinholes:read"]}
        )
        issued = await http.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(client["client"]["client_id"], client["client_secret"]),
        )
        assert issued.status_code == 200, issued.text
        s.tokens["erp"] = issued.json()["access_token"]
        erp_feed = await s.ok("GET", f"/v1/spaces/{pinhole}/posts", "erp")
        assert vic_post in [p["post_id"] for p in erp_feed["posts"]]
        refused = await http.post(
            f"/v1/spaces/{pinhole}/posts",
            headers=s.auth("erp"),
            json={"type": "discussion", "title": "From the ERP", "body": "x"},
        )
        assert refused.status_code == 403

        # An employee answers vic; vic hears it live.
        await s.ok("POST", f"/v1/questions/{vic_post}/answers", "bob", {"body": "Yes, Tuesday."})
        deadline = time.monotonic() + SETTLE
        while not [n for n in stream.notifications if n.get("post_id") == vic_post]:
            assert time.monotonic() < deadline, (stream.status, stream.notifications)
            await asyncio.sleep(0.2)
        assert stream.status == 200
        # Nothing vic hears carries anything from outside the pinhole.
        heard = json.dumps(stream.notifications)
        assert internal_id not in heard
        assert "Margin targets" not in heard
        assert {n.get("post_id", "") for n in stream.notifications} <= {vic_post, ""}
    finally:
        await stream.close()

    # Search has indexed both posts (the employee finds them) ...
    async def indexed() -> bool:
        found = await http.get("/v1/search", params={"query": "margin"}, headers=s.auth("bob"))
        hits = {h["post"]["post_id"] for h in found.json().get("hits", [])}
        return {internal_id, vic_post} <= hits

    await eventually(indexed, "the employee's search finds both posts")
    # ... and a partner's search finds only the pinhole's.
    for who in ("vic", "erp"):
        found = await http.get("/v1/search", params={"query": "margin"}, headers=s.auth(who))
        assert found.status_code == 200, found.text
        assert [h["post"]["post_id"] for h in found.json()["hits"]] == [vic_post], who

    # Everything outside the pinhole answers exactly like what does not exist.
    missing = "01zzzzzzzzzzzzzzzzzzzzzzzz"
    for who in ("vic", "erp"):
        for path in (
            f"/v1/posts/{internal_id}",
            f"/v1/posts/{missing}",
            f"/v1/communities/{community}",
            f"/v1/spaces/{community}/posts",
            "/v1/people/bob",
            "/v1/communities",
        ):
            reply = await http.get(path, headers=s.auth(who))
            assert reply.status_code == 404, (who, path, reply.text)
            assert reply.content == NOT_FOUND_BYTES, (who, path)
    home = await s.ok("GET", "/v1/feed", "vic")
    assert {p["space_id"] for p in home["posts"]} <= {pinhole}
