"""The access model as a generated matrix, through the real community service.

Every row of the table in docs/access-model.md (space kind x state) is built
for real — communities created, people invited, pinholes proposed, granted,
opened, expired, closed, revoked, communities archived, an org suspended by a
profile event — through the service's gRPC API against Kafka and FerretDB.
Then every principal of the table asks CheckAccess about every action in
every space (concurrently), and each answer is asserted against the cell of
the table parsed from the document. GetSpace checks the visibility half: a
hidden space answers NOT_FOUND exactly as an id that does not exist.

The fixtures are built once per module; the checks run concurrently.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from guildhall.community.v1 import community_pb2 as pb
from guildhall_community.adapters.convert import ACTION
from guildhall_community.domain import Action
from guildhall_testsupport.community import (
    HIDDEN,
    PRINCIPALS,
    access_model_path,
    allowed,
    read_access_table,
)
from guildhall_testsupport.community.harness import (
    CommunityHarness,
    Person,
    employee,
    gather_limited,
    partner,
)

pytestmark = pytest.mark.integration

TABLE = read_access_table(access_model_path(Path(__file__).resolve()))

WHO: dict[str, Person] = {
    "home admin": employee("admin1", admin=True),
    "owner": employee("owner1"),
    "moderator": employee("mod1"),
    "member": employee("member1"),
    "non-member employee": employee("outsider1"),
    "partner viewer": partner("pv1", "org-viewer"),
    "partner contributor": partner("pc1", "org-contrib"),
    "partner, org not granted": partner("pn1", "org-other"),
    "partner, org suspended": partner("ps1", "org-susp"),
}
assert tuple(WHO) == PRINCIPALS

OWNER, MOD = WHO["owner"], WHO["moderator"]
GRANTS = (
    ("org-viewer", pb.GRANT_LEVEL_VIEWER),
    ("org-contrib", pb.GRANT_LEVEL_CONTRIBUTOR),
    ("org-susp", pb.GRANT_LEVEL_CONTRIBUTOR),
)
EXPIRY = timedelta(seconds=4)


@dataclass
class Matrix:
    harness: CommunityHarness
    spaces: dict[tuple[str, str], str]
    """(space, state) row of the table -> the id of the space built for it."""
    decisions: dict[tuple[str, str, str, Action], bool]
    """(space, state, principal, action) -> CheckAccess's answer."""
    visibility: dict[tuple[str, str, str], tuple[grpc.StatusCode, str]]
    """(space, state, principal) -> GetSpace's status code and details."""
    unknown: tuple[grpc.StatusCode, str]
    """GetSpace's answer for an id that does not exist."""
    listed: dict[tuple[str, Action], set[str]]
    """(principal, action) -> the space ids ListSpaces returns (every page)."""


async def _call(h: CommunityHarness, method: str, request: Any, who: Person) -> Any:
    return await getattr(h.stub, method)(request, metadata=h.auth(who), timeout=15)


async def _community(h: CommunityHarness, name: str, visibility: int) -> str:
    created = await _call(
        h,
        "CreateCommunity",
        pb.CreateCommunityRequest(name=name, visibility=visibility),  # type: ignore[arg-type]
        OWNER,
    )
    cid = str(created.community.community_id)
    await _call(
        h,
        "InviteMember",
        pb.InviteMemberRequest(community_id=cid, person_id="mod1", role=pb.ROLE_MODERATOR),
        OWNER,
    )
    await _call(
        h,
        "InviteMember",
        pb.InviteMemberRequest(community_id=cid, person_id="member1", role=pb.ROLE_MEMBER),
        OWNER,
    )
    return cid


