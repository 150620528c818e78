"""The gateway's authentication against a real OpenID Connect provider: Keycloak.

The module has a realm of its own in the local Keycloak
(guildhall_testsupport.keycloak); people sign in with the realm's test-only
client (direct access grants); the gateway verifies their tokens through
discovery and the realm's JWKS exactly as in production.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx2
import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from guildhall_gateway.auth.wiring import AuthParts, build_auth
from guildhall_gateway.settings import GatewaySettings
from guildhall_kit.auth import PrincipalKind, TokenVerifier, trusted_keys
from guildhall_kit.errors import Unauthenticated
from guildhall_kit.mongo import Document, ensure_indexes, single_connection_uri
from guildhall_kit.settings import load_settings
from guildhall_testsupport.gateway import auth_app
from guildhall_testsupport.keycloak import (
    Realm,
    new_realm,
    oidc_settings,
    realm_fixture,
    refresh_admin,
)

pytestmark = pytest.mark.integration

SERVICES = ("profile", "community", "post", "notification")

realm = realm_fixture()


@dataclass
class Gateway:
    auth: AuthParts
    settings: GatewaySettings
    http: httpx2.AsyncClient
    db: AsyncDatabase[Document]
    writer: AsyncDatabase[Document]


@pytest.fixture
async def gateway(realm: Realm, infra: Any, unique: str) -> AsyncIterator[Gateway]:
    """A gateway's authentication configured for ``realm`` as an enterprise would."""
    await refresh_admin(realm)
    settings = _settings(realm, infra, unique)
    mongo: AsyncMongoClient[Document] = AsyncMongoClient(infra.mongo_uri)
    writer: AsyncMongoClient[Document] = AsyncMongoClient(single_connection_uri(infra.mongo_uri))
    db, writer_db = mongo[settings.database_name], writer[settings.database_name]
    auth = build_auth(settings, db, writer_db)
    await ensure_indexes(db, auth.indexes)
    app = auth_app(auth)
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=app), base_url="http://gateway"
    ) as http:
        yield Gateway(auth, settings, http, db, writer_db)
    for stop in auth.on_stop:
        await stop()
    await mongo.drop_database(settings.database_name)
    await mongo.close()
    await writer.close()


def _settings(realm: Realm, infra: Any, unique: str, **overrides: Any) -> GatewaySettings:
    values: dict[str, Any] = {
        "kafka_bootstrap_servers": infra.kafka_bootstrap_servers,
        "mongo_uri": infra.mongo_uri,
        "mongo_database": f"test_gateway_kc_{unique}",
        **oidc_settings(realm),
        "oidc_jwks_min_refetch_seconds": 1,
        "oidc_leeway_seconds": 0,
        # Nothing here calls a service; the settings still need their addresses.
        **{f"{name}_addr": "127.0.0.1:9" for name in SERVICES},
    }
    values.update(overrides)
    return load_settings(GatewaySettings, **values)


def _services(settings: GatewaySettings) -> TokenVerifier:
    """What every Guildhall service verifies tokens with."""
    return TokenVerifier(
        trusted_keys(settings),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        home_org_id=settings.home_org_id,
    )


async def test_keycloak_people_map_to_their_principals(realm: Realm, gateway: Gateway) -> None:
    expected = {
        "alice": (PrincipalKind.EMPLOYEE, "home", True),
        "bob": (PrincipalKind.EMPLOYEE, "home", False),
        "vera": (PrincipalKind.PARTNER, "acme", True),
        "vic": (PrincipalKind.PARTNER, "acme", False),
    }
    for username, (kind, org, admin) in expected.items():
        token = await realm.sign_in(username)
        caller = await gateway.auth.authenticator.authenticate(f"Bearer {token}")
        principal = caller.principal
        assert (principal.subject, principal.kind, principal.org_id) == (username, kind, org)
        assert principal.is_org_admin is admin
        assert caller.client_id is None
        # The services never see Keycloak's token: they get one the gateway signed.
        internal = caller.service_authorization().removeprefix("Bearer ")
        assert internal != token
        assert _services(gateway.settings).verify(internal) == principal
        with pytest.raises(Unauthenticated):
            _services(gateway.settings).verify(token)
    me = await gateway.http.get(
        "/v1/me", headers={"authorization": f"Bearer {await realm.sign_in('vera')}"}
    )
    assert me.json() == {
        "person_id": "vera",
        "org_id": "acme",
        "kind": "partner",
        "home_admin": False,
        "client_id": None,
        "scopes": [],
    }


async def test_wrong_audience_issuer_expired_and_tampered_are_refused(
    realm: Realm, gateway: Gateway, infra: Any, unique: str
) -> None:
    token = await realm.sign_in("bob")

    other_audience = build_auth(
        _settings(realm, infra, unique, oidc_audience="another-api"),
        gateway.db,
        gateway.writer,
    )
    with pytest.raises(Unauthenticated, match="InvalidAudienceError"):
        await other_audience.authenticator.authenticate(f"Bearer {token}")
    for stop in other_audience.on_stop:
        await stop()

    # A token of another realm: another issuer, which this gateway does not accept.
    async with httpx2.AsyncClient(timeout=60) as http:
        await refresh_admin(realm)
        elsewhere = await new_realm(http, f"gh-other-{secrets.token_hex(4)}")
        try:
            foreign = await elsewhere.sign_in("bob")
        finally:
            await http.delete(elsewhere.admin, headers=elsewhere.admin_headers())
    with pytest.raises(Unauthenticated, match="issuer this gateway does not accept"):
        await gateway.auth.authenticator.authenticate(f"Bearer {foreign}")

    # Tampered: the payload says another org; the signature no longer matches.
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["org"] = "acme"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(Unauthenticated, match="InvalidSignatureError"):
        await gateway.auth.authenticator.authenticate(f"Bearer {header}.{forged}.{signature}")

    # Expired: a client whose tokens live 2 s, and a gateway allowing no clock skew.
    client = await realm.test_client()
    attributes = {**client.get("attributes", {}), "access.token.lifespan": "2"}
    await realm.admin_send("PUT", f"/clients/{client['id']}", {**client, "attributes": attributes})
    short = await realm.sign_in("carol")
    await asyncio.sleep(3.5)
    with pytest.raises(Unauthenticated, match="ExpiredSignatureError"):
        await gateway.auth.authenticator.authenticate(f"Bearer {short}")
    # Back to the realm's lifetime (an absent attribute would be kept by the update).
    attributes["access.token.lifespan"] = ""
    await realm.admin_send("PUT", f"/clients/{client['id']}", {**client, "attributes": attributes})
    claims = _claims(await realm.sign_in("carol"))
    assert claims["exp"] - claims["iat"] >= 60


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return claims


