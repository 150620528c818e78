"""The community service's other RPCs through the real service: listings and paging, names,
member counts, join requests, the open policy, and compare-and-set under concurrency.

The listings are queries on declared indexes (docs/adr/0009): member lists and the
directory page by keyset without gaps or duplicates while the data changes under them,
and pinholes are found by community and by granted org.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from guildhall.community.v1 import community_pb2 as pb
from guildhall_testsupport.community.harness import CommunityHarness, Person, employee, partner

pytestmark = pytest.mark.integration

OWNER = employee("rp-owner")
ADMIN = employee("rp-admin", admin=True)
OUTSIDER = employee("rp-outsider")
CROWD = [employee(f"rp-p{i:02d}") for i in range(40)]
ACME = partner("rp-acme-user", "rp-acme")
GLOBEX = partner("rp-globex-user", "rp-globex")


@pytest.fixture(scope="module")
async def h(
    infra: Any, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[CommunityHarness]:
    harness = await CommunityHarness.start(
        kafka=infra.kafka_bootstrap_servers,
        mongo=infra.mongo_uri,
        keys_dir=tmp_path_factory.mktemp("keys"),
        name="rpcs",
    )
    try:
        await harness.register_people((OWNER, ADMIN, OUTSIDER, ACME, GLOBEX, *CROWD))
        await harness.register_orgs("rp-acme", "rp-globex")
        yield harness
    finally:
        await harness.stop()


async def call(h: CommunityHarness, method: str, request: Any, who: Person = OWNER) -> Any:
    return await getattr(h.stub, method)(request, metadata=h.auth(who), timeout=15)


async def create(
    h: CommunityHarness,
    name: str,
    visibility: pb.CommunityVisibility.ValueType = pb.COMMUNITY_VISIBILITY_OPEN,
    who: Person = OWNER,
) -> str:
    reply = await call(
        h, "CreateCommunity", pb.CreateCommunityRequest(name=name, visibility=visibility), who
    )
    return str(reply.community.community_id)


async def code_of(h: CommunityHarness, method: str, request: Any, who: Person) -> grpc.StatusCode:
    try:
        await call(h, method, request, who)
    except grpc.aio.AioRpcError as err:
        return err.code()
    return grpc.StatusCode.OK


async def test_names_are_unique_case_insensitively_among_active_communities(
    h: CommunityHarness,
) -> None:
    cid = await create(h, "Quality Circle")
    taken = pb.CreateCommunityRequest(
        name="quality circle", visibility=pb.COMMUNITY_VISIBILITY_OPEN
    )
    assert await code_of(h, "CreateCommunity", taken, OUTSIDER) is grpc.StatusCode.ALREADY_EXISTS
    other = await create(h, "Other circle")
    rename = pb.UpdateCommunityRequest(community_id=other, name="QUALITY CIRCLE")
    assert await code_of(h, "UpdateCommunity", rename, OWNER) is grpc.StatusCode.ALREADY_EXISTS
    await call(h, "ArchiveCommunity", pb.ArchiveCommunityRequest(community_id=cid))
    assert await create(h, "Quality circle", who=OUTSIDER) != cid


async def test_expected_version_is_compare_and_set(h: CommunityHarness) -> None:
    cid = await create(h, "Versioned")
    stale = pb.UpdateCommunityRequest(community_id=cid, description="x", expected_version=7)
    assert await code_of(h, "UpdateCommunity", stale, OWNER) is grpc.StatusCode.ABORTED
    fresh = pb.UpdateCommunityRequest(community_id=cid, description="x", expected_version=1)
    reply = await call(h, "UpdateCommunity", fresh)
    assert (reply.community.version, reply.community.description) == (2, "x")


async def test_concurrent_joins_all_count_and_all_list_with_paging(h: CommunityHarness) -> None:
    cid = await create(h, "Crowded")
    crowd = CROWD[:24]
    await asyncio.gather(
        *(call(h, "JoinCommunity", pb.JoinCommunityRequest(community_id=cid), p) for p in crowd)
    )
    got = await call(h, "GetCommunity", pb.GetCommunityRequest(community_id=cid), CROWD[0])
    assert got.community.member_count == len(crowd) + 1
    assert got.my_membership.role == pb.ROLE_MEMBER
    seen: list[str] = []
    token = ""
    pages = 0
    while True:
        page = await call(
            h,
            "ListMembers",
            pb.ListMembersRequest(community_id=cid, page_size=7, page_token=token),
            OUTSIDER,
        )
        seen.extend(m.person_id for m in page.memberships)
        pages += 1
        token = page.next_page_token
        if not token:
            break
    assert pages == 4
    assert sorted(seen) == sorted([OWNER.subject, *(p.subject for p in crowd)])
    assert len(seen) == len(set(seen))
    owners = await call(
        h, "ListMembers", pb.ListMembersRequest(community_id=cid, role=pb.ROLE_OWNER)
    )
    assert [m.person_id for m in owners.memberships] == [OWNER.subject]
    await asyncio.gather(
        *(
            call(h, "LeaveCommunity", pb.LeaveCommunityRequest(community_id=cid), p)
            for p in crowd[:10]
        )
    )
    got = await call(h, "GetCommunity", pb.GetCommunityRequest(community_id=cid))
    assert got.community.member_count == len(crowd) + 1 - 10


async def test_two_owners_leaving_at_once_leave_one_owner(h: CommunityHarness) -> None:
    """The last-owner rule holds under concurrency: compare-and-set on the community."""
    cid = await create(h, "Two owners")
    second = CROWD[0]
    await call(
        h,
        "InviteMember",
        pb.InviteMemberRequest(community_id=cid, person_id=second.subject, role=pb.ROLE_MEMBER),
    )
    await call(
        h,
        "ChangeRole",
        pb.ChangeRoleRequest(community_id=cid, person_id=second.subject, role=pb.ROLE_OWNER),
    )
    codes = await asyncio.gather(
        code_of(h, "LeaveCommunity", pb.LeaveCommunityRequest(community_id=cid), OWNER),
        code_of(h, "LeaveCommunity", pb.LeaveCommunityRequest(community_id=cid), second),
    )
    assert sorted(c.name for c in codes) == ["FAILED_PRECONDITION", "OK"]
    # The refused leaver's first write (their membership document) was put back.
    owners = await call(
        h, "ListMembers", pb.ListMembersRequest(community_id=cid, role=pb.ROLE_OWNER), ADMIN
    )
    assert len(owners.memberships) == 1
    got = await call(h, "GetCommunity", pb.GetCommunityRequest(community_id=cid), ADMIN)
    assert got.community.member_count == 1


async def test_list_communities_hides_secret_ones_from_non_members_and_pages(
    h: CommunityHarness,
) -> None:
    names = [f"Zeta {i:02d}" for i in range(9)]
    ids = {}
    for i, name in enumerate(names):
        visibility = pb.COMMUNITY_VISIBILITY_SECRET if i % 3 == 0 else pb.COMMUNITY_VISIBILITY_OPEN
        ids[name] = await create(h, name, visibility)

    async def listing(who: Person) -> list[str]:
        found: list[str] = []
        token = ""
        while True:
            page = await call(
                h,
                "ListCommunities",
                pb.ListCommunitiesRequest(name_prefix="zeta", page_size=2, page_token=token),
                who,
            )
            found.extend(c.name for c in page.communities)
            token = page.next_page_token
            if not token:
                return found

    assert await listing(OWNER) == names
    assert await listing(ADMIN) == names
    assert await listing(OUTSIDER) == [n for i, n in enumerate(names) if i % 3 != 0]


async def test_my_communities_and_list_spaces_follow_membership(h: CommunityHarness) -> None:
    me = CROWD[5]
    joined = [await create(h, f"Mine {i}") for i in range(3)]
    for cid in joined:
        await call(h, "JoinCommunity", pb.JoinCommunityRequest(community_id=cid), me)
    mine = await call(h, "ListMyCommunities", pb.ListMyCommunitiesRequest(page_size=100), me)
    names = [c.community.name for c in mine.communities]
    assert [n for n in names if n.startswith("Mine ")] == ["Mine 0", "Mine 1", "Mine 2"]
    await call(h, "LeaveCommunity", pb.LeaveCommunityRequest(community_id=joined[1]), me)
    spaces = await call(
        h,
        "ListSpaces",
        pb.ListSpacesRequest(principal=me.principal, action=pb.ACTION_POST, page_size=100),
        me,
    )
    ids = [s.space.space_id for s in spaces.spaces]
    assert joined[0] in ids
    assert joined[2] in ids
    assert joined[1] not in ids
    assert ids == sorted(ids)
    entry = next(s for s in spaces.spaces if s.space.space_id == joined[0])
    assert list(entry.allowed_actions) == [pb.ACTION_READ, pb.ACTION_POST, pb.ACTION_COMMENT]


async def test_join_requests_are_listed_and_decided(h: CommunityHarness) -> None:
    cid = await create(h, "Private club", pb.COMMUNITY_VISIBILITY_PRIVATE)
    asking = CROWD[10:13]
    for person in asking:
        await call(
            h,
            "RequestMembership",
            pb.RequestMembershipRequest(community_id=cid, message=f"I am {person.subject}"),
            person,
        )
    assert (
        await code_of(
            h, "ListJoinRequests", pb.ListJoinRequestsRequest(community_id=cid), asking[0]
        )
        is grpc.StatusCode.PERMISSION_DENIED
    )
    pending = await call(
        h,
        "ListJoinRequests",
        pb.ListJoinRequestsRequest(community_id=cid, state=pb.JOIN_REQUEST_STATE_PENDING),
    )
    assert [r.person_id for r in pending.join_requests] == [p.subject for p in asking]
    await call(
        h,
        "ApproveJoinRequest",
        pb.ApproveJoinRequestRequest(community_id=cid, person_id=asking[0].subject),
    )
    rejected = await call(
        h,
        "RejectJoinRequest",
        pb.RejectJoinRequestRequest(community_id=cid, person_id=asking[1].subject, reason="Full"),
    )
    assert rejected.join_request.state == pb.JOIN_REQUEST_STATE_REJECTED
    assert rejected.join_request.decision_reason == "Full"
    left = await call(
        h,
        "ListJoinRequests",
        pb.ListJoinRequestsRequest(community_id=cid, state=pb.JOIN_REQUEST_STATE_PENDING),
    )
    assert [r.person_id for r in left.join_requests] == [asking[2].subject]
    assert await h.check(asking[0], cid, pb.ACTION_POST)
    assert not await h.check(asking[1], cid, pb.ACTION_READ)


async def test_list_pinholes_shows_proposals_to_staff_only(h: CommunityHarness) -> None:
    cid = await create(h, "Pinholes listed")
    member = CROWD[20]
    await call(h, "JoinCommunity", pb.JoinCommunityRequest(community_id=cid), member)
    ids = []
    for title in ("First", "Second", "Third"):
        reply = await call(
            h,
            "ProposePinhole",
            pb.ProposePinholeRequest(community_id=cid, title=title, purpose="Work."),
        )
        ids.append(reply.pinhole.pinhole_id)
    await call(h, "OpenPinhole", pb.OpenPinholeRequest(pinhole_id=ids[1]))
    staff = await call(h, "ListPinholes", pb.ListPinholesRequest(community_id=cid, page_size=2))
    rest = await call(
        h,
        "ListPinholes",
        pb.ListPinholesRequest(community_id=cid, page_size=2, page_token=staff.next_page_token),
    )
    assert [p.title for p in [*staff.pinholes, *rest.pinholes]] == ["Third", "Second", "First"]
    seen_by_member = await call(h, "ListPinholes", pb.ListPinholesRequest(community_id=cid), member)
    assert [p.title for p in seen_by_member.pinholes] == ["Second"]
    open_only = await call(
        h, "ListPinholes", pb.ListPinholesRequest(community_id=cid, state=pb.PINHOLE_STATE_OPEN)
    )
    assert [p.pinhole_id for p in open_only.pinholes] == [ids[1]]


async def test_admin_only_policy_keeps_opening_and_granting_for_home_admins(
    infra: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    h = await CommunityHarness.start(
        kafka=infra.kafka_bootstrap_servers,
        mongo=infra.mongo_uri,
        keys_dir=tmp_path_factory.mktemp("keys"),
        name="policy",
        pinhole_open_policy="admin_only",
    )
    try:
        await h.register_orgs("rp-acme")
        cid = await create(h, "Policy")
        pid = (
            await call(
                h,
                "ProposePinhole",
                pb.ProposePinholeRequest(community_id=cid, title="T", purpose="P"),
            )
        ).pinhole.pinhole_id
        grant = pb.GrantPinholeRequest(
            pinhole_id=pid, org_id="rp-acme", level=pb.GRANT_LEVEL_VIEWER
        )
        opening = pb.OpenPinholeRequest(pinhole_id=pid)
        assert await code_of(h, "OpenPinhole", opening, OWNER) is grpc.StatusCode.PERMISSION_DENIED
        assert await code_of(h, "GrantPinhole", grant, OWNER) is grpc.StatusCode.PERMISSION_DENIED
        await call(h, "GrantPinhole", grant, ADMIN)
        await call(h, "OpenPinhole", opening, ADMIN)
        assert await h.check(ACME, pid, pb.ACTION_READ)
        # Reducing exposure never waits for an admin.
        await call(h, "RevokeGrant", pb.RevokeGrantRequest(pinhole_id=pid, org_id="rp-acme"))
        assert not await h.check(ACME, pid, pb.ACTION_READ)
        await call(h, "ClosePinhole", pb.ClosePinholeRequest(pinhole_id=pid))
    finally:
        await h.stop()


async def listing(
    h: CommunityHarness, method: str, make: Any, field: str, who: Person = OWNER
) -> list[Any]:
    """Every item of a paged listing, page by page (``make(token)`` builds a request)."""
    items: list[Any] = []
    token = ""
    while True:
        page = await call(h, method, make(token), who)
        items.extend(getattr(page, field))
        token = page.next_page_token
        if not token:
            return items


async def test_member_pages_have_no_gaps_or_duplicates_while_members_come_and_go(
    h: CommunityHarness,
) -> None:
    """Keyset pages on (join time, person): whoever stays is listed once, in join order;
    whoever joins while a reader pages is reached at the end; whoever leaves before the
    reader gets to them is not listed, and nobody is listed twice."""
    cid = await create(h, "Busy")
    first = CROWD[24:34]
    for person in first:  # one after the other: join times in this order
        await call(h, "JoinCommunity", pb.JoinCommunityRequest(community_id=cid), person)
    joining = CROWD[34:38]
    early_leaver, late_leavers = first[0], first[5:8]
    listed: list[Any] = []
    token = ""
    step = 0
    while True:
        if step < len(joining):
            await call(h, "JoinCommunity", pb.JoinCommunityRequest(community_id=cid), joining[step])
        if step == 2:  # pages 1-2 listed the owner and first[0:5]
            for person in (early_leaver, *late_leavers):
                await call(h, "LeaveCommunity", pb.LeaveCommunityRequest(community_id=cid), person)
        page = await call(
            h,
            "ListMembers",
            pb.ListMembersRequest(community_id=cid, page_size=3, page_token=token),
            OUTSIDER,
        )
        listed.extend(page.memberships)
        token = page.next_page_token
        step += 1
        if not token:
            break
    people = [m.person_id for m in listed]
    assert len(people) == len(set(people))
    stayed = [OWNER, *(p for p in first if p not in late_leavers)]
    assert {p.subject for p in stayed} <= set(people)  # early_leaver was listed before leaving
    assert not {p.subject for p in late_leavers} & set(people)
    assert people[-len(joining) :] == [p.subject for p in joining]
    order = [(m.joined_at.ToMilliseconds(), m.person_id) for m in listed]
    assert order == sorted(order)
    # The next reader sees exactly who is a member now, in the same order.
    now = await listing(
        h,
        "ListMembers",
        lambda t: pb.ListMembersRequest(community_id=cid, page_size=4, page_token=t),
        "memberships",
    )
    assert [m.person_id for m in now] == [p for p in people if p != early_leaver.subject]
    got = await call(h, "GetCommunity", pb.GetCommunityRequest(community_id=cid))
    assert got.community.member_count == len(now)


async def test_member_lists_filter_by_role_with_the_staff_entry_deciding(
    h: CommunityHarness,
) -> None:
    cid = await create(h, "Roles listed")
    mods = CROWD[30:32]
    for person in mods:
        await call(
            h,
            "InviteMember",
            pb.InviteMemberRequest(community_id=cid, person_id=person.subject, role=pb.ROLE_MEMBER),
        )
    plain = CROWD[32:35]
    for person in plain:
        await call(h, "JoinCommunity", pb.JoinCommunityRequest(community_id=cid), person)
    for person in mods:  # promoted after joining: their join time stays
        await call(
            h,
            "ChangeRole",
            pb.ChangeRoleRequest(
                community_id=cid, person_id=person.subject, role=pb.ROLE_MODERATOR
            ),
        )

    async def with_role(role: pb.Role.ValueType) -> list[tuple[str, int]]:
        found = await listing(
            h,
            "ListMembers",
            lambda t: pb.ListMembersRequest(community_id=cid, role=role, page_size=1, page_token=t),
            "memberships",
        )
        return [(m.person_id, m.role) for m in found]

    assert await with_role(pb.ROLE_OWNER) == [(OWNER.subject, pb.ROLE_OWNER)]
    assert await with_role(pb.ROLE_MODERATOR) == [(p.subject, pb.ROLE_MODERATOR) for p in mods]
    assert await with_role(pb.ROLE_MEMBER) == [(p.subject, pb.ROLE_MEMBER) for p in plain]
    everyone = await with_role(pb.ROLE_UNSPECIFIED)
    assert [p for p, _ in everyone] == [OWNER.subject, *(p.subject for p in (*mods, *plain))]
    # A token carries its filter: it does not resume a listing with another one.
    first = await call(
        h, "ListMembers", pb.ListMembersRequest(community_id=cid, role=pb.ROLE_MEMBER, page_size=1)
    )
    other = pb.ListMembersRequest(community_id=cid, page_token=first.next_page_token)
    assert await code_of(h, "ListMembers", other, OWNER) is grpc.StatusCode.INVALID_ARGUMENT


async def test_join_requests_page_oldest_first(h: CommunityHarness) -> None:
    cid = await create(h, "Requests paged", pb.COMMUNITY_VISIBILITY_PRIVATE)
    asking = CROWD[20:26]
    for person in asking:
        await call(h, "RequestMembership", pb.RequestMembershipRequest(community_id=cid), person)
    await call(
        h,
        "RejectJoinRequest",
        pb.RejectJoinRequestRequest(community_id=cid, person_id=asking[2].subject),
    )

    async def requests(state: pb.JoinRequestState.ValueType) -> list[str]:
        found = await listing(
            h,
            "ListJoinRequests",
            lambda t: pb.ListJoinRequestsRequest(
                community_id=cid, state=state, page_size=2, page_token=t
            ),
            "join_requests",
        )
        return [r.person_id for r in found]

    assert await requests(pb.JOIN_REQUEST_STATE_UNSPECIFIED) == [p.subject for p in asking]
    assert await requests(pb.JOIN_REQUEST_STATE_PENDING) == [
        p.subject for p in asking if p is not asking[2]
    ]
    assert await requests(pb.JOIN_REQUEST_STATE_REJECTED) == [asking[2].subject]


async def test_directory_orders_by_name_then_id_with_its_filters_and_pages(
    h: CommunityHarness,
) -> None:
    """By case-folded name, then id; a name shared by an archived and an active community
    (the keyset's tie) pages without gaps; the visibility and archived filters; a prefix
    in any case; a token resumes only the listing (and filters) it came from."""
    alpha = await create(h, "kappa Alpha", pb.COMMUNITY_VISIBILITY_PRIVATE)
    beta = await create(h, "Kappa beta")
    gamma = await create(h, "KAPPA gamma", pb.COMMUNITY_VISIBILITY_SECRET)
    old_delta = await create(h, "Kappa delta")
    await call(h, "ArchiveCommunity", pb.ArchiveCommunityRequest(community_id=old_delta))
    delta = await create(h, "kappa delta")  # the name is free again, and sorts the same
    assert old_delta < delta

    async def ids(who: Person = OWNER, size: int = 1, **filters: Any) -> list[str]:
        found = await listing(
            h,
            "ListCommunities",
            lambda t: pb.ListCommunitiesRequest(page_size=size, page_token=t, **filters),
            "communities",
            who,
        )
        return [c.community_id for c in found]

    assert await ids(name_prefix="kappa") == [alpha, beta, delta, gamma]
    assert await ids(name_prefix="KAPPA", size=3) == [alpha, beta, delta, gamma]
    assert await ids(name_prefix="kappa", include_archived=True) == [
        alpha,
        beta,
        old_delta,
        delta,
        gamma,
    ]
    assert await ids(name_prefix="kappa", visibility=pb.COMMUNITY_VISIBILITY_OPEN) == [
        beta,
        delta,
    ]
    assert await ids(
        name_prefix="kappa", visibility=pb.COMMUNITY_VISIBILITY_OPEN, include_archived=True
    ) == [beta, old_delta, delta]
    assert await ids(name_prefix="kappa d", include_archived=True) == [old_delta, delta]
    assert await ids(OUTSIDER, name_prefix="kappa") == [alpha, beta, delta]
    assert await ids(ADMIN, name_prefix="kappa") == [alpha, beta, delta, gamma]
    # Without a prefix the same communities come in the same order among all others.
    everything = await ids(size=100)
    assert [c for c in everything if c in {alpha, beta, gamma, delta}] == [
        alpha,
        beta,
        delta,
        gamma,
    ]
    first = await call(
        h, "ListCommunities", pb.ListCommunitiesRequest(name_prefix="kappa", page_size=1)
    )
    other = pb.ListCommunitiesRequest(
        name_prefix="kappa", include_archived=True, page_token=first.next_page_token
    )
    assert await code_of(h, "ListCommunities", other, OWNER) is grpc.StatusCode.INVALID_ARGUMENT


async def test_pinholes_are_found_by_community_and_by_granted_org(h: CommunityHarness) -> None:
    """ListSpaces: a partner user gets exactly the open pinholes granted to their org; a
    member the pinholes of their communities; closing and revoking take effect at once."""
    c1 = await create(h, "Org pinholes one")
    c2 = await create(h, "Org pinholes two", pb.COMMUNITY_VISIBILITY_PRIVATE)
    member = CROWD[36]
    await call(h, "JoinCommunity", pb.JoinCommunityRequest(community_id=c1), member)

    async def pinhole(cid: str, title: str, grants: dict[str, int], *, opened: bool = True) -> str:
        pid = str(
            (
                await call(
                    h,
                    "ProposePinhole",
                    pb.ProposePinholeRequest(community_id=cid, title=title, purpose="Work."),
                )
            ).pinhole.pinhole_id
        )
        for org, level in grants.items():
            await call(
                h,
                "GrantPinhole",
                pb.GrantPinholeRequest(pinhole_id=pid, org_id=org, level=level),  # type: ignore[arg-type]
            )
        if opened:
            await call(h, "OpenPinhole", pb.OpenPinholeRequest(pinhole_id=pid))
        return pid

    viewer, contributor = pb.GRANT_LEVEL_VIEWER, pb.GRANT_LEVEL_CONTRIBUTOR
    p1 = await pinhole(c1, "Acme only", {"rp-acme": viewer})
    p2 = await pinhole(c2, "Both", {"rp-acme": contributor, "rp-globex": viewer})
    p3 = await pinhole(c1, "Globex only", {"rp-globex": viewer})
    p4 = await pinhole(c2, "Proposed", {"rp-acme": viewer}, opened=False)
    p5 = await pinhole(c1, "Revoked", {"rp-acme": viewer})
    await call(h, "RevokeGrant", pb.RevokeGrantRequest(pinhole_id=p5, org_id="rp-acme"))
    ours = {c1, c2, p1, p2, p3, p4, p5}

    async def spaces(who: Person) -> dict[str, list[int]]:
        found = await listing(
            h,
            "ListSpaces",
            lambda t: pb.ListSpacesRequest(
                principal=who.principal, action=pb.ACTION_READ, page_size=2, page_token=t
            ),
            "spaces",
            who,
        )
        return {
            s.space.space_id: list(s.allowed_actions) for s in found if s.space.space_id in ours
        }

    acme = await spaces(ACME)
    assert acme == {
        p1: [pb.ACTION_READ],
        p2: [pb.ACTION_READ, pb.ACTION_POST, pb.ACTION_COMMENT],
    }
    assert set(await spaces(GLOBEX)) == {p2, p3}
    assert set(await spaces(member)) == {c1, p1, p3, p5}
    assert set(await spaces(OWNER)) == ours  # staff see the proposal too
    await call(h, "ClosePinhole", pb.ClosePinholeRequest(pinhole_id=p2))
    assert set(await spaces(ACME)) == {p1}
    assert set(await spaces(GLOBEX)) == {p3}
    await call(h, "LeaveCommunity", pb.LeaveCommunityRequest(community_id=c1), member)
    assert await spaces(member) == {}


async def test_no_hand_made_index_is_written(h: CommunityHarness) -> None:
    """The collections earlier versions kept beside the data (docs/adr/0009, "Migration")
    are neither created nor written: listings are queries on declared indexes."""
    names = set(await h.running.ctx.db.list_collection_names())
    assert {"communities", "memberships", "pinholes"} <= names
    assert not {"member_index", "pinhole_index", "roster", "roster_days", "name_directory"} & names
