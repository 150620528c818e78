"""Partner OAuth clients: scopes, secrets, generations; client tokens and the authenticator."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import jwt
import pytest

from guildhall_gateway.auth.authenticator import GatewayAuthenticator, bearer_token
from guildhall_gateway.auth.client_tokens import ClientTokens
from guildhall_gateway.auth.clients import (
    SCOPE_READ,
    SCOPE_WRITE,
    OAuthClient,
    canonical_scopes,
    hash_secret,
    new_client_id,
    new_secret,
    secret_matches,
)
from guildhall_kit.auth import (
    KeySet,
    PrincipalKind,
    PrincipalSigner,
    TokenVerifier,
    mint_token,
)
from guildhall_kit.auth.devkeys import DevKeys, ensure_dev_keys
from guildhall_kit.errors import Unauthenticated


def _client(**overrides: object) -> OAuthClient:
    fields: dict[str, object] = {
        "client_id": "client-01abc",
        "org_id": "acme",
        "name": "ERP",
        "scopes": (SCOPE_READ, SCOPE_WRITE),
        "secret_hash": "x",
        "generation": 1,
        "created_by": "vera",
        "created_at": datetime(2026, 1, 1, tzinfo=UTC),
    }
    fields.update(overrides)
    return OAuthClient(**fields)  # type: ignore[arg-type]


def test_scopes_are_read_or_read_and_write() -> None:
    assert canonical_scopes(frozenset({SCOPE_WRITE, SCOPE_READ})) == (SCOPE_READ, SCOPE_WRITE)
    assert canonical_scopes(frozenset({SCOPE_READ})) == (SCOPE_READ,)
    with pytest.raises(ValueError, match="required"):
        canonical_scopes(frozenset({SCOPE_WRITE}))
    with pytest.raises(ValueError, match="unknown scope"):
        canonical_scopes(frozenset({SCOPE_READ, "admin"}))


def test_secrets_are_random_prefixed_and_only_their_hash_matches() -> None:
    first, second = new_secret(), new_secret()
    assert first != second
    assert first.startswith("ghcs_")
    assert len(first) > 40
    stored = hash_secret(first)
    assert stored.startswith("$argon2id$")
    assert first not in stored
    assert secret_matches(stored, first)
    assert not secret_matches(stored, second)
    assert not secret_matches("not a hash", first)


def test_client_ids_fit_the_id_rule() -> None:
    client_id = new_client_id()
    assert client_id.startswith("client-")
    assert len(client_id) <= 64
    assert client_id == client_id.lower()


def test_token_scopes_are_a_subset_of_the_clients() -> None:
    both = _client()
    assert both.granted_scopes(None) == (SCOPE_READ, SCOPE_WRITE)
    assert both.granted_scopes("") == (SCOPE_READ, SCOPE_WRITE)
    assert both.granted_scopes(SCOPE_READ) == (SCOPE_READ,)
    assert both.granted_scopes(SCOPE_WRITE) == (SCOPE_READ, SCOPE_WRITE)
    read_only = _client(scopes=(SCOPE_READ,))
    assert read_only.granted_scopes(f"{SCOPE_READ} {SCOPE_WRITE}") is None
    assert read_only.granted_scopes("openid") is None


def test_rotation_and_revocation_end_older_generations() -> None:
    client = _client()
    assert client.accepts(1)
    rotated = client.rotated("y", datetime(2026, 1, 2, tzinfo=UTC))
    assert rotated.generation == 2
    assert not rotated.accepts(1)
    assert rotated.accepts(2)
    revoked = replace(rotated, revoked_at=datetime.now(UTC), revoked_by="vera")
    assert not revoked.active
    assert not revoked.accepts(2)


# --- tokens and the authenticator --------------------------------------------------------


@pytest.fixture
def keys(tmp_path: Path) -> DevKeys:
    return ensure_dev_keys(tmp_path)


def _tokens(keys: DevKeys, ttl_s: int = 600) -> ClientTokens:
    signer = PrincipalSigner(keys.private_key_pem, keys.kid, "guildhall-gateway", "guildhall-api")
    return ClientTokens(signer, KeySet.from_file(keys.jwks_path), home_org_id="home", ttl_s=ttl_s)


class Store:
    """The client check over a dict (the real store is tested against FerretDB)."""

    def __init__(self) -> None:
        self.clients: dict[str, OAuthClient] = {}
        self.checks = 0

    async def still_good(self, client_id: str, org_id: str, generation: int) -> bool:
        self.checks += 1
        client = self.clients.get(client_id)
        return client is not None and client.org_id == org_id and client.accepts(generation)


def _authenticator(keys: DevKeys, store: Store, *, dev: bool = True) -> GatewayAuthenticator:
    verifier = TokenVerifier(
        KeySet.from_file(keys.jwks_path),
        issuer="guildhall-dev",
        audience="guildhall",
        home_org_id="home",
    )
    return GatewayAuthenticator(
        signer=PrincipalSigner(keys.private_key_pem, keys.kid, "guildhall-dev", "guildhall"),
        internal_ttl_s=300,
        clients=_tokens(keys),
        client_check=store.still_good,
        dev=verifier if dev else None,
        dev_issuer="guildhall-dev",
    )


def _services(keys: DevKeys) -> TokenVerifier:
    """What every service verifies with."""
    return TokenVerifier(
        KeySet.from_file(keys.jwks_path),
        issuer="guildhall-dev",
        audience="guildhall",
        home_org_id="home",
    )


async def test_a_client_token_becomes_a_scoped_partner_caller(keys: DevKeys) -> None:
    store = Store()
    client = _client(scopes=(SCOPE_READ,))
    store.clients[client.client_id] = client
    token = _tokens(keys).issue(client, (SCOPE_READ,))
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["aud"] == "guildhall-api"  # useless at the services' door
    caller = await _authenticator(keys, store).authenticate(f"Bearer {token}")
    assert caller.client_id == client.client_id
    assert caller.scopes == frozenset({SCOPE_READ})
    assert caller.principal.kind is PrincipalKind.PARTNER
    assert caller.principal.org_id == "acme"
    assert caller.principal.roles == frozenset()
    # The services get a token of their own audience, signed by the gateway.
    internal = caller.service_authorization().removeprefix("Bearer ")
    assert _services(keys).verify(internal) == caller.principal
    internal_claims = _services(keys).verify_claims(internal)
    assert internal_claims["client_id"] == client.client_id
    assert internal_claims["scope"] == SCOPE_READ
    assert internal_claims["exp"] - time.time() <= 300
    # ... and the external token does not pass there.
    with pytest.raises(Unauthenticated):
        _services(keys).verify(token)


async def test_revocation_and_rotation_hold_on_the_next_request(keys: DevKeys) -> None:
    store = Store()
    client = _client()
    store.clients[client.client_id] = client
    authenticator = _authenticator(keys, store)
    header = f"Bearer {_tokens(keys).issue(client, client.scopes)}"
    await authenticator.authenticate(header)
    await authenticator.authenticate(header)  # cached, but the client is still checked
    assert store.checks == 2
    store.clients[client.client_id] = client.rotated("y", datetime.now(UTC))
    with pytest.raises(Unauthenticated, match="revoked or its secret rotated"):
        await authenticator.authenticate(header)
    del store.clients[client.client_id]
    with pytest.raises(Unauthenticated, match="revoked or its secret rotated"):
        await authenticator.authenticate(header)


async def test_client_tokens_expire(keys: DevKeys) -> None:
    store = Store()
    client = _client()
    store.clients[client.client_id] = client
    signer = PrincipalSigner(keys.private_key_pem, keys.kid, "guildhall-gateway", "guildhall-api")
    expired = ClientTokens(
        signer, KeySet.from_file(keys.jwks_path), home_org_id="home", ttl_s=-60
    ).issue(client, client.scopes)
    with pytest.raises(Unauthenticated, match="ExpiredSignatureError"):
        await _authenticator(keys, store).authenticate(f"Bearer {expired}")


async def test_a_person_token_signed_for_the_client_issuer_is_not_a_client_token(
    keys: DevKeys,
) -> None:
    forged = mint_token(
        keys.private_key_pem,
        kid=keys.kid,
        subject="vera",
        kind=PrincipalKind.PARTNER,
        org_id="acme",
        issuer="guildhall-gateway",
        audience="guildhall-api",
    )
    with pytest.raises(Unauthenticated, match="not a client token"):
        await _authenticator(keys, Store()).authenticate(f"Bearer {forged}")


async def test_dev_tokens_only_when_the_dev_issuer_is_on(keys: DevKeys) -> None:
    token = mint_token(
        keys.private_key_pem,
        kid=keys.kid,
        subject="alice",
        kind=PrincipalKind.EMPLOYEE,
        org_id="home",
        roles=["admin"],
    )
    caller = await _authenticator(keys, Store()).authenticate(f"Bearer {token}")
    assert caller.principal.is_home_admin
    assert caller.client_id is None
    with pytest.raises(Unauthenticated, match="issuer this gateway does not accept"):
        await _authenticator(keys, Store(), dev=False).authenticate(f"Bearer {token}")


async def test_a_dev_employee_of_another_org_is_refused(keys: DevKeys) -> None:
    token = mint_token(
        keys.private_key_pem,
        kid=keys.kid,
        subject="mallory",
        kind=PrincipalKind.EMPLOYEE,
        org_id="acme",
    )
    with pytest.raises(Unauthenticated, match="home organisation"):
        await _authenticator(keys, Store()).authenticate(f"Bearer {token}")


@pytest.mark.parametrize(
    "header", [None, "", "Basic abc", "Bearer", "Bearer   ", "bearer x.y", "Bearer " + "a" * 20000]
)
async def test_malformed_headers_are_unauthenticated(keys: DevKeys, header: str | None) -> None:
    with pytest.raises(Unauthenticated):
        await _authenticator(keys, Store()).authenticate(header)


def test_bearer_scheme_is_case_insensitive() -> None:
    assert bearer_token("bearer abc") == "abc"
    assert bearer_token("  Bearer   abc ") == "abc"
