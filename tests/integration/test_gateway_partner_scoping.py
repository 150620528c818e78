"""The gateway end to end on the real services: partner scoping, the matrix, the audit chain.

One world is set up through the gateway's own HTTP API: an enterprise with a
community, an internal post, and pinholes opened to partner orgs (one granted
to a viewer org and a contributor org, one granted to nobody, one revoked,
one closed, one expired). Then:

- the story: a partner person reads and posts in their pinhole, a person of
  another org and every route outside the pinhole answer 404, revocation is
  effective on the next request;
- the matrix, generated from the OpenAPI document: every route with an id,
  called by every kind of refused partner with the ids of objects they may
  not reach, answers 404 with the body of a truly missing id;
- the audit trail of those partner requests verifies, and a tampered or a
  deleted record is detected (by the CLI behind ``make audit-verify`` too).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from guildhall.gateway.v1 import events_pb2
from guildhall_gateway.adapters.http.responses import NOT_FOUND_BYTES
from guildhall_gateway.adapters.repository import RECORDS, MongoAuditStore
from guildhall_gateway.application.audit import AuditTrail
from guildhall_gateway.cli import OPENAPI_FILE
from guildhall_kit.auth import PrincipalKind
from guildhall_kit.bus import from_kafka, load_registry
from guildhall_kit.mongo import make_client
from guildhall_testsupport.platform import GENEROUS_DEADLINES, Platform, start_platform

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(300)]

HOME = "home"
TOPIC = "guildhall.gateway.v1"
PARTNER_ORGS = ("acme", "viewco", "globex", "revokedco", "closedco", "expiredco")


@dataclass
class World:
    platform: Platform
    http: httpx2.AsyncClient
    tokens: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)
    expires_at: float = 0.0
    mongo_uri: str = ""
    kafka: str = ""

    def auth(self, who: str) -> dict[str, str]:
        return {"authorization": f"Bearer {self.tokens[who]}"}

    async def ok(self, method: str, path: str, who: str, body: Any = None) -> Any:
        """A set-up step that must succeed (retried while events settle)."""
        for _ in range(150):
            reply = await self.http.request(method, path, headers=self.auth(who), json=body)
            if reply.status_code < 300:
                return reply.json() if reply.content else None
            if reply.status_code not in (403, 404, 409):
                break
            await asyncio.sleep(0.2)
        raise AssertionError(f"{method} {path} as {who}: {reply.status_code} {reply.text}")


async def _pinhole(world: World, community: str, title: str, **extra: Any) -> str:
    made = await world.ok(
        "POST",
        f"/v1/communities/{community}/pinholes",
        "alice",
        {"title": title, "purpose": f"Work on {title}", **extra},
    )
    pinhole = str(made["pinhole"]["pinhole_id"])
    await world.ok("POST", f"/v1/pinholes/{pinhole}/open", "alice")
    return pinhole


async def _content(world: World, space: str, prefix: str) -> None:
    """A question with an answer and a comment, and a wiki page, in ``space``."""
    question = await world.ok(
        "POST",
        f"/v1/spaces/{space}/posts",
        "bob",
        {"type": "question", "title": f"{prefix} question", "body": "How?", "tags": ["x"]},
    )
    post_id = question["post"]["post_id"]
    answer = await world.ok(
        "POST", f"/v1/questions/{post_id}/answers", "carol", {"body": "Like this."}
    )
    comment = await world.ok("POST", f"/v1/posts/{post_id}/comments", "carol", {"body": "Hm"})
    wiki = await world.ok(
        "POST",
        f"/v1/spaces/{space}/posts",
        "bob",
        {"type": "wiki_page", "title": f"{prefix} wiki", "body": "Steps"},
    )
    world.ids[f"{prefix}.post"] = post_id
    world.ids[f"{prefix}.answer"] = answer["answer"]["answer_id"]
    world.ids[f"{prefix}.comment"] = comment["comment"]["comment_id"]
    world.ids[f"{prefix}.wiki"] = wiki["post"]["post_id"]


@pytest.fixture(scope="module")
async def world(infra: Any, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    unique = os.urandom(4).hex()
    async with start_platform(
        kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
        mongo_uri=infra.mongo_uri,
        workdir=tmp_path_factory.mktemp("gateway"),
        unique=unique,
        extra_env={
            **GENEROUS_DEADLINES,
        },
    ) as platform:
        base = f"http://{platform.addr('gateway-http')}"
        async with httpx2.AsyncClient(base_url=base, timeout=15) as http:
            w = World(
                platform, http, mongo_uri=infra.mongo_uri, kafka=infra.kafka_bootstrap_servers
            )
            w.ids["unique"] = unique
            w.tokens["alice"] = platform.token("alice", PrincipalKind.EMPLOYEE, HOME, ["admin"])
            for person in ("bob", "carol"):
                w.tokens[person] = platform.token(person, PrincipalKind.EMPLOYEE, HOME)
            for org in PARTNER_ORGS:
                w.tokens[org] = platform.token(f"p-{org}", PrincipalKind.PARTNER, org)
                await w.ok(
                    "POST",
                    "/v1/orgs",
                    "alice",
                    {"org_id": org, "kind": "vendor", "display_name": org.title()},
                )
            # dave takes part in nothing a partner can see: his card is hidden from them.
            people = (("alice", HOME), ("bob", HOME), ("carol", HOME), ("dave", HOME))
            for person, org in people + tuple((f"p-{o}", o) for o in PARTNER_ORGS):
                await w.ok(
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
            made = await w.ok(
                "POST", "/v1/communities", "alice", {"name": "Supply chain", "visibility": "open"}
            )
            community = made["community"]["community_id"]
            w.ids["community"] = community
            for person in ("bob", "carol"):
                await w.ok("POST", f"/v1/communities/{community}/join", person)
            shared = await _pinhole(w, community, "Shared")
            other = await _pinhole(w, community, "Other")
            revoked = await _pinhole(w, community, "Revoked")
            closed = await _pinhole(w, community, "Closed")
            moment = datetime.now(UTC) + timedelta(seconds=20)
            w.expires_at = moment.timestamp()
            soon = moment.isoformat()
            expired = await _pinhole(w, community, "Expiring", expires_at=soon)
            w.ids.update(shared=shared, other=other, revoked=revoked, closed=closed)
            w.ids["expired"] = expired
            grants = (
                (shared, "acme", "contributor"),
                (shared, "viewco", "viewer"),
                (revoked, "revokedco", "contributor"),
                (closed, "closedco", "contributor"),
                (expired, "expiredco", "contributor"),
            )
            for pinhole, org, level in grants:
                await w.ok("PUT", f"/v1/pinholes/{pinhole}/grants/{org}", "alice", {"level": level})
            for prefix, space in (
                ("main", community),
                ("shared", shared),
                ("other", other),
                ("revoked", revoked),
                ("closed", closed),
                ("expired", expired),
            ):
                await _content(w, space, prefix)
            await w.ok("DELETE", f"/v1/pinholes/{revoked}/grants/revokedco", "alice")
            await w.ok("POST", f"/v1/pinholes/{closed}/close", "alice")
            yield w


async def test_partner_reads_and_posts_in_its_pinhole_and_sees_nothing_else(world: World) -> None:
    shared = world.ids["shared"]
    http = world.http
    # The contributor reads and posts in the pinhole.
    reply = await http.get(f"/v1/pinholes/{shared}", headers=world.auth("acme"))
    assert reply.status_code == 200
    assert [g["org_id"] for g in reply.json()["pinhole"]["grants"]] == ["acme"]
    feed = await http.get(f"/v1/spaces/{shared}/posts", headers=world.auth("acme"))
    assert feed.status_code == 200
    assert {p["space_id"] for p in feed.json()["posts"]} == {shared}
    posted = await http.post(
        f"/v1/spaces/{shared}/posts",
        headers=world.auth("acme"),
        json={"type": "discussion", "title": "Delivery dates", "body": "Week 12?"},
    )
    assert posted.status_code == 201, posted.text
    assert posted.headers["etag"] == '"1"'
    post_id = posted.json()["post"]["post_id"]
    answer = await http.post(
        f"/v1/posts/{post_id}/comments", headers=world.auth("bob"), json={"body": "Yes."}
    )
    assert answer.status_code == 201
    # The viewer reads but may not post (it can see the space, so 403, not 404).
    assert (await http.get(f"/v1/posts/{post_id}", headers=world.auth("viewco"))).status_code == 200
    refused = await http.post(
        f"/v1/spaces/{shared}/posts",
        headers=world.auth("viewco"),
        json={"type": "discussion", "title": "No", "body": "No"},
    )
    assert refused.status_code == 403
    # Another org, and every route outside the pinhole: the missing-object body.
    for who, path in (
        ("globex", f"/v1/pinholes/{shared}"),
        ("globex", f"/v1/posts/{post_id}"),
        ("acme", f"/v1/communities/{world.ids['community']}"),
        ("acme", f"/v1/posts/{world.ids['main.post']}"),
        ("acme", f"/v1/spaces/{world.ids['community']}/posts"),
        ("acme", "/v1/communities"),
        ("acme", "/v1/people/bob"),
        ("acme", "/v1/experts?tags=x"),
        ("acme", f"/v1/search?query=question&space_id={world.ids['other']}"),
    ):
        reply = await http.get(path, headers=world.auth(who))
        assert reply.status_code == 404, (who, path, reply.text)
        assert reply.content == NOT_FOUND_BYTES
    # Search and the home feed hold nothing from outside the pinhole.
    feed = await http.get("/v1/feed", headers=world.auth("acme"))
    assert feed.status_code == 200
    assert {p["space_id"] for p in feed.json()["posts"]} <= {shared}
    # A card of someone taking part is visible; the truly missing and the hidden look alike.
    missing = await http.get("/v1/posts/01zzzzzzzzzzzzzzzzzzzzzzzz", headers=world.auth("acme"))
    hidden = await http.get(f"/v1/posts/{world.ids['other.post']}", headers=world.auth("acme"))
    assert missing.status_code == hidden.status_code == 404
    assert missing.content == hidden.content == NOT_FOUND_BYTES


def _sample(schema: dict[str, Any], components: dict[str, Any]) -> Any:  # noqa: PLR0911 - a return per schema kind
    """A small value that satisfies ``schema`` (required fields only)."""
    if "$ref" in schema:
        return _sample(components[schema["$ref"].rsplit("/", 1)[1]], components)
    if "anyOf" in schema:
        return _sample(schema["anyOf"][0], components)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        required = schema.get("required", [])
        props = schema.get("properties", {})
        return {name: _sample(props[name], components) for name in required}
    if kind == "array":
        return [_sample(schema["items"], components)] if schema.get("minItems") else []
    if kind == "integer":
        return max(1, int(schema.get("minimum", 1)))
    if kind == "number":
        return 3600.0
    if kind == "boolean":
        return False
    if schema.get("format") == "date-time":
        return (datetime.now(UTC) + timedelta(days=1)).isoformat()
    if schema.get("pattern", "").startswith("^[a-z0-9]"):
        return "x1"
    return "x"


def _fill(path: str, ids: dict[str, str], prefix: str, space: str) -> str:
    values = {
        "community_id": ids["community"],
        "pinhole_id": space,
        "space_id": space,
        "post_id": ids[f"{prefix}.post"],
        "question_id": ids[f"{prefix}.post"],
        "idea_id": ids[f"{prefix}.post"],
        "item_id": ids[f"{prefix}.post"],
        "page_id": ids[f"{prefix}.wiki"],
        "answer_id": ids[f"{prefix}.answer"],
        "comment_id": ids[f"{prefix}.comment"],
        "person_id": "dave",
        "org_id": "globex",
        "client_id": "client-01aaaaaaaaaaaaaaaaaaaaaaaa",
        "revision": "1",
        "kind": "like",
        "webhook_id": "w1",
    }
    for name, value in values.items():
        path = path.replace("{" + name + "}", value)
    assert "{" not in path, path
    return path


async def test_partner_system_reads_the_same_pinhole_with_client_credentials(world: World) -> None:
    shared = world.ids["shared"]
    admin = world.platform.token("p-acme", PrincipalKind.PARTNER, "acme", ["admin"])
    made = await world.http.post(
        "/v1/orgs/acme/clients",
        headers={"authorization": f"Bearer {admin}"},
        json={"name": "Acme ERP", "scopes": ["pinholes:read"]},
    )
    assert made.status_code == 201, made.text
    client_id = made.json()["client"]["client_id"]
    secret = made.json()["client_secret"]
    issued = await world.http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, secret),
    )
    assert issued.status_code == 200, issued.text
    system = {"authorization": f"Bearer {issued.json()['access_token']}"}
    me = await world.http.get("/v1/me", headers=system)
    assert me.json()["client_id"] == client_id
    feed = await world.http.get(f"/v1/spaces/{shared}/posts", headers=system)
    assert feed.status_code == 200
    assert {p["space_id"] for p in feed.json()["posts"]} == {shared}
    # Read-only: no writes; nothing outside the org's pinholes.
    write = await world.http.post(
        f"/v1/spaces/{shared}/posts",
        headers=system,
        json={"type": "discussion", "title": "From the ERP", "body": "Sync"},
    )
    assert write.status_code == 403
    for path in (f"/v1/pinholes/{world.ids['other']}", f"/v1/posts/{world.ids['main.post']}"):
        hidden = await world.http.get(path, headers=system)
        assert hidden.status_code == 404
        assert hidden.content == NOT_FOUND_BYTES
    # The system's requests are in the pinhole's audit chain under its client id.
    page = await world.http.get(
        f"/v1/pinholes/{shared}/audit?page_size=100", headers=world.auth("alice")
    )
    assert client_id in {r["client_id"] for r in page.json()["records"]}


async def test_scoping_matrix_from_the_openapi_document(world: World) -> None:
    """Every route with an id, every refused partner: the missing-object 404."""
    await asyncio.sleep(max(0.0, world.expires_at - datetime.now(UTC).timestamp() + 1))
    document = json.loads(OPENAPI_FILE.read_text(encoding="utf-8"))
    components = document["components"]["schemas"]
    # Each refused partner, and the pinhole whose objects it tries to reach.
    refused = {
        "acme": "other",
        "viewco": "other",
        "globex": "shared",
        "revokedco": "revoked",
        "closedco": "closed",
        "expiredco": "expired",
    }
    checked = 0
    for path, item in document["paths"].items():
        if "{" not in path or not path.startswith("/v1/"):
            continue
        for method, operation in item.items():
            body = None
            request_body = operation.get("requestBody")
            if request_body:
                schema = request_body["content"]["application/json"]["schema"]
                body = _sample(schema, components)
            query = {
                p["name"]: _sample(p["schema"], components)
                for p in operation.get("parameters", [])
                if p["in"] == "query" and p.get("required")
            }
            for who, prefix in refused.items():
                target = _fill(path, world.ids, prefix, world.ids[prefix])
                if path.startswith("/v1/orgs/{org_id}") and who == "globex":
                    target = target.replace("/globex", "/acme")
                reply = await world.http.request(
                    method.upper(), target, headers=world.auth(who), json=body, params=query
                )
                assert reply.status_code == 404, (who, method, target, reply.text)
                assert reply.content == NOT_FOUND_BYTES, (who, method, target)
                checked += 1
    assert checked > 300


async def _published_audits(world: World) -> list[events_pb2.PartnerAccessAudited]:
    """Every PartnerAccessAudited on the gateway's topic of this platform."""
    topic = f"t{world.ids['unique']}.guildhall.gateway.v1"
    consumer = AIOKafkaConsumer(
        bootstrap_servers=world.kafka, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(load_registry().get(TOPIC).partitions)]
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        found = []
        async with asyncio.timeout(30):
            for tp in tps:
                await consumer.seek_to_beginning(tp)
                while await consumer.position(tp) < ends[tp]:
                    for record in (await consumer.getmany(tp, timeout_ms=200)).get(tp, []):
                        event = from_kafka(record.key, record.value, record.headers)
                        if event.type == "guildhall.gateway.v1.PartnerAccessAudited":
                            found.append(events_pb2.PartnerAccessAudited.FromString(event.data))
        return found
    finally:
        await consumer.stop()


