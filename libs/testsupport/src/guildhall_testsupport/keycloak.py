"""A realm of its own in the local Keycloak, for tests of OpenID Connect sign-in.

``make infra-up`` runs Keycloak on 127.0.0.1 (deploy/local/infra.py). A test
module creates a realm of its own from deploy/local/keycloak/guildhall-realm.json
through Keycloak's admin API (:func:`realm_fixture`), so rotating its keys or
shortening its token lifetime disturbs nobody, and deletes it afterwards.
People sign in with the realm's test-only client (direct access grants).
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest

ROOT = Path(__file__).resolve().parents[4]
REALM_FILE = ROOT / "deploy" / "local" / "keycloak" / "guildhall-realm.json"
# Written by deploy/local/infra.py on Keycloak's first start; another Keycloak can be
# used with GUILDHALL_KEYCLOAK_PORT and GUILDHALL_KEYCLOAK_ADMIN_PASSWORD_FILE.
ADMIN_PASSWORD_FILE = Path(
    os.environ.get(
        "GUILDHALL_KEYCLOAK_ADMIN_PASSWORD_FILE", ROOT / ".local" / "keycloak" / "admin-password"
    )
)
KEYCLOAK = f"http://127.0.0.1:{os.environ.get('GUILDHALL_KEYCLOAK_PORT', '18080')}"
TEST_CLIENT = "guildhall-tests"


@dataclass
class Realm:
    """A realm of its own in the running Keycloak, and an admin session on it."""

    name: str
    http: httpx2.AsyncClient
    admin_token: str

    @property
    def issuer(self) -> str:
        return f"{KEYCLOAK}/realms/{self.name}"

    @property
    def admin(self) -> str:
        return f"{KEYCLOAK}/admin/realms/{self.name}"

    def admin_headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.admin_token}"}

    async def sign_in(self, username: str) -> str:
        """An access token for a demo person (the test client's password grant)."""
        reply = await self.http.post(
            f"{self.issuer}/protocol/openid-connect/token",
            data={
                "grant_type": "password",
                "client_id": TEST_CLIENT,
                "username": username,
                "password": f"{username}-dev-password",
            },
        )
        assert reply.status_code == 200, reply.text
        return str(reply.json()["access_token"])

    async def admin_get(self, path: str) -> Any:
        reply = await self.http.get(f"{self.admin}{path}", headers=self.admin_headers())
        assert reply.status_code == 200, reply.text
        return reply.json()

    async def admin_send(self, method: str, path: str, body: Any = None) -> httpx2.Response:
        reply = await self.http.request(
            method, f"{self.admin}{path}", json=body, headers=self.admin_headers()
        )
        assert reply.status_code < 300, reply.text
        return reply

    async def rotate_keys(self) -> str:
        """Add an RSA key provider above the existing ones (Keycloak's key rotation);
        returns the id of the provider that signed until now."""
        realm_id = (await self.admin_get(""))["id"]
        before = await self.admin_get(
            f"/components?parent={realm_id}&type=org.keycloak.keys.KeyProvider"
        )
        old = next(c["id"] for c in before if c["providerId"] == "rsa-generated")
        await self.admin_send(
            "POST",
            "/components",
            {
                "name": f"rotated-{secrets.token_hex(3)}",
                "providerId": "rsa-generated",
                "providerType": "org.keycloak.keys.KeyProvider",
                "parentId": realm_id,
                "config": {"priority": ["1000"], "keySize": ["2048"], "algorithm": ["RS256"]},
            },
        )
        return str(old)

    async def test_client(self) -> dict[str, Any]:
        found = await self.admin_get(f"/clients?clientId={TEST_CLIENT}")
        client: dict[str, Any] = found[0]
        return client


def admin_password() -> str:
    """The master realm's admin password (fails the test, naming the file, when missing)."""
    try:
        return ADMIN_PASSWORD_FILE.read_text().strip()
    except FileNotFoundError:
        pytest.fail(f"{ADMIN_PASSWORD_FILE} is missing: run `make infra-up`", pytrace=False)


async def new_realm(http: httpx2.AsyncClient, name: str) -> Realm:
    try:
        ready = await http.get(f"{KEYCLOAK}/realms/master/.well-known/openid-configuration")
    except httpx2.HTTPError as exc:
        pytest.fail(
            f"Keycloak not reachable at {KEYCLOAK} ({exc}); run `make infra-up`", pytrace=False
        )
    assert ready.status_code == 200, f"Keycloak at {KEYCLOAK} is not ready: {ready.status_code}"
    password = admin_password()
    login = await http.post(
        f"{KEYCLOAK}/realms/master/protocol/openid-connect/token",
        data={
            "grant_type": "password",
            "client_id": "admin-cli",
            "username": "admin",
            "password": password,
        },
    )
    assert login.status_code == 200, login.text
    token = str(login.json()["access_token"])
    realm = json.loads(REALM_FILE.read_text())
    realm["realm"] = name
    created = await http.post(
        f"{KEYCLOAK}/admin/realms", json=realm, headers={"authorization": f"Bearer {token}"}
    )
    assert created.status_code == 201, created.text
    return Realm(name, http, token)


async def refresh_admin(realm: Realm) -> None:
    login = await realm.http.post(
        f"{KEYCLOAK}/realms/master/protocol/openid-connect/token",
        data={
            "grant_type": "password",
            "client_id": "admin-cli",
            "username": "admin",
            "password": admin_password(),
        },
    )
    assert login.status_code == 200, login.text
    realm.admin_token = str(login.json()["access_token"])


def realm_fixture() -> Any:
    """A module-scoped pytest fixture giving a fresh :class:`Realm` (deleted afterwards);
    assign it to ``realm`` in a test module."""

    @pytest.fixture(scope="module")
    async def realm() -> AsyncIterator[Realm]:
        # The admin token of the master realm lives 60 s; one module's tests fit in it
        # only if they are quick, so the realm is made per module and the token refreshed.
        async with httpx2.AsyncClient(timeout=60) as http:
            made = await new_realm(http, f"gh-test-{secrets.token_hex(4)}")
            try:
                yield made
            finally:
                await refresh_admin(made)
                await http.delete(
                    made.admin, headers={"authorization": f"Bearer {made.admin_token}"}
                )

    return realm


def oidc_settings(realm: Realm) -> dict[str, Any]:
    """The gateway's OIDC settings for ``realm``, as an enterprise would set them."""
    return {
        "oidc_issuer": realm.issuer,
        "oidc_audience": "guildhall-gateway",
        "oidc_claim_person": "preferred_username",
        "oidc_claim_org": "org",
        "oidc_claim_roles": "realm_access.roles",
        "oidc_admin_roles": "guildhall-admin",
    }
