"""Events through the real service: each state change publishes exactly one event, with the
right type, subject and payload; a request that changes nothing publishes nothing;
restarting the service in between loses none. Order: each stored document's events in
the order written; one person's membership events in the order of membership_version.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from google.protobuf.message import Message

from guildhall.community.v1 import community_pb2 as pb
from guildhall.community.v1 import events_pb2 as ev
from guildhall_kit.bus import Event
from guildhall_testsupport.community.harness import CommunityHarness, Person, employee, partner

pytestmark = pytest.mark.integration

OWNER = employee("ev-owner")
BOB = employee("ev-bob")
CAROL = employee("ev-carol")
ACME = partner("ev-acme-user", "ev-acme")


@pytest.fixture
async def h(
    infra: Any, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[CommunityHarness]:
    harness = await CommunityHarness.start(
        kafka=infra.kafka_bootstrap_servers,
        mongo=infra.mongo_uri,
        keys_dir=tmp_path_factory.mktemp("keys"),
        name="events",
    )
    try:
        await harness.register_people((OWNER, BOB, CAROL, ACME))
        await harness.register_orgs("ev-acme")
        yield harness
    finally:
        await harness.stop()


@dataclass(frozen=True)
class Expected:
    type: type[Message]
    subject: str


async def call(h: CommunityHarness, method: str, request: Any, who: Person = OWNER) -> Any:
    return await getattr(h.stub, method)(request, metadata=h.auth(who), timeout=15)


MEMBERSHIP_EVENTS: dict[str, Any] = {
    "MemberJoined": ev.MemberJoined,
    "MemberLeft": ev.MemberLeft,
    "RoleChanged": ev.RoleChanged,
    "JoinRequested": ev.JoinRequested,
    "JoinRequestRejected": ev.JoinRequestRejected,
}


def distinct(events: list[Event]) -> list[Event]:
    """The events once each (delivery is at-least-once: a copy keeps its id)."""
    seen: dict[str, Event] = {}
    for event in events:
        if event.id in seen:
            assert seen[event.id] == event, "a redelivered copy differs from the original"
            continue
        seen[event.id] = event
    return list(seen.values())


async def test_each_state_change_publishes_one_event_and_a_restart_loses_none(
    h: CommunityHarness,
) -> None:
    expected: list[Expected] = []

    created = await call(
        h,
        "CreateCommunity",
        pb.CreateCommunityRequest(
            name="Events", visibility=pb.COMMUNITY_VISIBILITY_PRIVATE, tags=["logistics"]
        ),
    )
    cid = str(created.community.community_id)
    expected.append(Expected(ev.CommunityCreated, cid))
    await call(h, "UpdateCommunity", pb.UpdateCommunityRequest(community_id=cid, description="Hi"))
    expected.append(Expected(ev.CommunityUpdated, cid))
    await call(h, "RequestMembership", pb.RequestMembershipRequest(community_id=cid), BOB)
    expected.append(Expected(ev.JoinRequested, cid))
    await call(
        h,
        "RejectJoinRequest",
        pb.RejectJoinRequestRequest(community_id=cid, person_id=BOB.subject, reason="Not yet"),
    )
    expected.append(Expected(ev.JoinRequestRejected, cid))
    await call(h, "RequestMembership", pb.RequestMembershipRequest(community_id=cid), BOB)
    expected.append(Expected(ev.JoinRequested, cid))
    # A pending request asked again changes nothing.
    await call(h, "RequestMembership", pb.RequestMembershipRequest(community_id=cid), BOB)
    await call(
        h,
        "ApproveJoinRequest",
        pb.ApproveJoinRequestRequest(community_id=cid, person_id=BOB.subject),
    )
    expected.append(Expected(ev.MemberJoined, cid))
    await call(
        h,
        "InviteMember",
        pb.InviteMemberRequest(community_id=cid, person_id=CAROL.subject, role=pb.ROLE_MEMBER),
    )
    expected.append(Expected(ev.MemberJoined, cid))
    await call(
        h,
        "InviteMember",
        pb.InviteMemberRequest(community_id=cid, person_id=CAROL.subject, role=pb.ROLE_MEMBER),
    )
    await call(
        h,
        "ChangeRole",
        pb.ChangeRoleRequest(community_id=cid, person_id=CAROL.subject, role=pb.ROLE_MODERATOR),
    )
    expected.append(Expected(ev.RoleChanged, cid))
    await call(
        h,
        "ChangeRole",
        pb.ChangeRoleRequest(community_id=cid, person_id=CAROL.subject, role=pb.ROLE_MODERATOR),
    )
    await call(h, "LeaveCommunity", pb.LeaveCommunityRequest(community_id=cid), BOB)
    expected.append(Expected(ev.MemberLeft, cid))
    await call(h, "RemoveMember", pb.RemoveMemberRequest(community_id=cid, person_id=CAROL.subject))
    expected.append(Expected(ev.MemberLeft, cid))

    await h.restart()

    proposed = await call(
        h,
        "ProposePinhole",
        pb.ProposePinholeRequest(community_id=cid, title="Pallets", purpose="New pallets."),
    )
    pid = str(proposed.pinhole.pinhole_id)
    expected.append(Expected(ev.PinholeProposed, pid))
    grant = pb.GrantPinholeRequest(pinhole_id=pid, org_id="ev-acme", level=pb.GRANT_LEVEL_VIEWER)
    await call(h, "GrantPinhole", grant)
    expected.append(Expected(ev.PinholeGranted, pid))
    await call(h, "GrantPinhole", grant)  # the level it has: no change
    await call(h, "OpenPinhole", pb.OpenPinholeRequest(pinhole_id=pid))
    expected.append(Expected(ev.PinholeOpened, pid))
    await call(h, "RevokeGrant", pb.RevokeGrantRequest(pinhole_id=pid, org_id="ev-acme"))
    expected.append(Expected(ev.PinholeRevoked, pid))
    await call(h, "ClosePinhole", pb.ClosePinholeRequest(pinhole_id=pid))
    expected.append(Expected(ev.PinholeClosed, pid))
    await call(h, "ClosePinhole", pb.ClosePinholeRequest(pinhole_id=pid))
    await call(h, "ArchiveCommunity", pb.ArchiveCommunityRequest(community_id=cid))
    expected.append(Expected(ev.CommunityUpdated, cid))
    await call(h, "ArchiveCommunity", pb.ArchiveCommunityRequest(community_id=cid))
    # Stop at once — events may still wait in the outbox — and start again.
    await h.restart()

    def complete(events: list[Event]) -> bool:
        return len(distinct(events)) >= len(expected)

    events = distinct(await h.wait_published(complete))
    assert len(events) == len(expected), [e.type for e in events]
    for event in events:
        assert event.key == event.subject
        assert event.source == "guildhall/community"

    def types(of: list[Event]) -> list[str]:
        return [e.type.rsplit(".", 1)[1] for e in of]

    def wanted(subject: str) -> list[str]:
        return [x.type.DESCRIPTOR.name for x in expected if x.subject == subject]

    # One document's events keep their order: the pinhole's, and the community's own.
    assert types([e for e in events if e.subject == pid]) == wanted(pid)
    community_events = [e for e in events if e.subject == cid]
    assert sorted(types(community_events)) == sorted(wanted(cid))
    own = [e for e in community_events if e.type.endswith(("CommunityCreated", "CommunityUpdated"))]
    assert types(own) == ["CommunityCreated", "CommunityUpdated", "CommunityUpdated"]
    # One person's membership events, ordered by membership_version, are in causal order
    # (they come from two documents, so the topic alone does not order them).
    per_person: dict[str, list[tuple[int, str]]] = {}
    for event in community_events:
        name = event.type.rsplit(".", 1)[1]
        if name in MEMBERSHIP_EVENTS:
            payload = event.parse(MEMBERSHIP_EVENTS[name])
            per_person.setdefault(payload.person_id, []).append((payload.membership_version, name))
    assert sorted(per_person[BOB.subject]) == [
        (1, "JoinRequested"),
        (2, "JoinRequestRejected"),
        (3, "JoinRequested"),
        (4, "MemberJoined"),
        (5, "MemberLeft"),
    ]
    assert sorted(per_person[CAROL.subject]) == [
        (1, "MemberJoined"),
        (2, "RoleChanged"),
        (3, "MemberLeft"),
    ]

    by_type: dict[str, list[Event]] = {}
    for event in events:
        by_type.setdefault(event.type.rsplit(".", 1)[1], []).append(event)
    created_event = by_type["CommunityCreated"][0].parse(ev.CommunityCreated)
    assert created_event.owner_id == OWNER.subject
    assert created_event.community.member_count == 1
    assert list(created_event.community.tags) == ["logistics"]
    left = [e.parse(ev.MemberLeft) for e in by_type["MemberLeft"]]
    # Bob's and Carol's memberships are two documents: their events have no common order.
    assert sorted((x.person_id, x.role, x.reason) for x in left) == [
        (BOB.subject, pb.ROLE_MEMBER, ev.LEAVE_REASON_LEFT),
        (CAROL.subject, pb.ROLE_MODERATOR, ev.LEAVE_REASON_REMOVED),
    ]
    rejected = by_type["JoinRequestRejected"][0].parse(ev.JoinRequestRejected)
    assert (rejected.person_id, rejected.reason) == (BOB.subject, "Not yet")
    versions = [
        by_type["PinholeGranted"][0].parse(ev.PinholeGranted).version,
        by_type["PinholeOpened"][0].parse(ev.PinholeOpened).version,
        by_type["PinholeRevoked"][0].parse(ev.PinholeRevoked).version,
        by_type["PinholeClosed"][0].parse(ev.PinholeClosed).version,
    ]
    assert versions == [2, 3, 4, 5], "each pinhole event carries the grant version after it"
    archived = by_type["CommunityUpdated"][1].parse(ev.CommunityUpdated)
    assert archived.community.state == pb.COMMUNITY_STATE_ARCHIVED
    assert list(archived.changed_fields) == ["state"]

    community = await call(h, "GetCommunity", pb.GetCommunityRequest(community_id=cid))
    assert community.community.member_count == 1
