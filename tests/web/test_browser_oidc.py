"""Enterprise sign-in in a real browser: authorization code with PKCE against Keycloak.

The platform's gateway trusts a Keycloak realm of this module's own (the same
local Keycloak the gateway's OIDC tests use) and serves the built app with a
``config.json`` that names that realm and its public client ``guildhall-web``,
as an enterprise deployment would. No dev sign-in file is written, so the only
way in is the provider. ``node web/e2e/run.mjs oidc`` then signs an employee
in through Keycloak's own login page (a wrong password first) and a partner in
another browser, and checks who the app says is signed in and what each sees.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest

from guildhall_testsupport.keycloak import Realm, oidc_settings, realm_fixture
from guildhall_testsupport.platform import GENEROUS_DEADLINES, start_platform
from guildhall_testsupport.web import SCREENSHOTS, gateway_ready, run_flow, static_copy

pytestmark = [pytest.mark.integration, pytest.mark.slow]

realm = realm_fixture()

# (Keycloak username, display name, org) as in deploy/local/keycloak/guildhall-realm.json
PEOPLE = (
    ("alice", "Alice Martin", "home"),
    ("bob", "Bob Okafor", "home"),
    ("vera", "Vera Novak", "acme"),
)


def _login(username: str, name: str) -> dict[str, str]:
    return {"username": username, "password": f"{username}-dev-password", "name": name}


async def _allow_redirects_to(realm: Realm, base_url: str) -> None:
    """The web client may return to this run's gateway (its port is picked per run)."""
    [client] = await realm.admin_get("/clients?clientId=guildhall-web")
    client["redirectUris"] = [*client.get("redirectUris", []), f"{base_url}/*"]
    client["webOrigins"] = [*client.get("webOrigins", []), base_url]
    await realm.admin_send("PUT", f"/clients/{client['id']}", client)


async def _seed(base_url: str, realm: Realm) -> None:
    """The people's profiles, written through the API with alice's Keycloak token."""
    admin = {"authorization": f"Bearer {await realm.sign_in('alice')}"}
    async with httpx2.AsyncClient(base_url=base_url, timeout=15, headers=admin) as http:
        reply = await http.post(
            "/v1/orgs", json={"org_id": "acme", "kind": "vendor", "display_name": "Acme Logistics"}
        )
        assert reply.status_code == 201, reply.text
        for person, name, org in PEOPLE:
            reply = await http.post(
                "/v1/people",
                json={
                    "person_id": person,
                    "org_id": org,
                    "display_name": name,
                    "email": f"{person}@{org}.example",
                },
            )
            assert reply.status_code == 201, reply.text
    # The partner's own card is readable once the community service knows acme
    # (it hears of the org from the profile service's events).
    partner = {"authorization": f"Bearer {await realm.sign_in('vera')}"}
    async with httpx2.AsyncClient(base_url=base_url, timeout=15, headers=partner) as http:
        deadline = time.monotonic() + 30
        while True:
            reply = await http.get("/v1/cards", params={"person_ids": "vera"})
            if reply.status_code == 200 and reply.json()["cards"]:
                break
            assert time.monotonic() < deadline, f"vera's card never readable: {reply.text}"
            await asyncio.sleep(0.3)


@pytest.fixture(scope="module")
async def oidc_stack(
    realm: Realm, infra: Any, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Any, Any]]:
    workdir = tmp_path_factory.mktemp("web-oidc")
    static = await asyncio.to_thread(static_copy, workdir)
    await asyncio.to_thread(
        (static / "config.json").write_text,
        json.dumps(
            {"auth": {"mode": "oidc", "issuer": realm.issuer, "client_id": "guildhall-web"}}
        ),
    )
    oidc = {f"GUILDHALL_{key.upper()}": value for key, value in oidc_settings(realm).items()}
    async with start_platform(
        kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
        mongo_uri=infra.mongo_uri,
        workdir=workdir,
        unique=os.urandom(4).hex(),
        extra_env={**oidc, **GENEROUS_DEADLINES, "GUILDHALL_STATIC_DIR": str(static)},
    ) as platform:
        base_url = f"http://{platform.addr('gateway-http')}"
        await asyncio.to_thread(gateway_ready, base_url)
        await _allow_redirects_to(realm, base_url)
        await _seed(base_url, realm)
        config = {
            "base_url": base_url,
            "output_dir": str(SCREENSHOTS),
            "oidc": {
                "issuer": realm.issuer,
                "employee": _login("bob", "Bob Okafor"),
                "partner": _login("vera", "Vera Novak"),
            },
        }
        config_path = workdir / "e2e-oidc.json"
        await asyncio.to_thread(config_path.write_text, json.dumps(config))
        yield platform, config_path


@pytest.mark.timeout(300)
async def test_people_sign_in_at_the_enterprise_provider_with_pkce(
    oidc_stack: tuple[Any, Any],
) -> None:
    """Employee and partner sign in at Keycloak's login page; the app shows each as themself."""
    platform, config_path = oidc_stack
    await run_flow(config_path, "oidc", platform)
