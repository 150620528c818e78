"""Partner OAuth clients end to end over HTTP, stored in the real FerretDB.

The gateway's HTTP application (with authentication's routes mounted) is
driven in process; the clients live in a database of their own per test run.
People sign in through the development issuer here; the same flow with
people from a real OIDC provider is in tests/integration/test_gateway_auth_keycloak.py.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx2
import pytest
from pymongo import AsyncMongoClient

from guildhall_gateway.application.ratelimit import Bucket, Limits
from guildhall_gateway.auth.wiring import AuthParts, build_auth
from guildhall_gateway.settings import GatewaySettings
from guildhall_kit.auth import PrincipalKind, TokenVerifier, mint_token, trusted_keys
from guildhall_kit.auth.devkeys import ensure_dev_keys
from guildhall_kit.errors import Unauthenticated
from guildhall_kit.mongo import Document, ensure_indexes, single_connection_uri
from guildhall_kit.settings import load_settings
from guildhall_testsupport.gateway import auth_app

pytestmark = pytest.mark.integration

# Nothing here calls a service; the settings still need their addresses.
NO_SERVICES = {
    f"{name}_addr": "127.0.0.1:9" for name in ("profile", "community", "post", "notification")
}


@dataclass
class Gateway:
    http: httpx2.AsyncClient
    auth: AuthParts
    settings: GatewaySettings

    def person(self, subject: str, org: str, *, admin: bool = False) -> dict[str, str]:
        keys = ensure_dev_keys()
        kind = PrincipalKind.EMPLOYEE if org == "home" else PrincipalKind.PARTNER
        token = mint_token(
            keys.private_key_pem,
            kid=keys.kid,
            subject=subject,
            kind=kind,
            org_id=org,
            roles=["admin"] if admin else [],
        )
        return {"authorization": f"Bearer {token}"}


@pytest.fixture
async def gateway(infra: Any, unique: str) -> AsyncIterator[Gateway]:
    async with _gateway(infra, unique) as gw:
        yield gw


@asynccontextmanager
async def _gateway(infra: Any, unique: str, limits: Limits | None = None) -> AsyncIterator[Gateway]:
    settings = load_settings(
        GatewaySettings,
        kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
        mongo_uri=infra.mongo_uri,
        mongo_database=f"test_gateway_auth_{unique}",
        dev_issuer_enabled=True,
        oauth_max_clients_per_org=3,
        **NO_SERVICES,
    )
    mongo: AsyncMongoClient[Document] = AsyncMongoClient(infra.mongo_uri)
    writer: AsyncMongoClient[Document] = AsyncMongoClient(single_connection_uri(infra.mongo_uri))
    db, writer_db = mongo[settings.database_name], writer[settings.database_name]
    auth = build_auth(settings, db, writer_db)
    await ensure_indexes(db, auth.indexes)
    app = auth_app(auth, limits=limits)
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://gateway") as http:
        yield Gateway(http, auth, settings)
    await mongo.drop_database(settings.database_name)
    await mongo.close()
    await writer.close()


def _basic(client_id: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"authorization": f"Basic {raw}"}


async def _create(gw: Gateway, scopes: list[str], org: str = "acme") -> dict[str, Any]:
    reply = await gw.http.post(
        f"/v1/orgs/{org}/clients",
        json={"name": "Acme ERP", "scopes": scopes},
        headers=gw.person("vera", org, admin=True),
    )
    assert reply.status_code == 201, reply.text
    assert reply.headers["cache-control"] == "no-store"
    body: dict[str, Any] = reply.json()
    return body


async def _token(gw: Gateway, client_id: str, secret: str, **form: str) -> httpx2.Response:
    return await gw.http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", **form},
        headers=_basic(client_id, secret),
    )


async def test_create_token_scoped_access_rotate_revoke(gateway: Gateway) -> None:
    gw = gateway
    created = await _create(gw, ["pinholes:read"])
    client_id, secret = created["client"]["client_id"], created["client_secret"]
    assert created["client"]["status"] == "active"
    assert created["client"]["scopes"] == ["pinholes:read"]
    assert created["client"]["created_by"] == "vera"

    # The secret is never shown again, nor stored in the clear.
    vera = gw.person("vera", "acme", admin=True)
    listed = await gw.http.get("/v1/orgs/acme/clients", headers=vera)
    assert listed.status_code == 200
    assert secret not in listed.text
    assert [c["client_id"] for c in listed.json()["clients"]] == [client_id]
    stored = await gw.auth.clients._store._read.find_one({"_id": client_id})
    assert stored is not None
    assert secret not in str(stored)

    # client_secret_basic and client_secret_post both work.
    basic = await _token(gw, client_id, secret)
    assert basic.status_code == 200, basic.text
    assert basic.headers["cache-control"] == "no-store"
    body = basic.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "pinholes:read"
    assert body["expires_in"] == gw.settings.oauth_token_ttl_seconds
    post = await gw.http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    assert post.status_code == 200, post.text

    # The token is a read-only partner caller of acme; the services get their own token.
    caller = await gw.auth.authenticator.authenticate(f"Bearer {body['access_token']}")
    assert caller.client_id == client_id
    assert caller.scopes == frozenset({"pinholes:read"})
    assert (caller.principal.kind, caller.principal.org_id) == (PrincipalKind.PARTNER, "acme")
    services = TokenVerifier(
        trusted_keys(gw.settings),
        issuer=gw.settings.jwt_issuer,
        audience=gw.settings.jwt_audience,
        home_org_id="home",
    )
    internal = caller.service_authorization().removeprefix("Bearer ")
    assert services.verify(internal) == caller.principal

    # More than the client holds is refused.
    too_much = await _token(gw, client_id, secret, scope="pinholes:read pinholes:write")
    assert too_much.status_code == 400
    assert too_much.json()["error"] == "invalid_scope"

    # Rotation: a new secret; the old one and its tokens stop at once.
    rotated = await gw.http.post(
        f"/v1/orgs/acme/clients/{client_id}/secret", headers=gw.person("vera", "acme", admin=True)
    )
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["client_secret"]
    assert new_secret != secret
    assert rotated.json()["client"]["rotated_at"] is not None
    old = await _token(gw, client_id, secret)
    assert old.status_code == 401
    assert old.json()["error"] == "invalid_client"
    assert old.headers["www-authenticate"].startswith("Basic")
    with pytest.raises(Unauthenticated, match="rotated"):
        await gw.auth.authenticator.authenticate(f"Bearer {body['access_token']}")
    fresh = await _token(gw, client_id, new_secret)
    assert fresh.status_code == 200
    fresh_token = fresh.json()["access_token"]
    await gw.auth.authenticator.authenticate(f"Bearer {fresh_token}")

    # Revocation (here by a home admin cutting a client off): refused at once.
    revoked = await gw.http.delete(
        f"/v1/orgs/acme/clients/{client_id}", headers=gw.person("alice", "home", admin=True)
    )
    assert revoked.status_code == 204
    with pytest.raises(Unauthenticated, match="revoked"):
        await gw.auth.authenticator.authenticate(f"Bearer {fresh_token}")
    assert (await _token(gw, client_id, new_secret)).status_code == 401
    again = await gw.http.delete(
        f"/v1/orgs/acme/clients/{client_id}", headers=gw.person("vera", "acme", admin=True)
    )
    assert again.status_code == 204
    shown = await gw.http.get(
        f"/v1/orgs/acme/clients/{client_id}", headers=gw.person("vera", "acme", admin=True)
    )
    assert shown.json()["status"] == "revoked"
    rotate_revoked = await gw.http.post(
        f"/v1/orgs/acme/clients/{client_id}/secret", headers=gw.person("vera", "acme", admin=True)
    )
    assert rotate_revoked.status_code == 409
    assert rotate_revoked.headers["content-type"] == "application/problem+json"


async def test_only_the_orgs_admin_manages_and_others_see_nothing(gateway: Gateway) -> None:
    gw = gateway
    created = await _create(gw, ["pinholes:read", "pinholes:write"])
    client_id = created["client"]["client_id"]
    missing = await gw.http.get(
        "/v1/orgs/acme/clients/client-doesnotexist", headers=gw.person("vera", "acme", admin=True)
    )
    assert missing.status_code == 404
    outsiders = {
        "a partner person of acme who is not its admin": gw.person("vic", "acme"),
        "the admin of another partner org": gw.person("gil", "globex", admin=True),
        "an employee who is not a home admin": gw.person("bob", "home"),
    }
    for who, headers in outsiders.items():
        for method, path in [
            ("GET", "/v1/orgs/acme/clients"),
            ("GET", f"/v1/orgs/acme/clients/{client_id}"),
            ("POST", f"/v1/orgs/acme/clients/{client_id}/secret"),
            ("DELETE", f"/v1/orgs/acme/clients/{client_id}"),
        ]:
            reply = await gw.http.request(method, path, headers=headers)
            assert reply.status_code == 404, (who, method, path, reply.text)
        body = {"name": "x", "scopes": ["pinholes:read"]}
        create = await gw.http.post("/v1/orgs/acme/clients", json=body, headers=headers)
        assert create.status_code == 404, who
    # A home admin may look and revoke, never create or rotate (never sees a secret).
    alice = gw.person("alice", "home", admin=True)
    assert (await gw.http.get("/v1/orgs/acme/clients", headers=alice)).status_code == 200
    for method, path in [
        ("POST", "/v1/orgs/acme/clients"),
        ("POST", f"/v1/orgs/acme/clients/{client_id}/secret"),
    ]:
        reply = await gw.http.request(
            method, path, headers=alice, json={"name": "x", "scopes": ["pinholes:read"]}
        )
        assert reply.status_code == 404
    # A partner system cannot manage clients, even its own org's.
    token = (await _token(gw, client_id, created["client_secret"])).json()["access_token"]
    system = {"authorization": f"Bearer {token}"}
    assert (await gw.http.get("/v1/orgs/acme/clients", headers=system)).status_code == 404
    # No token at all: 401.
    anonymous = await gw.http.get("/v1/orgs/acme/clients")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer")


async def test_token_endpoint_refuses_bad_requests_per_rfc_6749(gateway: Gateway) -> None:
    gw = gateway
    created = await _create(gw, ["pinholes:read"])
    client_id, secret = created["client"]["client_id"], created["client_secret"]
    grant = {"grant_type": "client_credentials"}
    good = _basic(client_id, secret)
    post = {**grant, "client_id": client_id, "client_secret": secret}
    cases: list[tuple[dict[str, str], dict[str, str], int, str]] = [
        ({"grant_type": "password"}, good, 400, "unsupported_grant_type"),
        ({}, good, 400, "invalid_request"),
        (post, good, 400, "invalid_request"),
        (grant, {}, 401, "invalid_client"),
        (grant, _basic(client_id, "wrong"), 401, "invalid_client"),
        (grant, _basic("client-nobody", secret), 401, "invalid_client"),
        (grant, _basic("x" * 500, secret), 401, "invalid_client"),
        (grant, {"authorization": "Basic !!!"}, 401, "invalid_client"),
        (grant, {"authorization": "Bearer abc"}, 401, "invalid_client"),
        ({**grant, "scope": "openid"}, good, 400, "invalid_scope"),
    ]
    for form, headers, status, error in cases:
        reply = await gw.http.post("/oauth/token", data=form, headers=headers)
        assert (reply.status_code, reply.json()["error"]) == (status, error), (form, headers)
        assert secret not in reply.text
    not_a_form = await gw.http.post("/oauth/token", json={"grant_type": "client_credentials"})
    assert not_a_form.status_code == 401


async def test_bad_client_bodies_are_refused_and_the_org_limit_holds(gateway: Gateway) -> None:
    gw = gateway
    vera = gw.person("vera", "acme", admin=True)
    for body in [
        {"name": "x", "scopes": ["pinholes:write"]},
        {"name": "x", "scopes": ["admin"]},
        {"name": "x", "scopes": []},
        {"name": "", "scopes": ["pinholes:read"]},
        {"name": "   ", "scopes": ["pinholes:read"]},
        {"name": "x" * 101, "scopes": ["pinholes:read"]},
        {"name": "x", "scopes": ["pinholes:read"], "secret": "mine"},
        {"name": 3, "scopes": ["pinholes:read"]},
    ]:
        reply = await gw.http.post("/v1/orgs/acme/clients", json=body, headers=vera)
        assert 400 <= reply.status_code < 500, body
    bad_org = await gw.http.get("/v1/orgs/ACME$/clients", headers=vera)
    assert 400 <= bad_org.status_code < 500
    assert (await gw.http.get("/v1/orgs/acme/clients", headers=vera)).json()["clients"] == []
    for _ in range(3):
        await _create(gw, ["pinholes:read"])
    over = await gw.http.post(
        "/v1/orgs/acme/clients", json={"name": "x", "scopes": ["pinholes:read"]}, headers=vera
    )
    assert over.status_code == 429
    assert len((await gw.http.get("/v1/orgs/acme/clients", headers=vera)).json()["clients"]) == 3


async def test_token_requests_are_limited_per_client_id_and_per_address(
    infra: Any, unique: str
) -> None:
    generous = Bucket(1000.0, 10_000)
    limits = Limits(
        partner_org=generous,
        client=generous,
        employee=generous,
        token_client=Bucket(0.05, 3),
        token_address=Bucket(0.05, 6),
    )
    async with _gateway(infra, unique, limits) as gw:
        created = await _create(gw, ["pinholes:read"])
        client_id, secret = created["client"]["client_id"], created["client_secret"]
        # Someone guessing this client's secret: three tries, then refused before the
        # secret is even looked at -- the right one included, until the bucket refills.
        guesses = [(await _token(gw, client_id, f"guess-{n}")).status_code for n in range(3)]
        assert guesses == [401, 401, 401]
        refused = await _token(gw, client_id, secret)
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["type"] == "urn:guildhall:problem:rate-limited"
        assert "access_token" not in refused.text
        # Other client ids from the same address share its bucket: six requests in all.
        others = [(await _token(gw, f"client-other{n}", "x")).status_code for n in range(3)]
        assert others == [401, 401, 429]
