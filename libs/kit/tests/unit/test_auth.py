"""Access tokens: minted tokens verify; every kind of bad token is refused."""

from __future__ import annotations

from pathlib import Path

import jwt
import pytest

from guildhall_kit.auth import KeySet, PrincipalKind, TokenVerifier, mint_token
from guildhall_kit.auth.devkeys import ensure_dev_keys
from guildhall_kit.auth.principal import principal_scope, require_principal
from guildhall_kit.errors import PermissionDenied, Unauthenticated


@pytest.fixture
def keys(tmp_path: Path) -> tuple[bytes, TokenVerifier]:
    dev = ensure_dev_keys(tmp_path)
    verifier = TokenVerifier(
        KeySet.from_file(dev.jwks_path),
        issuer="guildhall-dev",
        audience="guildhall",
        home_org_id="home",
    )
    return dev.private_key_pem, verifier


def test_minted_token_verifies_to_principal(keys: tuple[bytes, TokenVerifier]) -> None:
    pem, verifier = keys
    token = mint_token(
        pem,
        kid="guildhall-dev-1",
        subject="p-alice",
        kind=PrincipalKind.PARTNER,
        org_id="org-acme",
        roles=["x"],
    )
    principal = verifier.verify(token)
    assert principal.subject == "p-alice"
    assert principal.is_partner
    assert principal.org_id == "org-acme"
    assert principal.roles == frozenset({"x"})


def test_expired_token_refused(keys: tuple[bytes, TokenVerifier]) -> None:
    pem, verifier = keys
    token = mint_token(
        pem,
        kid="guildhall-dev-1",
        subject="a",
        kind=PrincipalKind.EMPLOYEE,
        org_id="home",
        ttl_s=-120,
    )
    with pytest.raises(Unauthenticated, match="ExpiredSignatureError"):
        verifier.verify(token)


def test_token_from_other_key_refused(keys: tuple[bytes, TokenVerifier], tmp_path: Path) -> None:
    _, verifier = keys
    other = ensure_dev_keys(tmp_path / "other")
    forged = mint_token(
        other.private_key_pem,
        kid="guildhall-dev-1",
        subject="a",
        kind=PrincipalKind.EMPLOYEE,
        org_id="home",
    )
    with pytest.raises(Unauthenticated, match="InvalidSignatureError"):
        verifier.verify(forged)


def test_unknown_kid_and_wrong_audience_refused(keys: tuple[bytes, TokenVerifier]) -> None:
    pem, verifier = keys
    unknown = mint_token(pem, kid="nope", subject="a", kind=PrincipalKind.EMPLOYEE, org_id="home")
    with pytest.raises(Unauthenticated, match="unknown key"):
        verifier.verify(unknown)
    wrong_aud = mint_token(
        pem,
        kid="guildhall-dev-1",
        subject="a",
        kind=PrincipalKind.EMPLOYEE,
        org_id="home",
        audience="elsewhere",
    )
    with pytest.raises(Unauthenticated, match="InvalidAudienceError"):
        verifier.verify(wrong_aud)


def test_unsigned_token_refused(keys: tuple[bytes, TokenVerifier]) -> None:
    _, verifier = keys
    unsigned = jwt.encode(
        {
            "sub": "a",
            "kind": "employee",
            "org": "home",
            "iss": "guildhall-dev",
            "aud": "guildhall",
            "exp": 9999999999,
        },
        key="",
        algorithm="none",
        headers={"kid": "guildhall-dev-1"},
    )
    with pytest.raises(Unauthenticated):
        verifier.verify(unsigned)


def test_require_principal_checks_kind() -> None:
    from guildhall_kit.auth import Principal

    partner = Principal("p", PrincipalKind.PARTNER, "org-acme")
    with pytest.raises(Unauthenticated):
        require_principal()
    with principal_scope(partner), pytest.raises(PermissionDenied):
        require_principal(PrincipalKind.EMPLOYEE)
    with principal_scope(partner):
        assert require_principal(PrincipalKind.PARTNER) is partner


def test_employee_token_of_another_org_refused(keys: tuple[bytes, TokenVerifier]) -> None:
    pem, verifier = keys
    token = mint_token(
        pem, kid="guildhall-dev-1", subject="mallory", kind=PrincipalKind.EMPLOYEE, org_id="acme"
    )
    with pytest.raises(Unauthenticated, match="home organisation"):
        verifier.verify(token)


def test_partner_and_service_tokens_keep_their_org(keys: tuple[bytes, TokenVerifier]) -> None:
    pem, verifier = keys
    partner = mint_token(
        pem, kid="guildhall-dev-1", subject="vera", kind=PrincipalKind.PARTNER, org_id="acme"
    )
    service = mint_token(
        pem, kid="guildhall-dev-1", subject="post", kind=PrincipalKind.SERVICE, org_id="home"
    )
    assert verifier.verify(partner).org_id == "acme"
    assert verifier.verify(service).is_service