async def test_audit_chain_verifies_and_detects_tampering_and_deletion(world: World) -> None:
    shared = world.ids["shared"]
    for _ in range(3):
        reply = await world.http.get(f"/v1/pinholes/{shared}", headers=world.auth("acme"))
        assert reply.status_code == 200
    # Owners and home admins read the pinhole's chain; partners and members do not.
    page = await world.http.get(f"/v1/pinholes/{shared}/audit", headers=world.auth("alice"))
    assert page.status_code == 200
    records = page.json()["records"]
    assert len(records) >= 3
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
    assert {r["org_id"] for r in records} <= {"acme", "viewco"}
    for who in ("bob", "acme"):
        denied = await world.http.get(f"/v1/pinholes/{shared}/audit", headers=world.auth(who))
        assert denied.status_code == 404
    # Every record is also published, with its place in the chain.
    first = records[0]
    for _ in range(100):
        published = {(e.chain, e.sequence): e for e in await _published_audits(world)}
        if (first["chain"], 1) in published:
            break
        await asyncio.sleep(0.3)
    event = published[(first["chain"], 1)]
    assert event.hash == first["hash"]
    assert event.org_id == first["org_id"]
    assert event.pinhole_id == shared
    # The org slice: a partner org admin reads its own org's records.
    admin = world.platform.token("p-acme", PrincipalKind.PARTNER, "acme", ["admin"])
    own = await world.http.get("/v1/orgs/acme/audit", headers={"authorization": f"Bearer {admin}"})
    assert own.status_code == 200
    assert own.json()["records"]
    assert {r["org_id"] for r in own.json()["records"]} == {"acme"}
    other = await world.http.get(
        "/v1/orgs/viewco/audit", headers={"authorization": f"Bearer {admin}"}
    )
    assert other.status_code == 404

    database = f"platform_{world.ids['unique']}_gateway"
    client: Any = make_client(world.mongo_uri, app_name="test-audit")
    try:
        store = MongoAuditStore(client[database])
        trail = AuditTrail(store)
        chain = f"pinhole:{shared}"
        assert await trail.verify() == []
        env = {
            **os.environ,
            "GUILDHALL_MONGO_URI": world.mongo_uri,
            "GUILDHALL_MONGO_DATABASE": database,
        }
        clean = subprocess.run(  # noqa: ASYNC221 - the CLI as an operator runs it
            [sys.executable, "-m", "guildhall_gateway.cli", "audit-verify"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert clean.returncode == 0, clean.stdout + clean.stderr
        # Tamper with the second record: its own hash no longer matches.
        second = f"{chain}#{2:012d}"
        await client[database][RECORDS].update_one(
            {"_id": second}, {"$set": {"http_status": 200, "bytes_returned": 1}}
        )
        faults = await trail.verify(chain)
        assert any(f.seq == 2 and "hash" in f.problem for f in faults)
        # Delete the third: the gap is reported.
        await client[database][RECORDS].delete_one({"_id": f"{chain}#{3:012d}"})
        faults = await trail.verify(chain)
        assert any("missing" in f.problem for f in faults)
        tampered = subprocess.run(  # noqa: ASYNC221 - the CLI as an operator runs it
            [sys.executable, "-m", "guildhall_gateway.cli", "audit-verify", "--chain", chain],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert tampered.returncode == 1
        assert "FAULT" in tampered.stdout
    finally:
        await client.close()


async def test_revocation_is_effective_on_the_next_request(world: World) -> None:
    shared = world.ids["shared"]
    reply = await world.http.get(f"/v1/spaces/{shared}/posts", headers=world.auth("viewco"))
    assert reply.status_code == 200
    revoke = await world.http.delete(
        f"/v1/pinholes/{shared}/grants/viewco", headers=world.auth("alice")
    )
    assert revoke.status_code == 200
    after = await world.http.get(f"/v1/spaces/{shared}/posts", headers=world.auth("viewco"))
    assert after.status_code == 404
    assert after.content == NOT_FOUND_BYTES


async def _next_event(lines: Any, within: float) -> dict[str, str]:
    """The next SSE event (id, event, data) from an ``aiter_lines`` iterator."""
    event: dict[str, str] = {}
    async with asyncio.timeout(within):
        async for raw in lines:
            if raw == "":
                if "data" in event:
                    return event
                event = {}
                continue
            if raw.startswith(":"):
                continue
            key, _, value = raw.partition(": ")
            event[key] = value
    raise AssertionError("stream ended")


async def test_partner_receives_its_notifications_over_sse_and_resumes(world: World) -> None:
    shared = world.ids["shared"]
    headers = world.auth("acme")

    async def mention(title: str) -> None:
        made = await world.http.post(
            f"/v1/spaces/{shared}/posts",
            headers=world.auth("bob"),
            json={
                "type": "discussion",
                "title": title,
                "body": "@p-acme please check",
                "mentioned_person_ids": ["p-acme"],
            },
        )
        assert made.status_code == 201, made.text

    async with world.http.stream("GET", "/v1/events", headers=headers) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.aiter_lines()
        await mention("First mention")
        first = await _next_event(lines, 60)
    assert first["event"] == "notification"
    body = json.loads(first["data"])
    assert body["notification"]["space_id"] == shared
    assert body["notification"]["person_id"] == "p-acme"
    # Resume after the first: the next one arrives, the first is not repeated.
    resumed = {**headers, "Last-Event-ID": first["id"]}
    async with world.http.stream("GET", "/v1/events", headers=resumed) as stream:
        lines = stream.aiter_lines()
        await mention("Second mention")
        second = await _next_event(lines, 60)
    assert second["id"] != first["id"]
    assert json.loads(second["data"])["notification"]["space_id"] == shared
    # The stream of another org carries none of this: its inbox stays empty.
    inbox = await world.http.get("/v1/notifications", headers=world.auth("globex"))
    assert inbox.status_code == 200
    assert inbox.json()["notifications"] == []
    bad = await world.http.get("/v1/events", headers={**headers, "Last-Event-ID": "../x"})
    assert bad.status_code == 400
