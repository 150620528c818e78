"""Bad input and the pinhole boundary, through the real service.

- Malformed fields: INVALID_ARGUMENT naming the field, nothing stored, nothing published.
- Partner users (and other services) calling an employee-only method: PERMISSION_DENIED
  before any lookup — the same answer whether the ids exist or not.
- Unknown ids and ids the caller may not see: the same NOT_FOUND.
- An id of the other kind (a pinhole's where a community is asked for, and the reverse)
  answers exactly like an unknown one, so no error tells what an id names.
- CheckAccess and ListSpaces about someone else: only home admins and services may ask.
- An employee token naming an org other than the home org: UNAUTHENTICATED.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2, status_pb2

from guildhall.community.v1 import community_pb2 as pb
from guildhall_testsupport.community.harness import (
    SERVICE,
    CommunityHarness,
    Person,
    employee,
    partner,
)

pytestmark = pytest.mark.integration

OWNER = employee("bi-owner")
OUTSIDER = employee("bi-outsider")
ADMIN = employee("bi-admin", admin=True)
ACME = partner("bi-acme-user", "bi-acme")
OTHER = partner("bi-other-user", "bi-other")


@dataclass
class World:
    h: CommunityHarness
    open_cid: str
    secret_cid: str
    secret_pid: str
    """An open pinhole of the secret community, granted to bi-acme."""


async def call(h: CommunityHarness, method: str, request: Any, who: Person = OWNER) -> Any:
    return await getattr(h.stub, method)(request, metadata=h.auth(who), timeout=15)


async def failure(
    h: CommunityHarness, method: str, request: Any, who: Person
) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(h, method, request, who)
    return caught.value


async def snapshot(h: CommunityHarness) -> dict[str, list[dict[str, Any]]]:
    """Every document of the service's own collections, outbox entries included."""
    db = h.running.ctx.db
    return {
        name: await db[name]
        .find({}, projection={"_outbox_since": 0, "_outbox_pending": 0})
        .sort("_id")
        .to_list()
        for name in ("communities", "memberships", "pinholes", "community_names", "people")
    }


def violated_fields(err: grpc.aio.AioRpcError) -> list[str]:
    raw = dict(err.trailing_metadata() or ()).get("grpc-status-details-bin")
    assert isinstance(raw, bytes), "INVALID_ARGUMENT carries a BadRequest"
    status = status_pb2.Status.FromString(raw)
    bad = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(bad)
    return [v.field for v in bad.field_violations]


