"""The access model as a generated matrix.

Every principal kind x every space kind and state x every action is checked
against EXPECTED, a table written here as data, independently of the code.
docs/access-model.md carries the same table for people; the first test parses
it and requires it to equal EXPECTED, so the written model, this test and the
code cannot drift apart.

Each cell is checked three ways: ``decide`` gives the expected answer,
``can_see`` the expected visibility, and the funnel raises what the model
says: nothing when allowed, PermissionDenied when the space is visible but the
action is not allowed, NotFound — the very error a missing id gets — when the
space is hidden.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

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
    access_community,
    access_pinhole,
    can_see,
    decide,
    facts_for,
    missing_community,
    missing_pinhole,
)
from guildhall_kit.errors import NotFound, PermissionDenied
from guildhall_testsupport.community import (
    LETTERS,
    PRINCIPALS,
    access_model_path,
    read_access_table,
)

DOC = access_model_path(Path(__file__).resolve())

# (space, state) -> one cell per principal, in PRINCIPALS order.
# Cells: letters of the allowed actions; "none" = visible, nothing allowed
# (PERMISSION_DENIED); "hidden" = invisible (NOT_FOUND).
_H = "hidden"
_PARTNERS_HIDDEN = (_H, _H, _H, _H)


def _pinhole_rows(parent: str, outsider_reads: bool) -> dict[tuple[str, str], tuple[str, ...]]:
    space = f"pinhole in {parent} community"
    outsider = "R" if outsider_reads else _H
    return {
        (space, "proposed"): ("RMA", "RMA", "RM", _H, _H, *_PARTNERS_HIDDEN),
        (space, "open"): ("RMA", "RPCMA", "RPCM", "RPC", outsider, "R", "RPC", _H, _H),
        (space, "expired"): ("RMA", "R", "R", "R", outsider, *_PARTNERS_HIDDEN),
        (space, "closed"): ("RMA", "R", "R", "R", outsider, *_PARTNERS_HIDDEN),
        (space, "grant revoked"): ("RMA", "RPCMA", "RPCM", "RPC", outsider, *_PARTNERS_HIDDEN),
        (space, "community archived"): ("RMA", "R", "R", "R", outsider, *_PARTNERS_HIDDEN),
        (space, "withdrawn"): ("RMA", "R", "R", _H, _H, *_PARTNERS_HIDDEN),
    }


EXPECTED: dict[tuple[str, str], tuple[str, ...]] = {
    ("open community", "active"): ("RMA", "RPCMA", "RPCM", "RPC", "R", *_PARTNERS_HIDDEN),
    ("open community", "archived"): ("RMA", "R", "R", "R", "R", *_PARTNERS_HIDDEN),
    ("private community", "active"): ("RMA", "RPCMA", "RPCM", "RPC", "none", *_PARTNERS_HIDDEN),
    ("private community", "archived"): ("RMA", "R", "R", "R", "none", *_PARTNERS_HIDDEN),
    ("secret community", "active"): ("RMA", "RPCMA", "RPCM", "RPC", _H, *_PARTNERS_HIDDEN),
    ("secret community", "archived"): ("RMA", "R", "R", "R", _H, *_PARTNERS_HIDDEN),
    **_pinhole_rows("open", outsider_reads=True),
    **_pinhole_rows("private", outsider_reads=False),
    **_pinhole_rows("secret", outsider_reads=False),
}


# ------------------------------------------------------------ the document


def test_the_document_states_exactly_the_tested_table() -> None:
    assert read_access_table(DOC) == EXPECTED


def test_every_cell_is_well_formed() -> None:
    for cells in EXPECTED.values():
        assert len(cells) == len(PRINCIPALS)
        for cell in cells:
            assert cell in {"none", "hidden"} or (cell and set(cell) <= set(LETTERS)), cell


# ------------------------------------------------------------ the scenario

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
EARLIER = NOW - timedelta(days=30)
HOME = "home"
COMMUNITY_ID = "c1"
PINHOLE_ID = "p1"


@dataclass(frozen=True)
class Who:
    principal: Principal
    membership: Membership | None
    org_suspended: bool = False


def _employee(subject: str, *, admin: bool = False) -> Principal:
    return Principal(subject, PrincipalKind.EMPLOYEE, HOME, is_home_admin=admin)


def _partner(subject: str, org: str) -> Principal:
    return Principal(subject, PrincipalKind.PARTNER, org)


def _active(person: str) -> Membership:
    return Membership(
        community_id=COMMUNITY_ID,
        person_id=person,
        status=MembershipStatus.ACTIVE,
        changed_at=EARLIER,
        changed_by=person,
        joined_at=EARLIER,
    )


WHO: dict[str, Who] = {
    "home admin": Who(_employee("admin1", admin=True), None),
    "owner": Who(_employee("owner1"), _active("owner1")),
    "moderator": Who(_employee("mod1"), _active("mod1")),
    "member": Who(_employee("member1"), _active("member1")),
    "non-member employee": Who(_employee("outsider1"), None),
    "partner viewer": Who(_partner("pv1", "org-viewer"), None),
    "partner contributor": Who(_partner("pc1", "org-contrib"), None),
    "partner, org not granted": Who(_partner("pn1", "org-other"), None),
    "partner, org suspended": Who(_partner("ps1", "org-susp"), None, org_suspended=True),
}
assert tuple(WHO) == PRINCIPALS


def _community(visibility: Visibility, state: CommunityState) -> Community:
    return Community(
        id=COMMUNITY_ID,
        name="Supply chain",
        description="",
        visibility=visibility,
        state=state,
        tags=(),
        staff={"owner1": Role.OWNER, "mod1": Role.MODERATOR},
        created_by="owner1",
        created_at=EARLIER,
        updated_at=EARLIER,
    )


def _grant(org: str, level: GrantLevel) -> Grant:
    return Grant(org_id=org, level=level, granted_by="owner1", granted_at=EARLIER)


ALL_GRANTS = {
    "org-viewer": _grant("org-viewer", GrantLevel.VIEWER),
    "org-contrib": _grant("org-contrib", GrantLevel.CONTRIBUTOR),
    "org-susp": _grant("org-susp", GrantLevel.CONTRIBUTOR),
}


def _pinhole(
    state: PinholeState,
    *,
    opened: bool,
    expires_at: datetime | None = None,
    grants: dict[str, Grant] | None = None,
) -> Pinhole:
    return Pinhole(
        id=PINHOLE_ID,
        community_id=COMMUNITY_ID,
        title="Packaging redesign with Acme",
        purpose="Agree the new pallet format.",
        expires_at=expires_at if expires_at is not None else NOW + timedelta(days=30),
        state=state,
        grants=ALL_GRANTS if grants is None else grants,
        proposed_by="mod1",
        proposed_at=EARLIER,
        opened_by="owner1" if opened else None,
        opened_at=EARLIER if opened else None,
        closed_by="owner1" if state is PinholeState.CLOSED else None,
        closed_at=NOW - timedelta(days=1) if state is PinholeState.CLOSED else None,
    )


def _space(space: str, state: str) -> Space:
    if space.endswith(" community") and not space.startswith("pinhole"):
        visibility = Visibility(space.removesuffix(" community"))
        return CommunitySpace(_community(visibility, CommunityState(state)))
    visibility = Visibility(space.removeprefix("pinhole in ").removesuffix(" community"))
    community = _community(visibility, CommunityState.ACTIVE)
    match state:
        case "proposed":
            pinhole = _pinhole(PinholeState.PROPOSED, opened=False)
        case "open":
            pinhole = _pinhole(PinholeState.OPEN, opened=True)
        case "expired":
            pinhole = _pinhole(PinholeState.OPEN, opened=True, expires_at=NOW - timedelta(hours=1))
        case "closed":
            pinhole = _pinhole(PinholeState.CLOSED, opened=True)
        case "grant revoked":
            revoked = {"org-susp": ALL_GRANTS["org-susp"]}
            pinhole = _pinhole(PinholeState.OPEN, opened=True, grants=revoked)
        case "community archived":
            community = _community(visibility, CommunityState.ARCHIVED)
            pinhole = _pinhole(PinholeState.OPEN, opened=True)
        case "withdrawn":
            pinhole = _pinhole(PinholeState.CLOSED, opened=False)
        case _:
            raise AssertionError(f"unknown pinhole state {state!r}")
    return PinholeSpace(pinhole, community)


def _facts(who: Who, space: Space) -> AccessFacts:
    return facts_for(
        who.principal,
        space.community,
        who.membership,
        now=NOW,
        org_suspended=who.org_suspended,
    )


CASES = [
    pytest.param(space, state, principal, action, id=f"{space}|{state}|{principal}|{action}")
    for (space, state) in EXPECTED
    for principal in PRINCIPALS
    for action in Action
]


@pytest.mark.parametrize(("space_kind", "state", "principal", "action"), CASES)
def test_cell(space_kind: str, state: str, principal: str, action: Action) -> None:
    cell = EXPECTED[(space_kind, state)][PRINCIPALS.index(principal)]
    visible = cell != "hidden"
    allowed = visible and cell != "none" and any(LETTERS[c] is action for c in cell)

    who = WHO[principal]
    space = _space(space_kind, state)
    facts = _facts(who, space)

    assert decide(who.principal, space, action, facts) is allowed
    assert can_see(who.principal, space, facts) is visible

    def through_funnel() -> None:
        if isinstance(space, CommunitySpace):
            access_community(who.principal, space.community, facts, action)
        else:
            access_pinhole(who.principal, space.pinhole, space.community, facts, action)

    if allowed:
        through_funnel()
    elif visible:
        with pytest.raises(PermissionDenied):
            through_funnel()
    else:
        with pytest.raises(NotFound) as caught:
            through_funnel()
        missing = (
            missing_community(space.space_id)
            if isinstance(space, CommunitySpace)
            else missing_pinhole(space.space_id)
        )
        # Hidden answers exactly as an id that does not exist.
        assert (type(caught.value), str(caught.value)) == (type(missing), str(missing))


def test_the_matrix_covers_every_combination() -> None:
    assert len(CASES) == 27 * len(PRINCIPALS) * len(Action)
