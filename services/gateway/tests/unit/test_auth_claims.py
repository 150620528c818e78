"""The claim mapping: which claims of a provider's token make which principal."""

from __future__ import annotations

from typing import Any

import pytest

from guildhall_gateway.auth.claims import ClaimMapping, claim_at
from guildhall_kit.auth import PrincipalKind
from guildhall_kit.errors import Unauthenticated

KEYCLOAK = ClaimMapping(
    person="preferred_username",
    org="org",
    roles="realm_access.roles",
    admin_roles=frozenset({"guildhall-admin"}),
)


def test_dotted_paths_reach_nested_claims_and_dotted_names() -> None:
    claims = {"realm_access": {"roles": ["a"]}, "https://x.example/org": "acme"}
    assert claim_at(claims, "realm_access.roles") == ["a"]
    assert claim_at(claims, "https://x.example/org") == "acme"
    assert claim_at(claims, "realm_access.missing") is None
    assert claim_at(claims, "realm_access.roles.deeper") is None


def test_keycloak_style_employee_admin() -> None:
    claims = {
        "sub": "2f1c-uuid",
        "preferred_username": "alice",
        "org": "home",
        "realm_access": {"roles": ["guildhall-admin", "offline_access"]},
    }
    principal = KEYCLOAK.principal(claims, home_org_id="home")
    assert principal.subject == "alice"
    assert principal.kind is PrincipalKind.EMPLOYEE
    assert principal.org_id == "home"
    assert principal.roles == frozenset({"admin"})
    assert principal.is_home_admin


def test_partner_admin_is_admin_of_its_own_org_only() -> None:
    claims = {
        "preferred_username": "vera",
        "org": "acme",
        "realm_access": {"roles": ["guildhall-admin"]},
    }
    principal = KEYCLOAK.principal(claims, home_org_id="home")
    assert principal.kind is PrincipalKind.PARTNER
    assert principal.is_org_admin
    assert not principal.is_home_admin


def test_provider_roles_other_than_admin_are_dropped() -> None:
    claims = {"sub": "bob", "org": "home", "roles": "reader admin-ish writer"}
    assert ClaimMapping().principal(claims, home_org_id="home").roles == frozenset()
    claims["roles"] = "reader admin"
    assert ClaimMapping().principal(claims, home_org_id="home").roles == frozenset({"admin"})


def test_explicit_kind_claim_must_agree_with_the_home_org_rule() -> None:
    mapping = ClaimMapping(kind="kind")
    ok = mapping.principal({"sub": "bob", "org": "home", "kind": "employee"}, home_org_id="home")
    assert ok.is_employee
    with pytest.raises(Unauthenticated, match="home organisation"):
        mapping.principal({"sub": "bob", "org": "acme", "kind": "employee"}, home_org_id="home")
    with pytest.raises(Unauthenticated, match="must not name the home"):
        mapping.principal({"sub": "bob", "org": "home", "kind": "partner"}, home_org_id="home")
    with pytest.raises(Unauthenticated, match="employee or partner"):
        mapping.principal({"sub": "bob", "org": "home", "kind": "service"}, home_org_id="home")


@pytest.mark.parametrize(
    "claims",
    [
        {"org": "home"},
        {"sub": "", "org": "home"},
        {"sub": "Alice", "org": "home"},
        {"sub": "a" * 65, "org": "home"},
        {"sub": "al/../ice", "org": "home"},
        {"sub": {"$ne": 1}, "org": "home"},
        {"sub": "alice"},
        {"sub": "alice", "org": ["home"]},
    ],
)
def test_ids_that_break_the_contracts_id_rule_are_refused(claims: dict[str, Any]) -> None:
    with pytest.raises(Unauthenticated, match="is not a Guildhall"):
        ClaimMapping().principal(claims, home_org_id="home")


def test_split_setting() -> None:
    assert ClaimMapping.split(" admin, guildhall-admin ,,") == frozenset(
        {"admin", "guildhall-admin"}
    )
