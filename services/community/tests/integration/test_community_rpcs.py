"""The community service's other RPCs through the real service: listings and paging, names,
member counts, join requests, the open policy, and compare-and-set under concurrency.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from guildhall.community.v1 import community_pb2 as pb
from guildhall_community.adapters.repository import Repository
from guildhall_testsupport.community.harness import CommunityHarness, Person, employee, partner

pytestmark = pytest.mark.integration

OWNER = employee("rp-owner")
ADMIN = employee("rp-admin", admin=True)
OUTSIDER = employee("rp-outsider")
CROWD = [employee(f"rp-p{i:02d}") for i in range(24)]
ACME = partner("rp-acme-user", "rp-acme")


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
        await harness.register_people((OWNER, ADMIN, OUTSIDER, ACME, *CROWD))
        await harness.register_orgs("rp-acme")
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
    await asyncio.gather(
        *(call(h, "JoinCommunity", pb.JoinCommunityRequest(community_id=cid), p) for p in CROWD)
    )
    got = await call(h, "GetCommunity", pb.GetCommunityRequest(community_id=cid), CROWD[0])
    assert got.community.member_count == len(CROWD) + 1
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
    assert sorted(seen) == sorted([OWNER.subject, *(p.subject for p in CROWD)])
    assert len(seen) == len(set(seen))
    owners = await call(
        h, "ListMembers", pb.ListMembersRequest(community_id=cid, role=pb.ROLE_OWNER)
    )
    assert [m.person_id for m in owners.memberships] == [OWNER.subject]
    await asyncio.gather(
        *(
            call(h, "LeaveCommunity", pb.LeaveCommunityRequest(community_id=cid), p)
            for p in CROWD[:10]
        )
    )
    got = await call(h, "GetCommunity", pb.GetCommunityRequest(community_id=cid))
    assert got.community.member_count == len(CROWD) + 1 - 10


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


async def test_pinhole_listings_read_the_pinhole_index_and_start_up_repairs_it(
    h: CommunityHarness,
) -> None:
    """ListSpaces finds pinholes through ``pinhole_index`` (``_id`` reads), never lists a
    pinhole the index names but the pinhole document does not back, and the start-up
    repair restores entries a document was stored without."""
    cid = await create(h, "Indexed pinholes")
    granted, other = [
        (
            await call(
                h,
                "ProposePinhole",
                pb.ProposePinholeRequest(community_id=cid, title=title, purpose="Work."),
            )
        ).pinhole.pinhole_id
        for title in ("Granted", "Not granted")
    ]
    await call(
        h,
        "GrantPinhole",
        pb.GrantPinholeRequest(pinhole_id=granted, org_id="rp-acme", level=pb.GRANT_LEVEL_VIEWER),
    )
    for pid in (granted, other):
        await call(h, "OpenPinhole", pb.OpenPinholeRequest(pinhole_id=pid))

    async def partner_spaces() -> list[str]:
        reply = await call(
            h,
            "ListSpaces",
            pb.ListSpacesRequest(principal=ACME.principal, action=pb.ACTION_READ, page_size=100),
            ACME,
        )
        return [s.space.space_id for s in reply.spaces if s.space.space_id in (granted, other)]

    async def owner_pinholes() -> list[str]:
        reply = await call(h, "ListPinholes", pb.ListPinholesRequest(community_id=cid))
        return sorted(p.pinhole_id for p in reply.pinholes)

    assert await partner_spaces() == [granted]
    assert await owner_pinholes() == sorted([granted, other])

    index = h.running.ctx.db["pinhole_index"]
    # A stale entry (the org never had a grant on `other`) shows nothing.
    await index.update_one({"_id": "org:rp-acme"}, {"$addToSet": {"pinholes": other}})
    assert await partner_spaces() == [granted]

    # Documents stored without their entries are invisible to the listings ...
    await index.delete_many({"_id": {"$in": ["org:rp-acme", f"community:{cid}"]}})
    assert await partner_spaces() == []
    assert await owner_pinholes() == []
    # ... until the repair the service runs at start-up adds them back.
    repo = Repository(h.running.ctx.db, h.running.ctx.outbox())
    assert await repo.repair_pinhole_index() >= 2
    assert await partner_spaces() == [granted]
    assert await owner_pinholes() == sorted([granted, other])


async def test_member_lists_read_the_roster_and_start_up_builds_a_missing_one(
    h: CommunityHarness,
) -> None:
    """ListMembers pages through the roster (``_id`` reads): a member who left and came
    back is listed once, at the new join time; an entry no active membership backs is
    never listed; a database without a roster gets one at start-up."""
    cid = await create(h, "Rostered")
    crowd = CROWD[10:16]
    for person in crowd:
        await call(h, "JoinCommunity", pb.JoinCommunityRequest(community_id=cid), person)
    await call(h, "LeaveCommunity", pb.LeaveCommunityRequest(community_id=cid), crowd[0])
    await call(h, "JoinCommunity", pb.JoinCommunityRequest(community_id=cid), crowd[0])

    async def listed() -> list[str]:
        people: list[str] = []
        token = ""
        while True:
            page = await call(
                h,
                "ListMembers",
                pb.ListMembersRequest(community_id=cid, page_size=2, page_token=token),
            )
            people.extend(m.person_id for m in page.memberships)
            token = page.next_page_token
            if not token:
                return people

    expected = [OWNER.subject, *(p.subject for p in crowd[1:])]
    expected.append(crowd[0].subject)  # re-joined last
    assert await listed() == expected

    db = h.running.ctx.db
    days = await db["roster_days"].find_one({"_id": cid})
    assert days is not None
    day = days["days"][-1]
    stale = f"{0:013d}|{OUTSIDER.subject}"
    await db["roster"].update_one({"_id": f"{cid}:{day}"}, {"$addToSet": {"members": stale}})
    assert await listed() == expected

    await db["roster"].delete_many({})
    await db["roster_days"].delete_many({})
    assert await listed() == []
    repo = Repository(db, h.running.ctx.outbox())
    assert await repo.repair_roster() >= len(expected)
    assert await listed() == expected
    assert await repo.repair_roster() == 0  # only ever fills an empty roster


async def test_recount_corrects_a_drifted_member_count(h: CommunityHarness) -> None:
    cid = await create(h, "Recounted")
    for person in CROWD[16:19]:
        await call(h, "JoinCommunity", pb.JoinCommunityRequest(community_id=cid), person)
    await call(h, "LeaveCommunity", pb.LeaveCommunityRequest(community_id=cid), CROWD[16])
    communities = h.running.ctx.db["communities"]
    assert (await communities.find_one({"_id": cid}) or {})["member_count"] == 3
    # What a crash between a membership write and its $inc would leave behind.
    await communities.update_one({"_id": cid}, {"$set": {"member_count": 7}})
    repo = Repository(h.running.ctx.db, h.running.ctx.outbox())
    assert await repo.count_members(cid) == 3
    visited, corrected = await repo.recount_members("", 10_000)
    assert cid in visited
    assert corrected >= 1
    reply = await call(h, "GetCommunity", pb.GetCommunityRequest(community_id=cid))
    assert reply.community.member_count == 3
    _, again = await repo.recount_members("", 10_000)
    assert again == 0


async def test_directory_follows_renames_and_start_up_builds_a_missing_one(
    h: CommunityHarness,
) -> None:
    """ListCommunities reads the name directory (``_id`` reads): a renamed community is
    listed once under its new name, an archived one only on request, a stale entry
    never; a database without a directory gets one at start-up."""
    ids = [await create(h, f"Zephyr {i}") for i in range(5)]
    await call(
        h, "UpdateCommunity", pb.UpdateCommunityRequest(community_id=ids[1], name="Zephyr 9")
    )
    await call(h, "ArchiveCommunity", pb.ArchiveCommunityRequest(community_id=ids[3]))

    async def listed(archived: bool = False) -> list[str]:
        names: list[str] = []
        token = ""
        while True:
            page = await call(
                h,
                "ListCommunities",
                pb.ListCommunitiesRequest(
                    name_prefix="zephyr", include_archived=archived, page_size=2, page_token=token
                ),
            )
            names.extend(c.name for c in page.communities)
            token = page.next_page_token
            if not token:
                return names

    assert await listed() == ["Zephyr 0", "Zephyr 2", "Zephyr 4", "Zephyr 9"]
    assert await listed(archived=True) == [
        "Zephyr 0",
        "Zephyr 2",
        "Zephyr 3",
        "Zephyr 4",
        "Zephyr 9",
    ]

    directory = h.running.ctx.db["name_directory"]
    stale = f"zephyr 5\x00{ids[0]}"  # a name that community does not have
    await directory.update_one({"_id": "b:z"}, {"$addToSet": {"entries": stale}})
    assert await listed() == ["Zephyr 0", "Zephyr 2", "Zephyr 4", "Zephyr 9"]

    await directory.delete_many({})
    assert await listed() == []
    repo = Repository(h.running.ctx.db, h.running.ctx.outbox())
    assert await repo.repair_name_directory() >= 5
    assert await listed() == ["Zephyr 0", "Zephyr 2", "Zephyr 4", "Zephyr 9"]
    assert await repo.repair_name_directory() == 0
