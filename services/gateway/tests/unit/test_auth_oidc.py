"""OIDC verification and the provider's key set cache, against an in-process provider.

The provider here is an httpx2 MockTransport serving a discovery document and
a JWKS of RSA keys the test controls (rotation = the test swaps the keys).
The same behaviour against a real provider (Keycloak) is proven in
tests/integration/test_gateway_auth_keycloak.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx2
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from guildhall_gateway.auth.claims import ClaimMapping
from guildhall_gateway.auth.oidc import OidcConfig, OidcKeys, OidcVerifier, signing_keys
from guildhall_kit.auth import PrincipalKind
from guildhall_kit.errors import Unauthenticated, Unavailable

ISSUER = "https://idp.example/realms/corp"
AUDIENCE = "guildhall-gateway"


def _rsa() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


_KEYS = {name: _rsa() for name in ("k1", "k2", "other")}


def _jwk(kid: str, key: rsa.RSAPrivateKey, **extra: Any) -> dict[str, Any]:
    jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": kid, "alg": "RS256", "use": "sig", **extra})
    return jwk


@dataclass
class Provider:
    """An OIDC provider in process: what it serves and what it was asked."""

    keys: list[dict[str, Any]]
    issuer: str = ISSUER
    up: bool = True
    requests: list[str] = field(default_factory=list)

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request.url.path)
        if not self.up:
            return httpx2.Response(503)
        if request.url.path.endswith("/.well-known/openid-configuration"):
            return httpx2.Response(
                200, json={"issuer": self.issuer, "jwks_uri": "https://idp.example/certs"}
            )
        if request.url.path == "/certs":
            return httpx2.Response(200, json={"keys": self.keys})
        return httpx2.Response(404)

    @property
    def jwks_fetches(self) -> int:
        return self.requests.count("/certs")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _unverified(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def _b64(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def _token(kid: str = "k1", key: rsa.RSAPrivateKey | None = None, **claims: Any) -> str:
    now = int(time.time())
    body = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "uuid-1",
        "preferred_username": "alice",
        "org": "home",
        "realm_access": {"roles": ["guildhall-admin"]},
        "iat": now,
        "exp": now + 300,
    }
    body.update(claims)
    # The key object, not its PEM: loading a PEM re-validates the RSA key (slow).
    return jwt.encode(body, key or _KEYS[kid], algorithm="RS256", headers={"kid": kid})


def _setup(
    provider: Provider, clock: Clock, *, min_refetch_s: float = 30, leeway_s: float = 30
) -> tuple[OidcVerifier, OidcKeys]:
    http = httpx2.AsyncClient(transport=httpx2.MockTransport(provider.handler))
    keys = OidcKeys(
        OidcConfig(
            issuer=ISSUER,
            discovery_url=f"{ISSUER}/.well-known/openid-configuration",
            algorithms=("RS256",),
            refresh_s=3600,
            min_refetch_s=min_refetch_s,
        ),
        http,
        clock=clock,
    )
    verifier = OidcVerifier(
        keys,
        issuer=ISSUER,
        audience=AUDIENCE,
        algorithms=("RS256",),
        leeway_s=leeway_s,
        mapping=ClaimMapping(
            person="preferred_username",
            roles="realm_access.roles",
            admin_roles=frozenset({"guildhall-admin"}),
        ),
        home_org_id="home",
    )
    return verifier, keys


async def test_a_valid_token_maps_to_its_principal_with_one_fetch() -> None:
    provider = Provider([_jwk("k1", _KEYS["k1"])])
    verifier, _ = _setup(provider, Clock())
    for _ in range(3):
        principal, expires = await verifier.verify(_token())
        assert (principal.subject, principal.kind, principal.org_id) == (
            "alice",
            PrincipalKind.EMPLOYEE,
            "home",
        )
        assert principal.is_home_admin
        assert expires > time.time()
    assert provider.requests.count("/realms/corp/.well-known/openid-configuration") == 1
    assert provider.jwks_fetches == 1


@pytest.mark.parametrize(
    ("claims", "check"),
    [
        ({"aud": "another-app"}, "InvalidAudienceError"),
        ({"iss": "https://evil.example/realms/corp"}, "InvalidIssuerError"),
        ({"exp": int(time.time()) - 120}, "ExpiredSignatureError"),
        ({"nbf": int(time.time()) + 600}, "ImmatureSignatureError"),
        ({"iat": None}, "MissingRequiredClaimError"),
    ],
)
async def test_claims_that_fail_a_check_are_refused(claims: dict[str, Any], check: str) -> None:
    verifier, _ = _setup(Provider([_jwk("k1", _KEYS["k1"])]), Clock())
    body = {k: v for k, v in claims.items() if v is not None}
    token = _token(**body)
    if claims.get("iat", 0) is None:
        token = jwt.encode(
            {
                k: v
                for k, v in jwt.decode(token, options={"verify_signature": False}).items()
                if k != "iat"
            },
            _KEYS["k1"],
            algorithm="RS256",
            headers={"kid": "k1"},
        )
    with pytest.raises(Unauthenticated, match=check):
        await verifier.verify(token)


async def test_clock_skew_within_the_leeway_is_accepted() -> None:
    verifier, _ = _setup(Provider([_jwk("k1", _KEYS["k1"])]), Clock(), leeway_s=30)
    principal, _ = await verifier.verify(_token(exp=int(time.time()) - 10))
    assert principal.subject == "alice"


async def test_a_tampered_payload_is_refused() -> None:
    verifier, _ = _setup(Provider([_jwk("k1", _KEYS["k1"])]), Clock())
    header, payload, signature = _token().split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["org"] = "acme"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(Unauthenticated, match="InvalidSignatureError"):
        await verifier.verify(f"{header}.{forged}.{signature}")


async def test_unpinned_algorithms_are_refused_before_any_key_is_used() -> None:
    provider = Provider([_jwk("k1", _KEYS["k1"])])
    verifier, _ = _setup(provider, Clock())
    public_pem = (
        _KEYS["k1"]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    # The classic key-confusion forgery: HMAC keyed with the provider's public key
    # (built by hand: PyJWT itself refuses to make one).
    signing_input = (
        _b64({"alg": "HS256", "kid": "k1", "typ": "JWT"})
        + "."
        + _b64({"iss": ISSUER, "aud": AUDIENCE, "preferred_username": "alice", "org": "home"})
    )
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    forged = signing_input + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    unsigned = _b64({"alg": "none", "kid": "k1"}) + "." + _b64({"iss": ISSUER}) + "."
    for token in (forged, unsigned):
        with pytest.raises(Unauthenticated, match="algorithm not accepted"):
            await verifier.verify(token)
    assert provider.requests == []


async def test_garbage_and_tokens_without_kid_are_refused() -> None:
    verifier, _ = _setup(Provider([_jwk("k1", _KEYS["k1"])]), Clock())
    with pytest.raises(Unauthenticated, match="not a JWT"):
        await verifier.verify("not-a-token")
    no_kid = jwt.encode({"iss": ISSUER}, _KEYS["k1"], algorithm="RS256")
    with pytest.raises(Unauthenticated, match="no key id"):
        await verifier.verify(no_kid)


async def test_rotation_at_the_provider_is_picked_up_by_an_unknown_kid() -> None:
    provider = Provider([_jwk("k1", _KEYS["k1"])])
    clock = Clock()
    verifier, keys = _setup(provider, clock, min_refetch_s=30)
    await verifier.verify(_token("k1"))
    # The provider rotates: k2 signs now, k1 is still published for a while.
    provider.keys = [_jwk("k2", _KEYS["k2"]), _jwk("k1", _KEYS["k1"])]
    clock.now += 31
    principal, _ = await verifier.verify(_token("k2"))
    assert principal.subject == "alice"
    assert keys.kids == {"k1", "k2"}
    assert provider.jwks_fetches == 2


async def test_unknown_kids_refetch_at_most_once_per_period() -> None:
    provider = Provider([_jwk("k1", _KEYS["k1"])])
    clock = Clock()
    verifier, _ = _setup(provider, clock, min_refetch_s=30)
    await verifier.verify(_token("k1"))
    for n in range(20):
        with pytest.raises(Unauthenticated, match="unknown key"):
            await verifier.verify(_token(f"made-up-{n}", key=_KEYS["other"]))
    assert provider.jwks_fetches == 1  # the first fetch was < 30 s ago: no refetch at all
    clock.now += 31
    for n in range(20):
        with pytest.raises(Unauthenticated, match="unknown key"):
            await verifier.verify(_token(f"made-up-{n}", key=_KEYS["other"]))
    assert provider.jwks_fetches == 2


async def test_a_stale_key_set_is_refetched_and_dropped_keys_stop_working() -> None:
    provider = Provider([_jwk("k1", _KEYS["k1"])])
    clock = Clock()
    verifier, _ = _setup(provider, clock)
    await verifier.verify(_token("k1"))
    provider.keys = [_jwk("k2", _KEYS["k2"])]
    clock.now += 3601
    with pytest.raises(Unauthenticated, match="unknown key"):
        await verifier.verify(_token("k1"))
    assert provider.jwks_fetches == 2


async def test_a_provider_outage_keeps_the_cached_keys() -> None:
    provider = Provider([_jwk("k1", _KEYS["k1"])])
    clock = Clock()
    verifier, _ = _setup(provider, clock)
    await verifier.verify(_token("k1"))
    provider.up = False
    clock.now += 3601
    principal, _ = await verifier.verify(_token("k1"))
    assert principal.subject == "alice"


async def test_no_keys_at_all_is_unavailable_not_a_bad_token() -> None:
    provider = Provider([_jwk("k1", _KEYS["k1"])], up=False)
    verifier, _ = _setup(provider, Clock())
    with pytest.raises(Unavailable):
        await verifier.verify(_token("k1"))


async def test_a_discovery_document_for_another_issuer_is_not_trusted() -> None:
    provider = Provider([_jwk("k1", _KEYS["k1"])], issuer="https://evil.example")
    verifier, _ = _setup(provider, Clock())
    with pytest.raises(Unavailable):
        await verifier.verify(_token("k1"))
    assert provider.jwks_fetches == 0


def test_only_usable_signature_keys_are_kept() -> None:
    jwks = {
        "keys": [
            _jwk("sig", _KEYS["k1"]),
            _jwk("enc", _KEYS["k2"], use="enc", alg="RSA-OAEP"),
            _jwk("es", _KEYS["k2"], alg="ES256"),
            {"kty": "RSA", "kid": "broken", "n": "AQAB", "e": "AQAB", "alg": "RS256"},
            {"kty": "RSA"},
            "junk",
        ]
    }
    kept = signing_keys(jwks, ("RS256",))
    assert "sig" in kept
    assert not {"enc", "es"} & set(kept)
