"""The web client in a real browser against the real platform.

Every service runs as a process (guildhall_testsupport.platform); the gateway
serves the built app (web/dist, copied beside a dev sign-in file) and accepts
the local development issuer's tokens. People, a partner org and a community
are seeded through the services' RPCs; then ``node web/e2e/run.mjs <flow>``
drives Debian's Chromium through each flow of issue 11 (questions, pinholes,
wiki, accessibility, phone width) and writes screenshots to
``.local/web-screenshots``.

Needs ``make web`` (the build) and ``make chromium``; ``make test`` runs both first.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest

from guildhall.community.v1 import community_pb2, community_pb2_grpc
from guildhall.profile.v1 import profile_pb2, profile_pb2_grpc
from guildhall_kit.auth import PrincipalKind
from guildhall_testsupport.platform import Platform, bearer, settled, start_platform
from guildhall_testsupport.web import SCREENSHOTS, gateway_ready, run_flow, static_copy

pytestmark = [pytest.mark.integration, pytest.mark.slow]

HOME = "home"
TAG = "kafka"
FLOWS = ("questions", "live", "pinholes", "wiki", "accessibility", "phone")

# (id, display name, org, kind, token roles, title)
PEOPLE: tuple[tuple[str, str, str, PrincipalKind, list[str], str], ...] = (
    ("alice", "Alice Martin", HOME, PrincipalKind.EMPLOYEE, ["admin"], "Head of Platform"),
    ("bob", "Bob Okafor", HOME, PrincipalKind.EMPLOYEE, [], "Backend Engineer"),
    ("erin", "Erin Walsh", HOME, PrincipalKind.EMPLOYEE, [], "Streaming Specialist"),
    ("vera", "Vera Novak", "acme", PrincipalKind.PARTNER, [], "Account Manager"),
)


@dataclass(frozen=True)
class WebStack:
    platform: Platform
    base_url: str
    config_path: Path


async def _seed(platform: Platform) -> dict[str, str]:
    """People, the partner org, the expert's declared expertise and an open community."""
    tokens = {p[0]: platform.token(p[0], p[3], p[2], p[4]) for p in PEOPLE}
    admin = tokens["alice"]
    async with (
        grpc.aio.insecure_channel(platform.addr("profile")) as p_ch,
        grpc.aio.insecure_channel(platform.addr("community")) as c_ch,
    ):
        profile: Any = profile_pb2_grpc.ProfileServiceStub(p_ch)
        community: Any = community_pb2_grpc.CommunityServiceStub(c_ch)
        await profile.RegisterOrg(
            profile_pb2.RegisterOrgRequest(
                org_id="acme", kind=profile_pb2.ORG_KIND_VENDOR, display_name="Acme Logistics"
            ),
            **bearer(admin),
        )
        for person_id, name, org, _, _, title in PEOPLE:
            await profile.CreatePerson(
                profile_pb2.CreatePersonRequest(
                    person_id=person_id,
                    org_id=org,
                    display_name=name,
                    email=f"{person_id}@{org}.example",
                    title=title,
                    department="Platform" if org == HOME else "",
                    manager_id="alice" if person_id in ("bob", "erin") else "",
                ),
                **bearer(admin),
            )
        await settled(
            profile.SetDeclaredExpertise,
            profile_pb2.SetDeclaredExpertiseRequest(tags=[TAG]),
            tokens["erin"],
        )
        created = await community.CreateCommunity(
            community_pb2.CreateCommunityRequest(
                name="Platform engineering",
                description="Streams, storage and the services on them.",
                visibility=community_pb2.COMMUNITY_VISIBILITY_OPEN,
                tags=[TAG],
            ),
            **bearer(admin),
        )
        for member in ("bob", "erin"):
            await settled(
                community.JoinCommunity,
                community_pb2.JoinCommunityRequest(community_id=created.community.community_id),
                tokens[member],
            )
    return {
        "community_id": created.community.community_id,
        "main_space_id": created.community.main_space_id,
        **{f"token_{k}": v for k, v in tokens.items()},
    }


@pytest.fixture(scope="module")
async def web_stack(
    infra: Any, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[WebStack]:
    workdir = tmp_path_factory.mktemp("web")
    static = await asyncio.to_thread(static_copy, workdir)
    unique = f"web{os.getpid()}{int(time.time()) % 100000}"
    async with start_platform(
        kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
        mongo_uri=infra.mongo_uri,
        workdir=workdir,
        unique=unique,
        extra_env={"GUILDHALL_STATIC_DIR": str(static)},
    ) as platform:
        base_url = f"http://127.0.0.1:{platform.ports['gateway-http']}"
        await asyncio.to_thread(gateway_ready, base_url)
        seeded = await _seed(platform)
        people = {p[0]: {"id": p[0], "name": p[1]} for p in PEOPLE}
        signin = static / "dev-signin.json"
        await asyncio.to_thread(
            signin.write_text,
            json.dumps(
                {
                    "people": [
                        {
                            "subject": p[0],
                            "display_name": p[1],
                            "roles": ["partner" if p[3] is PrincipalKind.PARTNER else "employee"],
                            "token": seeded[f"token_{p[0]}"],
                        }
                        for p in PEOPLE
                    ]
                }
            ),
        )
        config = {
            "base_url": base_url,
            "output_dir": str(SCREENSHOTS),
            "community_id": seeded["community_id"],
            "main_space_id": seeded["main_space_id"],
            "tag": TAG,
            "partner_org_name": "Acme Logistics",
            "people": {
                "owner": people["alice"],
                "asker": people["bob"],
                "expert": people["erin"],
                "partner": people["vera"],
            },
        }
        config_path = workdir / "e2e.json"
        await asyncio.to_thread(config_path.write_text, json.dumps(config))
        yield WebStack(platform, base_url, config_path)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("flow", FLOWS)
async def test_flow_in_a_real_browser(web_stack: WebStack, flow: str) -> None:
    """One flow of issue 11 in Chromium; its steps and failures are printed by the runner."""
    await run_flow(web_stack.config_path, flow, web_stack.platform)