async def _pinhole(
    h: CommunityHarness,
    cid: str,
    *,
    expires_at: datetime | None = None,
    grant: bool = True,
    open_it: bool = True,
) -> str:
    request = pb.ProposePinholeRequest(
        community_id=cid, title="Packaging with Acme", purpose="Agree the new pallet format."
    )
    if expires_at is not None:
        stamp = Timestamp()
        stamp.FromDatetime(expires_at)
        request.expires_at.CopyFrom(stamp)
    proposed = await _call(h, "ProposePinhole", request, MOD)
    pid = str(proposed.pinhole.pinhole_id)
    if grant:
        for org, level in GRANTS:
            await _call(
                h,
                "GrantPinhole",
                pb.GrantPinholeRequest(pinhole_id=pid, org_id=org, level=level),
                OWNER,
            )
    if open_it:
        await _call(h, "OpenPinhole", pb.OpenPinholeRequest(pinhole_id=pid), OWNER)
    return pid


async def _build_rows(
    h: CommunityHarness, visibility_name: str, visibility: int
) -> dict[tuple[str, str], str]:
    """Every row of one visibility: its two communities and seven pinholes."""
    expires_at = datetime.now(UTC) + EXPIRY
    active = await _community(h, f"{visibility_name} active", visibility)
    expired = await _pinhole(h, active, expires_at=expires_at)
    archived = await _community(h, f"{visibility_name} archived", visibility)
    in_archived = await _pinhole(h, archived)
    proposed = await _pinhole(h, active, open_it=False)
    opened = await _pinhole(h, active)
    closed = await _pinhole(h, active)
    await _call(h, "ClosePinhole", pb.ClosePinholeRequest(pinhole_id=closed), OWNER)
    revoked = await _pinhole(h, active)
    for org in ("org-viewer", "org-contrib"):
        await _call(h, "RevokeGrant", pb.RevokeGrantRequest(pinhole_id=revoked, org_id=org), OWNER)
    withdrawn = await _pinhole(h, active, grant=False, open_it=False)
    await _call(h, "ClosePinhole", pb.ClosePinholeRequest(pinhole_id=withdrawn), OWNER)
    await _call(h, "ArchiveCommunity", pb.ArchiveCommunityRequest(community_id=archived), OWNER)
    space = f"{visibility_name} community"
    pinhole = f"pinhole in {visibility_name} community"
    return {
        (space, "active"): active,
        (space, "archived"): archived,
        (pinhole, "proposed"): proposed,
        (pinhole, "open"): opened,
        (pinhole, "expired"): expired,
        (pinhole, "closed"): closed,
        (pinhole, "grant revoked"): revoked,
        (pinhole, "community archived"): in_archived,
        (pinhole, "withdrawn"): withdrawn,
    }


async def _list_spaces(h: CommunityHarness, who: Person, action: Action) -> set[str]:
    found: set[str] = set()
    token = ""
    while True:
        reply = await _call(
            h,
            "ListSpaces",
            pb.ListSpacesRequest(
                principal=who.principal, action=ACTION[action], page_size=7, page_token=token
            ),
            who,
        )
        found.update(a.space.space_id for a in reply.spaces)
        token = reply.next_page_token
        if not token:
            return found


async def _get_space(
    h: CommunityHarness, space_id: str, who: Person
) -> tuple[grpc.StatusCode, str]:
    try:
        await _call(h, "GetSpace", pb.GetSpaceRequest(space_id=space_id), who)
    except grpc.aio.AioRpcError as err:
        return err.code(), err.details() or ""
    return grpc.StatusCode.OK, ""


