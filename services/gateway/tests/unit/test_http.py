"""The gateway's HTTP face, in process (no sockets)."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from guildhall_gateway.http import make_app
from guildhall_kit.auth import KeySet, PrincipalKind, TokenVerifier, mint_token
from guildhall_kit.auth.devkeys import ensure_dev_keys


@pytest.fixture
def setup(tmp_path: Path) -> tuple[TestClient, bytes, list[bool]]:
    keys = ensure_dev_keys(tmp_path)
    verifier = TokenVerifier(
        KeySet.from_file(keys.jwks_path),
        issuer="guildhall-dev",
        audience="guildhall",
        home_org_id="home",
    )
    ready = [False]
    return TestClient(make_app(verifier, lambda: ready[0])), keys.private_key_pem, ready


def test_me_answers_from_the_token(setup: tuple[TestClient, bytes, list[bool]]) -> None:
    client, pem, _ = setup
    token = mint_token(
        pem,
        kid="guildhall-dev-1",
        subject="p-vera",
        kind=PrincipalKind.PARTNER,
        org_id="acme",
    )
    reply = client.get("/v1/me", headers={"authorization": f"Bearer {token}"})
    assert reply.status_code == 200
    assert reply.json() == {
        "person_id": "p-vera",
        "org_id": "acme",
        "kind": "partner",
        "home_admin": False,
    }


@pytest.mark.parametrize("header", [None, "Basic abc", "Bearer ", "Bearer not.a.jwt"])
def test_me_without_valid_token_is_401_json(
    setup: tuple[TestClient, bytes, list[bool]], header: str | None
) -> None:
    client, _, _ = setup
    headers = {"authorization": header} if header is not None else {}
    reply = client.get("/v1/me", headers=headers)
    assert reply.status_code == 401
    assert reply.json()["error"]["code"] == "UNAUTHENTICATED"


def test_health_and_readiness(setup: tuple[TestClient, bytes, list[bool]]) -> None:
    client, _, ready = setup
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 503
    ready[0] = True
    assert client.get("/readyz").status_code == 200


def test_openapi_describes_every_route(setup: tuple[TestClient, bytes, list[bool]]) -> None:
    client, _, _ = setup
    doc = client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    assert set(doc["paths"]) == {"/healthz", "/readyz", "/v1/me"}
    assert client.get("/nope").status_code == 404
