"""The access decision beyond the matrix: ListSpaces, grants a partner sees, edge cases."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from guildhall_community.domain import (
    AccessFacts,
    Action,
    Community,
    CommunitySpace,
    CommunityState,
    Grant,
    GrantLevel,
    Membership,
    MembershipStatus,
    Pinhole,
    PinholeSpace,
    PinholeState,
    Principal,
    PrincipalKind,
    Role,
    Space,
    Visibility,
    allowed_actions,
    decide,
    facts_for,
    list_spaces,
    visible_grants,
)
from guildhall_community.domain.principal import require_employee
from guildhall_kit.errors import PermissionDenied

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def community(cid: str, visibility: Visibility = Visibility.PRIVATE) -> Community:
    return Community(
        id=cid,
        name=cid,
        description="",
        visibility=visibility,
        state=CommunityState.ACTIVE,
        tags=(),
        staff={"olga": Role.OWNER},
        created_by="olga",
        created_at=NOW,
        updated_at=NOW,
    )


def pinhole(pid: str, cid: str, state: PinholeState, **grants: GrantLevel) -> Pinhole:
    return Pinhole(
        id=pid,
        community_id=cid,
        title=pid,
        purpose="work",
        expires_at=None,
        state=state,
        grants={
            org: Grant(org_id=org, level=level, granted_by="olga", granted_at=NOW)
            for org, level in grants.items()
        },
        proposed_by="olga",
        proposed_at=NOW,
        opened_at=NOW if state is not PinholeState.PROPOSED else None,
    )


ADA = Principal("ada", PrincipalKind.EMPLOYEE, "home", is_home_admin=True)
MIA = Principal("mia", PrincipalKind.EMPLOYEE, "home")
PAT = Principal("pat", PrincipalKind.PARTNER, "acme")


def test_list_spaces_for_a_partner_shows_only_open_pinholes_granted_to_their_org() -> None:
    c1, c2 = community("c1"), community("c2", Visibility.SECRET)
    spaces: list[Space] = [
        CommunitySpace(c1),
        PinholeSpace(pinhole("p1", "c1", PinholeState.OPEN, acme=GrantLevel.VIEWER), c1),
        PinholeSpace(pinhole("p2", "c1", PinholeState.OPEN, globex=GrantLevel.VIEWER), c1),
        PinholeSpace(pinhole("p3", "c2", PinholeState.OPEN, acme=GrantLevel.CONTRIBUTOR), c2),
        PinholeSpace(pinhole("p4", "c2", PinholeState.PROPOSED, acme=GrantLevel.VIEWER), c2),
        PinholeSpace(pinhole("p5", "c2", PinholeState.CLOSED, acme=GrantLevel.VIEWER), c2),
    ]
    facts = AccessFacts(now=NOW)
    listed = list_spaces(PAT, [(s, facts) for s in spaces])
    assert [(a.space.space_id, sorted(a.actions)) for a in listed] == [
        ("p1", [Action.READ]),
        ("p3", sorted({Action.READ, Action.POST, Action.COMMENT})),
    ]
    postable = list_spaces(PAT, [(s, facts) for s in spaces], Action.POST)
    assert [a.space.space_id for a in postable] == ["p3"]
    suspended = AccessFacts(now=NOW, org_suspended=True)
    assert list_spaces(PAT, [(s, suspended) for s in spaces]) == []


def test_list_spaces_never_shows_what_check_access_refuses() -> None:
    c1 = community("c1")
    spaces: list[Space] = [
        CommunitySpace(c1),
        PinholeSpace(pinhole("p1", "c1", PinholeState.OPEN), c1),
        PinholeSpace(pinhole("p2", "c1", PinholeState.PROPOSED), c1),
    ]
    for who, facts in ((MIA, AccessFacts(now=NOW)), (ADA, AccessFacts(now=NOW))):
        listed = {a.space.space_id for a in list_spaces(who, [(s, facts) for s in spaces])}
        expected = {s.space_id for s in spaces if decide(who, s, Action.READ, facts)}
        assert listed == expected


def test_a_partner_sees_only_their_own_grant() -> None:
    p = pinhole(
        "p1", "c1", PinholeState.OPEN, globex=GrantLevel.VIEWER, acme=GrantLevel.CONTRIBUTOR
    )
    assert [g.org_id for g in visible_grants(PAT, p)] == ["acme"]
    assert [g.org_id for g in visible_grants(MIA, p)] == ["acme", "globex"]


def test_partner_facts_ignore_any_membership() -> None:
    c1 = community("c1", Visibility.OPEN)
    stray = Membership(
        community_id="c1",
        person_id="pat",
        status=MembershipStatus.ACTIVE,
        changed_at=NOW,
        changed_by="pat",
    )
    facts = facts_for(PAT, c1, stray, now=NOW)
    assert facts.role is None
    assert not decide(PAT, CommunitySpace(c1), Action.READ, facts)
    # Even facts built by hand with a role give a partner nothing outside a granted pinhole.
    assert allowed_actions(PAT, CommunitySpace(c1), AccessFacts(now=NOW, role=Role.OWNER)) == (
        frozenset()
    )


def test_a_home_admin_who_is_a_member_gets_both() -> None:
    c1 = community("c1")
    facts = AccessFacts(now=NOW, role=Role.MEMBER)
    assert allowed_actions(ADA, CommunitySpace(c1), facts) == frozenset(Action)


def test_staff_entry_counts_as_membership_between_two_writes() -> None:
    c1 = community("c1")
    ended = Membership(
        community_id="c1",
        person_id="olga",
        status=MembershipStatus.ENDED,
        changed_at=NOW,
        changed_by="olga",
    )
    assert c1.role_of("olga", ended) is Role.OWNER
    assert c1.role_of("mia", None) is None


def test_expiry_is_judged_by_the_facts_clock() -> None:
    c1 = community("c1")
    p = pinhole("p1", "c1", PinholeState.OPEN, acme=GrantLevel.VIEWER)
    p = replace(p, expires_at=NOW)
    space = PinholeSpace(p, c1)
    before = AccessFacts(now=NOW - timedelta(seconds=1))
    assert decide(PAT, space, Action.READ, before)
    assert not decide(PAT, space, Action.READ, AccessFacts(now=NOW))


def test_misuse_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="home administrators"):
        Principal("pat", PrincipalKind.PARTNER, "acme", is_home_admin=True)
    with pytest.raises(ValueError, match="subject"):
        Principal("", PrincipalKind.EMPLOYEE, "home")
    with pytest.raises(ValueError, match="timezone"):
        AccessFacts(now=datetime(2026, 1, 1))  # naive on purpose
    with pytest.raises(ValueError, match="belong together"):
        PinholeSpace(pinhole("p1", "c2", PinholeState.OPEN), community("c1"))


def test_employee_only_methods_refuse_partners_without_naming_anything() -> None:
    with pytest.raises(PermissionDenied) as caught:
        require_employee(PAT)
    assert caught.value.message == "partner users may not call this method"
    require_employee(MIA)