@pytest.fixture(scope="module")
async def matrix(infra: Any, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Matrix]:
    h = await CommunityHarness.start(
        kafka=infra.kafka_bootstrap_servers,
        mongo=infra.mongo_uri,
        keys_dir=tmp_path_factory.mktemp("keys"),
        name="matrix",
    )
    try:
        await h.register_people(WHO.values())
        await h.register_orgs("org-viewer", "org-contrib", "org-other", "org-susp")
        started = datetime.now(UTC)
        spaces: dict[tuple[str, str], str] = {}
        rows = await asyncio.gather(
            _build_rows(h, "open", pb.COMMUNITY_VISIBILITY_OPEN),
            _build_rows(h, "private", pb.COMMUNITY_VISIBILITY_PRIVATE),
            _build_rows(h, "secret", pb.COMMUNITY_VISIBILITY_SECRET),
        )
        for built in rows:
            spaces.update(built)
        assert set(spaces) == set(TABLE), "the fixtures do not build every row of the table"
        # Suspension arrives as a profile event, after the org got its grants.
        await h.suspend_org("org-susp")
        # Let the expiring pinholes lapse (no sweeper needed: decisions use the clock).
        await asyncio.sleep(max(0.0, (started + EXPIRY - datetime.now(UTC)).total_seconds()) + 0.3)

        cells = [
            (row, principal, action)
            for row in TABLE
            for principal in PRINCIPALS
            for action in Action
        ]
        answers = await gather_limited(
            [
                functools.partial(h.check, WHO[principal], spaces[row], ACTION[action])
                for row, principal, action in cells
            ]
        )
        decisions = {
            (row[0], row[1], principal, action): bool(answer)
            for (row, principal, action), answer in zip(cells, answers, strict=True)
        }
        seen = [(row, principal) for row in TABLE for principal in PRINCIPALS]
        statuses = await gather_limited(
            [
                functools.partial(_get_space, h, spaces[row], WHO[principal])
                for row, principal in seen
            ]
        )
        visibility = {
            (row[0], row[1], principal): status
            for (row, principal), status in zip(seen, statuses, strict=True)
        }
        unknown = await _get_space(h, "no-such-space", WHO["member"])
        asked = [(principal, action) for principal in PRINCIPALS for action in Action]
        lists = await gather_limited(
            [functools.partial(_list_spaces, h, WHO[p], a) for p, a in asked]
        )
        listed = dict(zip(asked, lists, strict=True))
        yield Matrix(h, spaces, decisions, visibility, unknown, listed)
    finally:
        await h.stop()


CELLS = [
    pytest.param(space, state, principal, action, id=f"{space}|{state}|{principal}|{action}")
    for (space, state) in TABLE
    for principal in PRINCIPALS
    for action in Action
]


@pytest.mark.parametrize(("space", "state", "principal", "action"), CELLS)
def test_check_access_answers_as_the_table_says(
    matrix: Matrix, space: str, state: str, principal: str, action: Action
) -> None:
    cell = TABLE[(space, state)][PRINCIPALS.index(principal)]
    assert matrix.decisions[(space, state, principal, action)] is (action in allowed(cell)), cell


SEEN = [
    pytest.param(space, state, principal, id=f"{space}|{state}|{principal}")
    for (space, state) in TABLE
    for principal in PRINCIPALS
]


@pytest.mark.parametrize(("space", "state", "principal"), SEEN)
def test_get_space_finds_exactly_the_visible_spaces(
    matrix: Matrix, space: str, state: str, principal: str
) -> None:
    cell = TABLE[(space, state)][PRINCIPALS.index(principal)]
    code, details = matrix.visibility[(space, state, principal)]
    if cell == HIDDEN:
        # Hidden answers exactly as an id that does not exist.
        space_id = matrix.spaces[(space, state)]
        unknown_code, unknown_details = matrix.unknown
        assert code is unknown_code is grpc.StatusCode.NOT_FOUND
        assert details.replace(space_id, "<id>") == unknown_details.replace("no-such-space", "<id>")
    else:
        assert code is grpc.StatusCode.OK, details


TAKING_PART = {p for p in PRINCIPALS if p not in {"home admin", "non-member employee"}}
"""Who belongs to every community built here, or has a grant: ListSpaces lists their spaces.
The home admin and the outsider belong to none (ListSpaces lists no directory)."""


@pytest.mark.parametrize("principal", PRINCIPALS)
@pytest.mark.parametrize("action", list(Action))
def test_list_spaces_lists_exactly_the_allowed_spaces_one_takes_part_in(
    matrix: Matrix, principal: str, action: Action
) -> None:
    expected = {
        space_id
        for (space, state), space_id in matrix.spaces.items()
        if matrix.decisions[(space, state, principal, action)]
    }
    if principal not in TAKING_PART:
        expected = set()
    assert matrix.listed[(principal, action)] == expected


def test_the_matrix_covers_every_cell() -> None:
    assert len(CELLS) == 27 * len(PRINCIPALS) * len(Action)
