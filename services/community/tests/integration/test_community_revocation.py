"""Revocation is exact, through the real service: once a revoking call returns, the next
decision says no — RevokeGrant, ClosePinhole, RemoveMember, ChangeRole, ArchiveCommunity,
an org suspension, and a pinhole's expiry (with no sweeper needed; the sweeper only
records it, once).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from guildhall.community.v1 import community_pb2 as pb
from guildhall.community.v1 import events_pb2 as ev
from guildhall_testsupport.community.harness import (
    SERVICE,
    CommunityHarness,
    Person,
    employee,
    partner,
)

pytestmark = pytest.mark.integration

OWNER = employee("rv-owner")
MOD = employee("rv-mod")
MEMBER = employee("rv-member")
ACME = partner("rv-acme-user", "rv-acme")
GLOBEX = partner("rv-globex-user", "rv-globex")
PEOPLE = (OWNER, MOD, MEMBER, ACME, GLOBEX)


@pytest.fixture(scope="module")
async def h(
    infra: Any, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[CommunityHarness]:
    harness = await CommunityHarness.start(
        kafka=infra.kafka_bootstrap_servers,
        mongo=infra.mongo_uri,
        keys_dir=tmp_path_factory.mktemp("keys"),
        name="revocation",
        pinhole_sweep_seconds=0.5,
    )
    try:
        await harness.register_people(PEOPLE)
        await harness.register_orgs("rv-acme", "rv-globex")
        yield harness
    finally:
        await harness.stop()


async def call(h: CommunityHarness, method: str, request: Any, who: Person = OWNER) -> Any:
    return await getattr(h.stub, method)(request, metadata=h.auth(who), timeout=15)


async def community(h: CommunityHarness, name: str, visibility: int) -> str:
    created = await call(
        h,
        "CreateCommunity",
        pb.CreateCommunityRequest(name=name, visibility=visibility),  # type: ignore[arg-type]
    )
    cid = str(created.community.community_id)
    await call(
        h,
        "InviteMember",
        pb.InviteMemberRequest(community_id=cid, person_id=MOD.subject, role=pb.ROLE_MODERATOR),
    )
    await call(
        h,
        "InviteMember",
        pb.InviteMemberRequest(community_id=cid, person_id=MEMBER.subject, role=pb.ROLE_MEMBER),
    )
    return cid


async def open_pinhole(h: CommunityHarness, cid: str, *, expires_at: datetime | None = None) -> str:
    request = pb.ProposePinholeRequest(community_id=cid, title="Joint work", purpose="Ship it.")
    if expires_at is not None:
        stamp = Timestamp()
        stamp.FromDatetime(expires_at)
        request.expires_at.CopyFrom(stamp)
    pid = str((await call(h, "ProposePinhole", request, MOD)).pinhole.pinhole_id)
    for org, level in (
        ("rv-acme", pb.GRANT_LEVEL_CONTRIBUTOR),
        ("rv-globex", pb.GRANT_LEVEL_VIEWER),
    ):
        await call(
            h, "GrantPinhole", pb.GrantPinholeRequest(pinhole_id=pid, org_id=org, level=level)
        )
    await call(h, "OpenPinhole", pb.OpenPinholeRequest(pinhole_id=pid))
    return pid


async def reads(h: CommunityHarness, who: Person, space_id: str) -> bool:
    return await h.check(who, space_id, pb.ACTION_READ)


async def asked_by_service(h: CommunityHarness, who: Person, space_id: str, action: int) -> bool:
    """What another Guildhall service (the post service) hears when it asks for ``who``."""
    reply = await h.stub.CheckAccess(
        pb.CheckAccessRequest(principal=who.principal, space_id=space_id, action=action),  # type: ignore[arg-type]
        metadata=h.auth(SERVICE),
        timeout=10,
    )
    return bool(reply.allowed)


async def listed(h: CommunityHarness, who: Person) -> set[str]:
    reply = await h.stub.ListSpaces(
        pb.ListSpacesRequest(principal=who.principal, action=pb.ACTION_READ, page_size=100),
        metadata=h.auth(who),
        timeout=10,
    )
    return {a.space.space_id for a in reply.spaces}


async def not_found(h: CommunityHarness, method: str, request: Any, who: Person) -> bool:
    try:
        await call(h, method, request, who)
    except grpc.aio.AioRpcError as err:
        return err.code() is grpc.StatusCode.NOT_FOUND
    return False


async def test_revoked_grant_refuses_the_very_next_check(h: CommunityHarness) -> None:
    cid = await community(h, "Revoke", pb.COMMUNITY_VISIBILITY_PRIVATE)
    pid = await open_pinhole(h, cid)
    assert await reads(h, ACME, pid)
    assert await asked_by_service(h, ACME, pid, pb.ACTION_POST)
    assert pid in await listed(h, ACME)
    assert not await not_found(h, "GetPinhole", pb.GetPinholeRequest(pinhole_id=pid), ACME)

    await call(h, "RevokeGrant", pb.RevokeGrantRequest(pinhole_id=pid, org_id="rv-acme"))

    assert not await reads(h, ACME, pid)
    assert not await asked_by_service(h, ACME, pid, pb.ACTION_READ)
    assert pid not in await listed(h, ACME)
    assert await not_found(h, "GetPinhole", pb.GetPinholeRequest(pinhole_id=pid), ACME)
    # The other org's grant is untouched; employees keep their rights.
    assert await reads(h, GLOBEX, pid)
    assert await h.check(MEMBER, pid, pb.ACTION_POST)


async def test_no_check_that_starts_after_the_revoke_returned_says_yes(
    h: CommunityHarness,
) -> None:
    """Checks hammer the pinhole while it is revoked; every one that started after
    RevokeGrant returned must say no, whatever was in flight."""
    cid = await community(h, "Revoke under load", pb.COMMUNITY_VISIBILITY_OPEN)
    pid = await open_pinhole(h, cid)
    answers: list[tuple[float, bool]] = []
    stop = asyncio.Event()

    async def hammer() -> None:
        while not stop.is_set():
            started = time.monotonic()
            answers.append((started, await reads(h, ACME, pid)))

    workers = [asyncio.create_task(hammer()) for _ in range(8)]
    await asyncio.sleep(0.3)
    await call(h, "RevokeGrant", pb.RevokeGrantRequest(pinhole_id=pid, org_id="rv-acme"))
    returned = time.monotonic()
    await asyncio.sleep(0.3)
    stop.set()
    await asyncio.gather(*workers)
    before = [ok for started, ok in answers if started < returned]
    after = [ok for started, ok in answers if started > returned]
    assert any(before), "the partner never read before the revoke"
    assert after, "no check started after the revoke"
    assert not any(after)


async def test_closed_pinhole_refuses_partners_at_once_and_stays_readable_for_members(
    h: CommunityHarness,
) -> None:
    cid = await community(h, "Close", pb.COMMUNITY_VISIBILITY_SECRET)
    pid = await open_pinhole(h, cid)
    assert await reads(h, ACME, pid)
    closed = await call(h, "ClosePinhole", pb.ClosePinholeRequest(pinhole_id=pid))
    assert closed.pinhole.state == pb.PINHOLE_STATE_CLOSED
    assert not await reads(h, ACME, pid)
    assert not await reads(h, GLOBEX, pid)
    assert await reads(h, MEMBER, pid)
    assert not await h.check(MEMBER, pid, pb.ACTION_POST)


async def test_removed_member_is_refused_at_once(h: CommunityHarness) -> None:
    cid = await community(h, "Remove", pb.COMMUNITY_VISIBILITY_SECRET)
    pid = await open_pinhole(h, cid)
    assert await reads(h, MEMBER, cid)
    assert await reads(h, MEMBER, pid)
    assert cid in await listed(h, MEMBER)
    await call(
        h, "RemoveMember", pb.RemoveMemberRequest(community_id=cid, person_id=MEMBER.subject), MOD
    )
    assert not await reads(h, MEMBER, cid)
    assert not await reads(h, MEMBER, pid)
    assert cid not in await listed(h, MEMBER)
    # A secret community now does not exist for them, exactly like an unknown id.
    assert await not_found(h, "GetCommunity", pb.GetCommunityRequest(community_id=cid), MEMBER)


async def test_demoted_moderator_loses_moderation_at_once(h: CommunityHarness) -> None:
    cid = await community(h, "Demote", pb.COMMUNITY_VISIBILITY_OPEN)
    assert await h.check(MOD, cid, pb.ACTION_MODERATE)
    changed = await call(
        h,
        "ChangeRole",
        pb.ChangeRoleRequest(community_id=cid, person_id=MOD.subject, role=pb.ROLE_MEMBER),
    )
    assert changed.membership.role == pb.ROLE_MEMBER
    assert not await h.check(MOD, cid, pb.ACTION_MODERATE)
    assert await h.check(MOD, cid, pb.ACTION_POST)


async def test_suspended_org_is_refused_everywhere_once_the_event_is_applied(
    h: CommunityHarness,
) -> None:
    await h.register_orgs("rv-initech")
    user = partner("rv-initech-user", "rv-initech")
    cid = await community(h, "Suspend", pb.COMMUNITY_VISIBILITY_OPEN)
    pid = await open_pinhole(h, cid)
    await call(
        h,
        "GrantPinhole",
        pb.GrantPinholeRequest(pinhole_id=pid, org_id="rv-initech", level=pb.GRANT_LEVEL_VIEWER),
    )
    assert await reads(h, user, pid)
    await h.suspend_org("rv-initech")
    assert not await reads(h, user, pid)
    assert await listed(h, user) == set()
    # A suspended org gets no new grants either.
    other = await open_pinhole(h, cid)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await call(
            h,
            "GrantPinhole",
            pb.GrantPinholeRequest(
                pinhole_id=other, org_id="rv-initech", level=pb.GRANT_LEVEL_VIEWER
            ),
        )
    assert refused.value.code() is grpc.StatusCode.FAILED_PRECONDITION


def _closed(events: list[Any], pid: str) -> list[ev.PinholeClosed]:
    return [
        e.parse(ev.PinholeClosed)
        for e in events
        if e.type == "guildhall.community.v1.PinholeClosed" and e.subject == pid
    ]


async def test_expiry_refuses_at_once_and_the_sweeper_records_it_once(h: CommunityHarness) -> None:
    cid = await community(h, "Expire", pb.COMMUNITY_VISIBILITY_OPEN)
    expires_at = datetime.now(UTC) + timedelta(seconds=1.5)
    pid = await open_pinhole(h, cid, expires_at=expires_at)
    assert await reads(h, ACME, pid)
    await asyncio.sleep(max(0.0, (expires_at - datetime.now(UTC)).total_seconds()))
    assert not await reads(h, ACME, pid)  # whether or not the sweeper got there yet
    events = await h.wait_published(lambda es: bool(_closed(es, pid)))
    await asyncio.sleep(1.5)  # a few more sweeper passes: still one record
    events = await h.published()
    (closed,) = _closed(events, pid)
    assert closed.reason == pb.PINHOLE_CLOSE_REASON_EXPIRED
    assert closed.actor_id == ""
    assert closed.closed_at.ToDatetime(tzinfo=UTC) == expires_at.replace(
        microsecond=expires_at.microsecond // 1000 * 1000
    )
    reply = await call(h, "GetPinhole", pb.GetPinholeRequest(pinhole_id=pid), MEMBER)
    assert reply.pinhole.state == pb.PINHOLE_STATE_CLOSED
    assert reply.pinhole.close_reason == pb.PINHOLE_CLOSE_REASON_EXPIRED


async def test_archiving_closes_pinholes_to_partners_and_records_them(h: CommunityHarness) -> None:
    cid = await community(h, "Archive", pb.COMMUNITY_VISIBILITY_PRIVATE)
    pid = await open_pinhole(h, cid)
    assert await reads(h, ACME, pid)
    await call(h, "ArchiveCommunity", pb.ArchiveCommunityRequest(community_id=cid))
    assert not await reads(h, ACME, pid)
    assert await reads(h, MEMBER, pid)
    events = await h.wait_published(lambda es: bool(_closed(es, pid)))
    (closed,) = _closed(events, pid)
    assert closed.reason == pb.PINHOLE_CLOSE_REASON_COMMUNITY_ARCHIVED
