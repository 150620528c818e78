"""The adapters' pure parts: stored documents and their sort keys, protobuf mappings, the
declared indexes, and the keyset paging the listings share."""

from __future__ import annotations

import enum
from datetime import UTC, datetime, timedelta

import pytest

from guildhall.community.v1 import community_pb2 as pb
from guildhall.community.v1 import events_pb2 as ev
from guildhall_community import domain as dom
from guildhall_community.adapters import convert as m
from guildhall_community.adapters.repository import documents as d
from guildhall_community.adapters.repository.store import indexes, prefix_bound
from guildhall_community.application.core import keyset_page
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
from guildhall_kit.mongo import IndexSpec

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
    # Member lists sort by join time, then person, as one string.
    assert d.membership_fields(membership)["join_key"] == "1772357400123|olga"
    assert d.membership_fields(membership)["request_key"] is None

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
    assert (fields["join_key"], fields["request_key"]) == (None, "1772357400123|otto")

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


def test_time_keys_sort_as_time_then_person() -> None:
    keys = [
        dom.time_key(T0 + timedelta(milliseconds=ms), person)
        for ms, person in ((0, "b"), (0, "a"), (1, "a"), (-1, "z"), (10_000, "a"))
    ]
    assert sorted(keys) == [keys[3], keys[1], keys[0], keys[2], keys[4]]
    assert all(len(k.split("|")[0]) == 13 for k in keys)


def test_prefix_bound_is_the_least_string_after_every_match() -> None:
    assert prefix_bound("") is None
    assert prefix_bound("ab") == "ac"
    assert prefix_bound("zeta") == "zetb"
    bound = prefix_bound("zeta")
    assert bound is not None
    assert all(match < bound for match in ("zeta", "zeta zz", "zeta\U0010ffff"))
    assert bound <= "zetb"
    assert prefix_bound("a\U0010ffff") is None
    assert prefix_bound("a\ud7ff") == "a\ue000"  # surrogates are not characters


def test_every_listing_has_an_index_that_leads_with_its_equality_fields() -> None:
    by_name = {spec.name: spec for spec in indexes()}
    assert isinstance(by_name["members"], IndexSpec)
    keys = {name: [k for k, _ in spec.keys] for name, spec in by_name.items()}
    assert keys["by_person"][:2] == ["person_id", "status"]
    assert keys["members"] == ["community_id", "status", "join_key"]
    assert keys["requests"] == ["community_id", "request_key"]
    assert keys["directory"] == ["name_key", "_id"]
    assert keys["directory_by_visibility"] == ["visibility", "name_key", "_id"]
    assert keys["by_community"] == ["community_id", "_id"]
    assert keys["by_org"] == ["grant_orgs"]
    assert keys["live_by_id"] == ["state", "_id"]
    # Names earlier versions used with other keys are not reused (creation would fail).
    assert not {"join_requests", "live"} & set(by_name)


async def test_keyset_pages_read_filtered_batches_without_gaps_or_duplicates() -> None:
    rows = list(range(100))
    reads: list[tuple[int | None, int]] = []

    async def fetch(after: int | None, limit: int) -> list[int]:
        reads.append((after, limit))
        return [r for r in rows if after is None or r > after][:limit]

    async def odd(batch: list[int]) -> list[int]:
        return [r for r in batch if r % 2]

    seen: list[int] = []
    after: int | None = None
    while True:
        page, after = await keyset_page(fetch, lambda r: r, odd, after=after, want=7)
        assert len(page) <= 7
        seen.extend(page)
        if after is None:
            break
    assert seen == [r for r in rows if r % 2]
    # A first page reads one batch of want + 1 when nothing is filtered away.
    reads.clear()
    page, after = await keyset_page(fetch, lambda r: r, _all, after=None, want=7)
    assert (page, after, reads) == (rows[:7], 6, [(None, 8)])


async def test_a_keyset_page_filtered_empty_stops_after_its_batches_with_a_position() -> None:
    async def fetch(after: int | None, limit: int) -> list[int]:
        start = 0 if after is None else after + 1
        return list(range(start, start + limit))

    async def nothing(batch: list[int]) -> list[int]:
        return []

    page, after = await keyset_page(fetch, lambda r: r, nothing, after=None, want=5, batches=3)
    assert page == []
    assert after == 17  # three batches of 6 read; the next page goes on from there


async def _all(batch: list[int]) -> list[int]:
    return batch
