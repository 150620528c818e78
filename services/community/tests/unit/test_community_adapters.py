"""The adapters' pure parts: stored documents, protobuf mappings, page tokens, the index plan."""

from __future__ import annotations

import enum
from datetime import UTC, datetime, timedelta

import pytest

from guildhall.community.v1 import community_pb2 as pb
from guildhall.community.v1 import events_pb2 as ev
from guildhall_community import domain as dom
from guildhall_community.adapters import documents as d
from guildhall_community.adapters import messages as m
from guildhall_community.adapters import paging
from guildhall_community.adapters.repository import _index_changes
from guildhall_community.domain import (
    Action,
    CloseReason,
    CommunityState,
    GrantLevel,
    JoinRequestState,
    PartnerOrg,
    PinholeOpenPolicy,
    PinholeState,
    Principal,
    PrincipalKind,
    Role,
    Visibility,
)
from guildhall_kit.errors import InvalidArgument

T0 = datetime(2026, 3, 1, 9, 30, 0, 123000, tzinfo=UTC)
OLGA = Principal("olga", PrincipalKind.EMPLOYEE, "home")


def _community() -> dom.Change:
    return dom.create_community(
        OLGA,
        community_id="c1",
        name="Supply Chain",
        description="Suppliers.",
        visibility=Visibility.PRIVATE,
        tags=("logistics",),
        now=T0,
    )


def test_documents_round_trip_every_domain_value() -> None:
    created = _community()
    community = created.community
    membership = created.membership
    assert community is not None
    assert membership is not None
    stored = {"_id": community.id, **d.community_fields(community), "member_count": 1}
    assert d.community_from(stored) == community
    assert stored["name_key"] == "supply chain"
    key = d.membership_id("c1", "olga")
    assert key == "c1:olga"
    assert d.membership_from({"_id": key, **d.membership_fields(membership)}) == membership

    requested = dom.request_membership(
        community,
        Principal("otto", PrincipalKind.EMPLOYEE, "home"),
        membership=None,
        message="Let me in",
        now=T0,
    ).membership
    assert requested is not None
    fields = d.membership_fields(requested)
    assert d.membership_from(fields) == requested

    proposed = dom.propose_pinhole(
        community,
        OLGA,
        actor_membership=membership,
        pinhole_id="p1",
        title="Pallets",
        purpose="New pallets.",
        expires_at=T0 + timedelta(days=30),
        now=T0,
    ).pinhole
    assert proposed is not None
    granted = dom.grant(
        proposed,
        community,
        OLGA,
        actor_membership=membership,
        org=PartnerOrg("acme"),
        level=GrantLevel.CONTRIBUTOR,
        policy=PinholeOpenPolicy.OWNER_OR_ADMIN,
        now=T0,
    ).pinhole
    assert granted is not None
    closed = dom.close_pinhole(granted, community, OLGA, actor_membership=membership, now=T0)
    pinhole = closed.pinhole
    assert pinhole is not None
    stored_pinhole = {"_id": pinhole.id, **d.pinhole_fields(pinhole)}
    assert stored_pinhole["grant_orgs"] == ["acme"]
    assert d.pinhole_from(stored_pinhole) == pinhole


@pytest.mark.parametrize(
    ("table", "kind"),
    [
        (m.VISIBILITY, Visibility),
        (m.COMMUNITY_STATE, CommunityState),
        (m.ROLE, Role),
        (m.JOIN_REQUEST_STATE, JoinRequestState),
        (m.PINHOLE_STATE, PinholeState),
        (m.GRANT_LEVEL, GrantLevel),
        (m.CLOSE_REASON, CloseReason),
        (m.ACTION, Action),
        (m.JOIN_PATH, dom.JoinPath),
        (m.LEAVE_REASON, dom.LeaveReason),
    ],
)
def test_enum_mappings_are_total_and_one_to_one(
    table: dict[object, int], kind: type[enum.Enum]
) -> None:
    assert set(table) == set(kind)
    assert len(set(table.values())) == len(table)
    assert 0 not in table.values()


def test_unset_enums_in_requests_name_the_field() -> None:
    with pytest.raises(InvalidArgument) as caught:
        m.role_in(pb.ROLE_UNSPECIFIED, "role")
    assert caught.value.field == "role"
    assert m.visibility_in(pb.COMMUNITY_VISIBILITY_SECRET, "visibility") is Visibility.SECRET
    assert m.pinhole_state_in(pb.PINHOLE_STATE_UNSPECIFIED) is None


def test_every_domain_event_has_its_message_of_the_same_name() -> None:
    created = _community()
    community = created.community
    assert community is not None
    bob = Principal("bob", PrincipalKind.EMPLOYEE, "home")
    changes = [
        created,
        dom.join(
            dom.update_community(
                community,
                OLGA,
                actor_membership=created.membership,
                visibility=Visibility.OPEN,
                now=T0,
            ).community
            or community,
            bob,
            membership=None,
            now=T0,
        ),
    ]
    seen = set()
    for change in changes:
        for write in change.writes:
            for event in write.events:
                message = m.event_message(event, write.state, member_count=1)
                assert message.DESCRIPTOR.name == event.event_type
                assert message.DESCRIPTOR.full_name == f"guildhall.community.v1.{event.event_type}"
                seen.add(event.event_type)
    assert seen == {"CommunityCreated", "MemberJoined"}
    joined = changes[1].events[0]
    message = m.event_message(joined, changes[1].writes[0].state)
    assert isinstance(message, ev.MemberJoined)
    assert (message.person_id, message.membership_version, message.path) == (
        "bob",
        1,
        ev.JOIN_PATH_JOINED,
    )


def test_page_tokens_resume_their_own_listing_only() -> None:
    token = paging.encode("members", 1234, "bob")
    assert paging.decode("members", token, 2) == [1234, "bob"]
    assert paging.decode("members", "", 2) is None
    for bad in (token + "x", paging.encode("spaces", "x"), "%%%", paging.encode("members", 1)):
        with pytest.raises(InvalidArgument) as caught:
            paging.decode("members", bad, 2)
        assert caught.value.field == "page_token"
    assert paging.page_size(0) == paging.DEFAULT_PAGE_SIZE
    assert paging.page_size(500) == paging.MAX_PAGE_SIZE


def test_the_member_index_adds_before_and_removes_after() -> None:
    created = _community()
    community = created.community
    assert community is not None
    gaining, losing = _index_changes(created, None)
    assert (gaining, losing) == ({"olga"}, set())
    invited = dom.invite(
        community,
        OLGA,
        actor_membership=created.membership,
        person_id="mo",
        invitee_kind=PrincipalKind.EMPLOYEE,
        target_membership=None,
        role=Role.MODERATOR,
        now=T0,
    )
    assert _index_changes(invited, community) == ({"mo"}, set())
    after = invited.community
    assert after is not None
    left = dom.leave(
        after,
        Principal("mo", PrincipalKind.EMPLOYEE, "home"),
        membership=invited.membership,
        now=T0,
    )
    assert _index_changes(left, after) == (set(), {"mo"})