def _kid(token: str) -> str:
    header = token.split(".", maxsplit=1)[0]
    return str(json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"])


def _with_kid(token: str, kid: str) -> str:
    """``token`` with another ``kid`` in its header (its signature no longer matters)."""
    _, payload, signature = token.split(".")
    header = {"alg": "RS256", "typ": "JWT", "kid": kid}
    encoded = base64.urlsafe_b64encode(json.dumps(header).encode()).rstrip(b"=").decode()
    return f"{encoded}.{payload}.{signature}"


async def test_key_rotation_at_keycloak_is_picked_up_without_restart(
    realm: Realm, gateway: Gateway
) -> None:
    keys = gateway.auth.oidc_keys
    oidc = gateway.auth.oidc
    assert keys is not None
    assert oidc is not None
    before = await realm.sign_in("alice")
    await gateway.auth.authenticator.authenticate(f"Bearer {before}")
    old_kid = _kid(before)
    fetches = keys.fetches

    # Rotation: a new key signs from now on; the old one is still published.
    old_provider = await realm.rotate_keys()
    await asyncio.sleep(1.2)  # past GUILDHALL_OIDC_JWKS_MIN_REFETCH_SECONDS (1 s here)
    after = await realm.sign_in("alice")
    assert _kid(after) != old_kid, "Keycloak still signs with the old key"
    caller = await gateway.auth.authenticator.authenticate(f"Bearer {after}")
    assert caller.principal.subject == "alice"
    assert keys.fetches == fetches + 1  # one refetch, triggered by the unknown kid
    assert {old_kid, _kid(after)} <= keys.kids
    principal, _ = await oidc.verify(before)  # nobody is signed out by a rotation
    assert principal.subject == "alice"

    # Retirement: Keycloak drops the old key. The next refetch (here forced by a
    # token naming a kid nobody publishes) replaces the key set, and the old
    # key's tokens stop verifying, still without a restart.
    await realm.admin_send("DELETE", f"/components/{old_provider}")
    await asyncio.sleep(1.2)
    with pytest.raises(Unauthenticated, match="unknown key"):
        await oidc.verify(_with_kid(after, "no-such-kid"))
    assert keys.fetches == fetches + 2
    assert old_kid not in keys.kids
    with pytest.raises(Unauthenticated, match="unknown key"):
        await oidc.verify(before)
    assert (await oidc.verify(after))[0].subject == "alice"


async def test_client_credentials_end_to_end_with_keycloak_people(
    realm: Realm, gateway: Gateway
) -> None:
    vera = {"authorization": f"Bearer {await realm.sign_in('vera')}"}
    vic = {"authorization": f"Bearer {await realm.sign_in('vic')}"}
    body = {"name": "Acme ERP", "scopes": ["pinholes:read"]}
    assert (
        await gateway.http.post("/v1/orgs/acme/clients", json=body, headers=vic)
    ).status_code == 404
    created = await gateway.http.post("/v1/orgs/acme/clients", json=body, headers=vera)
    assert created.status_code == 201, created.text
    client_id = created.json()["client"]["client_id"]
    secret = created.json()["client_secret"]

    async def token(secret: str) -> httpx2.Response:
        return await gateway.http.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(client_id, secret),
        )

    issued = await token(secret)
    assert issued.status_code == 200, issued.text
    access = issued.json()["access_token"]
    caller = await gateway.auth.authenticator.authenticate(f"Bearer {access}")
    assert caller.scopes == frozenset({"pinholes:read"})
    assert (caller.principal.kind, caller.principal.org_id) == (PrincipalKind.PARTNER, "acme")
    me = await gateway.http.get("/v1/me", headers={"authorization": f"Bearer {access}"})
    assert me.json()["org_id"] == "acme"

    rotated = await gateway.http.post(f"/v1/orgs/acme/clients/{client_id}/secret", headers=vera)
    assert rotated.status_code == 200
    assert (await token(secret)).status_code == 401
    with pytest.raises(Unauthenticated):
        await gateway.auth.authenticator.authenticate(f"Bearer {access}")
    fresh = (await token(rotated.json()["client_secret"])).json()["access_token"]
    await gateway.auth.authenticator.authenticate(f"Bearer {fresh}")

    revoked = await gateway.http.delete(f"/v1/orgs/acme/clients/{client_id}", headers=vera)
    assert revoked.status_code == 204
    with pytest.raises(Unauthenticated, match="revoked"):
        await gateway.auth.authenticator.authenticate(f"Bearer {fresh}")
    assert (
        await gateway.http.get("/v1/me", headers={"authorization": f"Bearer {fresh}"})
    ).status_code == 401
