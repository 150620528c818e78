"""The HTTP app in process (no sockets): errors, body limits, auth, rate limits, scoping."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest
from starlette.testclient import TestClient

from guildhall_gateway.adapters.http.app import make_app
from guildhall_gateway.adapters.http.devauth import TokenAuthenticator
from guildhall_gateway.adapters.http.responses import NOT_FOUND_BYTES
from guildhall_gateway.adapters.http.runtime import Runtime
from guildhall_gateway.adapters.services import Services
from guildhall_gateway.application.ratelimit import Bucket, Limits, RateLimits
from guildhall_gateway.cli import OPENAPI_FILE, ROUTES_FILE, openapi_text, routes_text
from guildhall_kit.auth import KeySet, PrincipalKind, TokenVerifier, mint_token
from guildhall_kit.auth.devkeys import ensure_dev_keys
from guildhall_kit.clients import CommunityAccessClient


class Setup:
    def __init__(
        self, tmp_path: Path, *, employee_burst: int = 1000, static_dir: Path | None = None
    ) -> None:
        keys = ensure_dev_keys(tmp_path)
        self._pem, self._kid = keys.private_key_pem, keys.kid
        verifier = TokenVerifier(
            KeySet.from_file(keys.jwks_path),
            issuer="guildhall-dev",
            audience="guildhall",
            home_org_id="home",
        )
        # Nothing here reaches a service: every request below is answered before a call,
        # so no channel is opened at all.
        self.ready = [False]
        runtime = Runtime(
            services=Services({}, deadline_s=0.1),
            access=cast(CommunityAccessClient, None),
            authenticator=TokenAuthenticator(verifier),
            limits=RateLimits(
                Limits(
                    partner_org=Bucket(1, 1000),
                    client=Bucket(1, 1000),
                    employee=Bucket(0.1, employee_burst),
                )
            ),
            trail=None,
            audit_store=None,
            max_body_bytes=2048,
            ready=lambda: self.ready[0],
        )
        self.client = TestClient(make_app(runtime, static_dir=static_dir))

    def token(self, subject: str, kind: PrincipalKind, org: str) -> dict[str, str]:
        value = mint_token(self._pem, kid=self._kid, subject=subject, kind=kind, org_id=org)
        return {"authorization": f"Bearer {value}"}


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    return Setup(tmp_path)


def test_me_answers_from_the_token(setup: Setup) -> None:
    reply = setup.client.get("/v1/me", headers=setup.token("p-vera", PrincipalKind.PARTNER, "acme"))
    assert reply.status_code == 200
    assert reply.json() == {
        "person_id": "p-vera",
        "org_id": "acme",
        "kind": "partner",
        "home_admin": False,
        "client_id": None,
        "scopes": [],
    }
    assert reply.headers["x-request-id"]


@pytest.mark.parametrize("header", [None, "Basic abc", "Bearer ", "Bearer not.a.jwt"])
def test_without_a_valid_token_is_401_problem(setup: Setup, header: str | None) -> None:
    headers = {"authorization": header} if header is not None else {}
    reply = setup.client.get("/v1/communities", headers=headers)
    assert reply.status_code == 401
    assert reply.headers["content-type"] == "application/problem+json"
    assert reply.json()["type"] == "urn:guildhall:problem:unauthenticated"
    assert reply.headers["www-authenticate"].startswith("Bearer")


def test_health_and_readiness(setup: Setup) -> None:
    assert setup.client.get("/healthz").status_code == 200
    assert setup.client.get("/readyz").status_code == 503
    setup.ready[0] = True
    assert setup.client.get("/readyz").status_code == 200


def test_bad_bodies_are_4xx_problems_naming_the_field(setup: Setup) -> None:
    alice = setup.token("alice", PrincipalKind.EMPLOYEE, "home")
    json_headers = {**alice, "content-type": "application/json"}
    cases = [
        (b"{not json", json_headers, 400, "malformed-json"),
        (b'{"name": 5, "visibility": "open"}', json_headers, 400, "invalid-request"),
        (b'{"name": "A", "visibility": "open", "x": 1}', json_headers, 400, "invalid-request"),
        (b'{"name": "A", "visibility": "nope"}', json_headers, 400, "invalid-request"),
        (b'{"name": {"$gt": ""}, "visibility": "open"}', json_headers, 400, "invalid-request"),
        (b"x" * 4096, json_headers, 413, "content-too-large"),
        (b"name=A", {**alice, "content-type": "text/plain"}, 415, "unsupported-media-type"),
    ]
    for body, headers, status, kind in cases:
        reply = setup.client.post("/v1/communities", content=body, headers=headers)
        assert reply.status_code == status, (body, reply.text)
        assert reply.json()["type"] == f"urn:guildhall:problem:{kind}"
    named = setup.client.post(
        "/v1/communities",
        content=b'{"name": "A", "visibility": "open", "x": 1}',
        headers=json_headers,
    ).json()
    assert named["errors"][0]["field"] == "x"


def test_chunked_oversize_body_is_413(setup: Setup) -> None:
    alice = setup.token("alice", PrincipalKind.EMPLOYEE, "home")

    def chunks() -> Iterator[bytes]:
        for _ in range(10):
            yield b"x" * 1000

    reply = setup.client.post(
        "/v1/communities",
        content=chunks(),
        headers={**alice, "content-type": "application/json"},
    )
    assert reply.status_code == 413


@pytest.mark.parametrize(
    "path",
    ["/v1/communities/..%2F..%2Fetc", "/v1/communities/ABC", "/v1/people/a$b/card"],
)
def test_ids_with_traversal_or_operators_are_refused(setup: Setup, path: str) -> None:
    reply = setup.client.get(path, headers=setup.token("alice", PrincipalKind.EMPLOYEE, "home"))
    assert reply.status_code in (400, 404)
    assert reply.headers["content-type"] == "application/problem+json"


def test_unknown_query_parameter_and_bad_if_match_are_400(setup: Setup) -> None:
    alice = setup.token("alice", PrincipalKind.EMPLOYEE, "home")
    reply = setup.client.get("/v1/communities?name_prefix[$ne]=x", headers=alice)
    assert reply.status_code == 400
    reply = setup.client.patch(
        "/v1/communities/c1", json={"name": "B"}, headers={**alice, "If-Match": "W/x"}
    )
    assert reply.status_code == 400
    assert reply.json()["errors"][0]["field"] == "If-Match"


def test_partner_on_employee_only_routes_gets_the_missing_object_body(setup: Setup) -> None:
    vera = setup.token("vera", PrincipalKind.PARTNER, "acme")
    for path in ("/v1/communities", "/v1/communities/c1", "/v1/people/p1", "/v1/experts?tags=x"):
        reply = setup.client.get(path, headers=vera)
        assert reply.status_code == 404, path
        assert reply.content == NOT_FOUND_BYTES
    missing = setup.client.get("/v1/no/such/route", headers=vera)
    assert missing.content == NOT_FOUND_BYTES


def test_rate_limit_is_429_with_retry_after(tmp_path: Path) -> None:
    setup = Setup(tmp_path, employee_burst=3)
    alice = setup.token("alice", PrincipalKind.EMPLOYEE, "home")
    codes = [setup.client.get("/v1/me", headers=alice).status_code for _ in range(5)]
    assert codes[:3] == [200, 200, 200]
    assert codes[3:] == [429, 429]
    reply = setup.client.get("/v1/me", headers=alice)
    assert int(reply.headers["retry-after"]) >= 1
    assert reply.json()["type"] == "urn:guildhall:problem:rate-limited"
    other = setup.token("bob", PrincipalKind.EMPLOYEE, "home")
    assert setup.client.get("/v1/me", headers=other).status_code == 200


def test_checked_in_openapi_and_route_table_match_the_code() -> None:
    assert OPENAPI_FILE.read_text(encoding="utf-8") == openapi_text(), (
        "run `python -m guildhall_gateway.cli openapi write`"
    )
    assert ROUTES_FILE.read_text(encoding="utf-8") == routes_text(), (
        "run `python -m guildhall_gateway.cli routes write`"
    )


def test_static_files_at_the_root_never_shadow_the_api(tmp_path: Path) -> None:
    web = tmp_path / "web"
    (web / "v1").mkdir(parents=True)
    (web / "index.html").write_text("<h1>Guildhall</h1>")
    (web / "openapi.json").write_text("not the API document")
    (web / "v1" / "me").write_text("not the API")
    setup = Setup(tmp_path / "keys", static_dir=web)
    assert setup.client.get("/").text == "<h1>Guildhall</h1>"
    assert setup.client.get("/openapi.json").json()["openapi"].startswith("3.1")
    me = setup.client.get("/v1/me", headers=setup.token("alice", PrincipalKind.EMPLOYEE, "home"))
    assert me.json()["person_id"] == "alice"


def test_nothing_a_client_sends_is_echoed_into_a_header(setup: Setup) -> None:
    alice = setup.token("alice", PrincipalKind.EMPLOYEE, "home")
    reply = setup.client.get(
        "/v1/me", headers={**alice, "X-Request-Id": "evil", "Last-Event-ID": "x"}
    )
    assert reply.headers["x-request-id"] != "evil"
    assert "evil" not in str(reply.headers)
    refused = setup.client.get("/v1/events", headers={**alice, "Last-Event-ID": "a b"})
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["field"] == "Last-Event-ID"