@pytest.fixture(scope="module")
async def world(infra: Any, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    h = await CommunityHarness.start(
        kafka=infra.kafka_bootstrap_servers,
        mongo=infra.mongo_uri,
        keys_dir=tmp_path_factory.mktemp("keys"),
        name="badinput",
    )
    try:
        await h.register_people((OWNER, OUTSIDER, ADMIN, ACME, OTHER))
        await h.register_orgs("bi-acme", "bi-other")
        open_cid = (
            await call(
                h,
                "CreateCommunity",
                pb.CreateCommunityRequest(
                    name="Open one", description="Kept", visibility=pb.COMMUNITY_VISIBILITY_OPEN
                ),
            )
        ).community.community_id
        secret_cid = (
            await call(
                h,
                "CreateCommunity",
                pb.CreateCommunityRequest(name="Hush", visibility=pb.COMMUNITY_VISIBILITY_SECRET),
            )
        ).community.community_id
        secret_pid = (
            await call(
                h,
                "ProposePinhole",
                pb.ProposePinholeRequest(community_id=secret_cid, title="X", purpose="Y"),
            )
        ).pinhole.pinhole_id
        await call(
            h,
            "GrantPinhole",
            pb.GrantPinholeRequest(
                pinhole_id=secret_pid, org_id="bi-acme", level=pb.GRANT_LEVEL_VIEWER
            ),
        )
        await call(h, "OpenPinhole", pb.OpenPinholeRequest(pinhole_id=secret_pid))
        await h.wait_outbox_drained()
        yield World(h, open_cid, secret_cid, secret_pid)
    finally:
        await h.stop()


def _past() -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(datetime.now(UTC) - timedelta(days=1))
    return stamp


BAD_REQUESTS = [
    pytest.param(
        "CreateCommunity",
        lambda w: pb.CreateCommunityRequest(
            name=" padded ", visibility=pb.COMMUNITY_VISIBILITY_OPEN
        ),
        "name",
        id="create-name",
    ),
    pytest.param(
        "CreateCommunity",
        lambda w: pb.CreateCommunityRequest(
            name="Fine", visibility=pb.COMMUNITY_VISIBILITY_UNSPECIFIED
        ),
        "visibility",
        id="create-visibility",
    ),
    pytest.param(
        "CreateCommunity",
        lambda w: pb.CreateCommunityRequest(
            name="Fine", visibility=pb.COMMUNITY_VISIBILITY_OPEN, tags=["ok", "Not A Tag"]
        ),
        "tags[1]",
        id="create-tag",
    ),
    pytest.param(
        "UpdateCommunity",
        lambda w: pb.UpdateCommunityRequest(community_id=w.open_cid, name="x" * 101),
        "name",
        id="update-name-too-long",
    ),
    pytest.param(
        "UpdateCommunity",
        lambda w: pb.UpdateCommunityRequest(community_id=w.open_cid, description="bell\x07"),
        "description",
        id="update-control-character",
    ),
    pytest.param(
        "UpdateCommunity",
        lambda w: pb.UpdateCommunityRequest(community_id="NOT AN ID", name="Renamed"),
        "community_id",
        id="update-id",
    ),
    pytest.param(
        "ProposePinhole",
        lambda w: pb.ProposePinholeRequest(
            community_id=w.open_cid, title="T", purpose="P", expires_at=_past()
        ),
        "expires_at",
        id="propose-expired",
    ),
    pytest.param(
        "ProposePinhole",
        lambda w: pb.ProposePinholeRequest(community_id=w.open_cid, title="T", purpose=" "),
        "purpose",
        id="propose-blank-purpose",
    ),
    pytest.param(
        "GrantPinhole",
        lambda w: pb.GrantPinholeRequest(
            pinhole_id=w.secret_pid, org_id="bi-other", level=pb.GRANT_LEVEL_UNSPECIFIED
        ),
        "level",
        id="grant-level",
    ),
    pytest.param(
        "InviteMember",
        lambda w: pb.InviteMemberRequest(
            community_id=w.open_cid, person_id="bi-outsider", role=pb.ROLE_OWNER
        ),
        "role",
        id="invite-owner",
    ),
    pytest.param(
        "CheckAccess",
        lambda w: pb.CheckAccessRequest(space_id=w.open_cid, action=pb.ACTION_READ),
        "principal",
        id="check-no-principal",
    ),
    pytest.param(
        "CheckAccess",
        lambda w: pb.CheckAccessRequest(
            principal=pb.Principal(
                person_id="bi-owner", org_id="home", kind=pb.PRINCIPAL_KIND_UNSPECIFIED
            ),
            space_id=w.open_cid,
            action=pb.ACTION_READ,
        ),
        "principal.kind",
        id="check-principal-kind",
    ),
    pytest.param(
        "ListMembers",
        lambda w: pb.ListMembersRequest(community_id=w.open_cid, page_size=101),
        "page_size",
        id="list-page-size",
    ),
]


@pytest.mark.parametrize(("method", "make", "field"), BAD_REQUESTS)
async def test_bad_input_names_the_field_and_changes_nothing(
    world: World, method: str, make: Any, field: str
) -> None:
    h = world.h
    await h.wait_outbox_drained()
    before = await call(h, "GetCommunity", pb.GetCommunityRequest(community_id=world.open_cid))
    stored = await snapshot(h)
    err = await failure(h, method, make(world), OWNER)
    assert err.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert field in violated_fields(err)
    assert (err.details() or "").startswith(f"{field}: ")
    after = await call(h, "GetCommunity", pb.GetCommunityRequest(community_id=world.open_cid))
    assert after == before
    # Every stored document (and so every outbox: events live in the documents) is as it was.
    assert await snapshot(h) == stored


async def test_a_page_token_the_service_did_not_mint_is_invalid_argument(world: World) -> None:
    for token in ("garbage!", "eyJsIjoic3BhY2VzIiwicCI6WyJ4Il19"):  # the second is ListSpaces'
        err = await failure(
            world.h,
            "ListMembers",
            pb.ListMembersRequest(community_id=world.open_cid, page_token=token),
            OWNER,
        )
        assert err.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert "page_token" in (err.details() or "")


EMPLOYEE_ONLY = [
    (
        "CreateCommunity",
        lambda c, p: pb.CreateCommunityRequest(
            name="Mine", visibility=pb.COMMUNITY_VISIBILITY_OPEN
        ),
    ),
    ("GetCommunity", lambda c, p: pb.GetCommunityRequest(community_id=c)),
    ("ListCommunities", lambda c, p: pb.ListCommunitiesRequest()),
    ("UpdateCommunity", lambda c, p: pb.UpdateCommunityRequest(community_id=c, name="New")),
    ("ArchiveCommunity", lambda c, p: pb.ArchiveCommunityRequest(community_id=c)),
    ("JoinCommunity", lambda c, p: pb.JoinCommunityRequest(community_id=c)),
    ("RequestMembership", lambda c, p: pb.RequestMembershipRequest(community_id=c)),
    ("ListJoinRequests", lambda c, p: pb.ListJoinRequestsRequest(community_id=c)),
    (
        "ApproveJoinRequest",
        lambda c, p: pb.ApproveJoinRequestRequest(community_id=c, person_id="someone"),
    ),
    (
        "RejectJoinRequest",
        lambda c, p: pb.RejectJoinRequestRequest(community_id=c, person_id="someone"),
    ),
    (
        "InviteMember",
        lambda c, p: pb.InviteMemberRequest(
            community_id=c, person_id="someone", role=pb.ROLE_MEMBER
        ),
    ),
    ("LeaveCommunity", lambda c, p: pb.LeaveCommunityRequest(community_id=c)),
    ("RemoveMember", lambda c, p: pb.RemoveMemberRequest(community_id=c, person_id="someone")),
    (
        "ChangeRole",
        lambda c, p: pb.ChangeRoleRequest(community_id=c, person_id="x", role=pb.ROLE_MODERATOR),
    ),
    ("ListMembers", lambda c, p: pb.ListMembersRequest(community_id=c)),
    ("ListMyCommunities", lambda c, p: pb.ListMyCommunitiesRequest()),
    (
        "ProposePinhole",
        lambda c, p: pb.ProposePinholeRequest(community_id=c, title="T", purpose="P"),
    ),
    ("OpenPinhole", lambda c, p: pb.OpenPinholeRequest(pinhole_id=p)),
    (
        "GrantPinhole",
        lambda c, p: pb.GrantPinholeRequest(pinhole_id=p, org_id="x", level=pb.GRANT_LEVEL_VIEWER),
    ),
    ("RevokeGrant", lambda c, p: pb.RevokeGrantRequest(pinhole_id=p, org_id="bi-acme")),
    ("ClosePinhole", lambda c, p: pb.ClosePinholeRequest(pinhole_id=p)),
    ("ListPinholes", lambda c, p: pb.ListPinholesRequest(community_id=c)),
]


@pytest.mark.parametrize(("method", "make"), [pytest.param(m, f, id=m) for m, f in EMPLOYEE_ONLY])
@pytest.mark.parametrize("who", [ACME, SERVICE], ids=["partner", "service"])
async def test_employee_only_methods_refuse_partners_and_services_before_any_lookup(
    world: World, method: str, make: Any, who: Person
) -> None:
    h = world.h
    real = await failure(h, method, make(world.secret_cid, world.secret_pid), who)
    made_up = await failure(h, method, make("no-such-community", "no-such-pinhole"), who)
    assert real.code() is made_up.code() is grpc.StatusCode.PERMISSION_DENIED
    assert real.details() == made_up.details()
    # And the pinhole the partner does take part in is untouched.
    assert await h.check(ACME, world.secret_pid, pb.ACTION_READ)


HIDDEN_TO_OUTSIDERS = [
    ("GetCommunity", "community", lambda c: pb.GetCommunityRequest(community_id=c)),
    ("JoinCommunity", "community", lambda c: pb.JoinCommunityRequest(community_id=c)),
    ("ListMembers", "community", lambda c: pb.ListMembersRequest(community_id=c)),
    ("LeaveCommunity", "community", lambda c: pb.LeaveCommunityRequest(community_id=c)),
    (
        "ProposePinhole",
        "community",
        lambda c: pb.ProposePinholeRequest(community_id=c, title="T", purpose="P"),
    ),
    ("GetPinhole", "pinhole", lambda p: pb.GetPinholeRequest(pinhole_id=p)),
    ("ClosePinhole", "pinhole", lambda p: pb.ClosePinholeRequest(pinhole_id=p)),
    (
        "GrantPinhole",
        "pinhole",
        lambda p: pb.GrantPinholeRequest(
            pinhole_id=p, org_id="bi-other", level=pb.GRANT_LEVEL_VIEWER
        ),
    ),
    ("GetSpace", "space", lambda s: pb.GetSpaceRequest(space_id=s)),
]


@pytest.mark.parametrize(
    ("method", "kind", "make"), [pytest.param(*c, id=c[0]) for c in HIDDEN_TO_OUTSIDERS]
)
async def test_hidden_and_unknown_ids_are_the_same_not_found(
    world: World, method: str, kind: str, make: Any
) -> None:
    h = world.h
    real_id = world.secret_pid if kind == "pinhole" else world.secret_cid
    hidden = await failure(h, method, make(real_id), OUTSIDER)
    unknown = await failure(h, method, make("no-such-id"), OUTSIDER)
    assert hidden.code() is unknown.code() is grpc.StatusCode.NOT_FOUND
    assert (hidden.details() or "").replace(real_id, "<id>") == (unknown.details() or "").replace(
        "no-such-id", "<id>"
    )


OTHER_KIND = [
    ("GetCommunity", "pinhole", lambda i: pb.GetCommunityRequest(community_id=i)),
    ("UpdateCommunity", "pinhole", lambda i: pb.UpdateCommunityRequest(community_id=i, name="N")),
    ("ListMembers", "pinhole", lambda i: pb.ListMembersRequest(community_id=i)),
    ("ListPinholes", "pinhole", lambda i: pb.ListPinholesRequest(community_id=i)),
    ("JoinCommunity", "pinhole", lambda i: pb.JoinCommunityRequest(community_id=i)),
    ("GetPinhole", "community", lambda i: pb.GetPinholeRequest(pinhole_id=i)),
    ("OpenPinhole", "community", lambda i: pb.OpenPinholeRequest(pinhole_id=i)),
    ("ClosePinhole", "community", lambda i: pb.ClosePinholeRequest(pinhole_id=i)),
]


@pytest.mark.parametrize(
    ("method", "kind", "make"), [pytest.param(*c, id=c[0]) for c in OTHER_KIND]
)
@pytest.mark.parametrize("who", [OWNER, OUTSIDER, ADMIN], ids=["owner", "outsider", "admin"])
async def test_an_id_of_the_other_kind_answers_like_an_unknown_one(
    world: World, method: str, kind: str, make: Any, who: Person
) -> None:
    """Even to those who may see both objects, the error never says what an id names."""
    h = world.h
    real_id = world.secret_pid if kind == "pinhole" else world.secret_cid
    other = await failure(h, method, make(real_id), who)
    unknown = await failure(h, method, make("no-such-id"), who)
    assert other.code() is unknown.code() is grpc.StatusCode.NOT_FOUND
    assert (other.details() or "").replace(real_id, "<id>") == (unknown.details() or "").replace(
        "no-such-id", "<id>"
    )


async def test_a_partner_of_another_org_cannot_tell_a_pinhole_from_nothing(world: World) -> None:
    h = world.h
    for method, request in (
        ("GetPinhole", lambda i: pb.GetPinholeRequest(pinhole_id=i)),
        ("GetSpace", lambda i: pb.GetSpaceRequest(space_id=i)),
    ):
        hidden = await failure(h, method, request(world.secret_pid), OTHER)
        unknown = await failure(h, method, request("no-such-id"), OTHER)
        assert hidden.code() is unknown.code() is grpc.StatusCode.NOT_FOUND
        assert (hidden.details() or "").replace(world.secret_pid, "<id>") == (
            unknown.details() or ""
        ).replace("no-such-id", "<id>")
    assert not await h.check(OTHER, world.secret_pid, pb.ACTION_READ)
    assert not await h.check(OTHER, "no-such-id", pb.ACTION_READ)


async def test_a_partner_sees_only_its_own_grant(world: World) -> None:
    h = world.h
    await call(
        h,
        "GrantPinhole",
        pb.GrantPinholeRequest(
            pinhole_id=world.secret_pid, org_id="bi-other", level=pb.GRANT_LEVEL_CONTRIBUTOR
        ),
    )
    try:
        reply = await call(h, "GetPinhole", pb.GetPinholeRequest(pinhole_id=world.secret_pid), ACME)
        assert [g.org_id for g in reply.pinhole.grants] == ["bi-acme"]
        mine = await call(h, "GetPinhole", pb.GetPinholeRequest(pinhole_id=world.secret_pid))
        assert [g.org_id for g in mine.pinhole.grants] == ["bi-acme", "bi-other"]
    finally:
        await call(
            h, "RevokeGrant", pb.RevokeGrantRequest(pinhole_id=world.secret_pid, org_id="bi-other")
        )


async def test_only_home_admins_and_services_ask_about_someone_else(world: World) -> None:
    h = world.h

    async def ask(caller: Person, about: Person) -> bool:
        reply = await h.stub.CheckAccess(
            pb.CheckAccessRequest(
                principal=about.principal, space_id=world.secret_pid, action=pb.ACTION_READ
            ),
            metadata=h.auth(caller),
            timeout=10,
        )
        return bool(reply.allowed)

    assert await ask(SERVICE, ACME)
    assert await ask(ADMIN, ACME)
    assert await ask(ACME, ACME)
    for caller, about in ((OUTSIDER, ACME), (OTHER, ACME), (ACME, OWNER)):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await ask(caller, about)
        assert caught.value.code() is grpc.StatusCode.PERMISSION_DENIED
    # Claiming to be a home admin in the request does not make one.
    claimed = Person(OUTSIDER.subject, OUTSIDER.kind, OUTSIDER.org_id, admin=True)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await h.stub.CheckAccess(
            pb.CheckAccessRequest(
                principal=claimed.principal, space_id=world.secret_cid, action=pb.ACTION_READ
            ),
            metadata=h.auth(OUTSIDER),
            timeout=10,
        )
    assert caught.value.code() is grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await h.stub.ListSpaces(
            pb.ListSpacesRequest(principal=OWNER.principal, action=pb.ACTION_READ),
            metadata=h.auth(OUTSIDER),
            timeout=10,
        )
    assert caught.value.code() is grpc.StatusCode.PERMISSION_DENIED


async def test_no_token_is_unauthenticated(world: World) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await world.h.stub.GetSpace(pb.GetSpaceRequest(space_id=world.open_cid), timeout=10)
    assert caught.value.code() is grpc.StatusCode.UNAUTHENTICATED


async def test_an_employee_token_of_another_org_is_unauthenticated(world: World) -> None:
    """The kit's rule: an employee token must name the home org (GUILDHALL_HOME_ORG_ID).
    The same person with a home-org token is let in; this service keeps no copy of it."""
    h = world.h
    impostor = Person(OWNER.subject, OWNER.kind, "bi-acme")
    for method, request in (
        ("GetCommunity", pb.GetCommunityRequest(community_id=world.open_cid)),
        ("GetSpace", pb.GetSpaceRequest(space_id=world.secret_pid)),
        (
            "CheckAccess",
            pb.CheckAccessRequest(
                principal=impostor.principal, space_id=world.open_cid, action=pb.ACTION_READ
            ),
        ),
    ):
        err = await failure(h, method, request, impostor)
        assert err.code() is grpc.StatusCode.UNAUTHENTICATED, method
    reply = await call(h, "GetCommunity", pb.GetCommunityRequest(community_id=world.open_cid))
    assert reply.community.community_id == world.open_cid
