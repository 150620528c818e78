"""What partner users see of people, against the REAL community service.

Both services run in-process on the same topic prefix, so the community
service learns orgs and people from the profile service's own events, and the
profile service learns hosts from the community service's events. Pinholes
are opened, granted and revoked through the community service's RPCs; the
exactness of revocation is the community service's ListSpaces, which profile
asks on every partner request. The test publishes one PostCreated itself, as
the post service does, to make an author.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc
import pytest

from guildhall.community.v1 import community_pb2 as cpb
from guildhall.community.v1 import community_pb2_grpc
from guildhall.community.v1 import events_pb2 as cevents
from guildhall.post.v1 import events_pb2 as post_events
from guildhall.post.v1 import post_pb2
from guildhall.profile.v1 import profile_pb2 as pb
from guildhall.profile.v1 import profile_pb2_grpc
from guildhall_community.app import build as build_community
from guildhall_community.settings import CommunitySettings
from guildhall_kit.auth import PrincipalKind
from guildhall_kit.bus import BusConfig, Event, Producer, load_registry
from guildhall_kit.mongo import make_client
from guildhall_kit.service import RunningService, start_service
from guildhall_kit.settings import load_settings
from guildhall_profile.adapters.consumers import COMMUNITY_GROUP, CommunityEvents
from guildhall_profile.adapters.repository import AUTHORS, HOSTS
from guildhall_testsupport.profile import WITHIN, Harness, consumers_closed, repository

pytestmark = pytest.mark.integration

Metadata = tuple[tuple[str, str]]


@dataclass
class World:
    """Two services, an enterprise, two partner orgs and one open pinhole."""

    harness: Harness
    profile_service: RunningService[Any]
    community_service: RunningService[CommunitySettings]
    profile: profile_pb2_grpc.ProfileServiceAsyncStub
    community: community_pb2_grpc.CommunityServiceAsyncStub
    community_id: str
    pinhole_id: str

    def employee(self, subject: str, *, admin: bool = False) -> Metadata:
        return self.harness.token(subject, admin=admin)

    def partner(self, subject: str, org: str) -> Metadata:
        return self.harness.token(subject, kind=PrincipalKind.PARTNER, org_id=org)


async def until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Poll ``check`` (another service's read model: no event to wait on) until it holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WITHIN
    while loop.time() < deadline:
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not within {WITHIN}s: {what}")


async def code_of(call: Awaitable[Any]) -> grpc.StatusCode:
    try:
        await call
    except grpc.aio.AioRpcError as exc:
        return exc.code()
    return grpc.StatusCode.OK


@pytest.fixture(scope="module")
async def world(infra: Any, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    harness = Harness(
        infra.kafka_bootstrap_servers,
        infra.mongo_uri,
        secrets.token_hex(4),
        tmp_path_factory.mktemp("keys"),
    )
    community_settings = load_settings(
        CommunitySettings,
        kafka_bootstrap_servers=harness.kafka,
        mongo_uri=harness.mongo_uri,
        mongo_database=f"community_for_profile_{harness.unique}",
        topic_prefix=harness.topic_prefix,
        grpc_port=0,
        jwt_jwks_file=harness.keys.jwks_path,
        drain_seconds=0,
    )
    community_service = await start_service(community_settings, build_community)
    await community_service.app.wait_ready(WITHIN)
    await community_service.wait_consumers_assigned(WITHIN)
    harness.community_addr = f"127.0.0.1:{community_service.port}"
    profile_service = await harness.start()
    profile = harness.stub(profile_service)
    channel = grpc.aio.insecure_channel(harness.community_addr)
    community = community_pb2_grpc.CommunityServiceStub(channel)
    admin = harness.token("root", admin=True)

    for org_id, kind in (("acme", pb.ORG_KIND_VENDOR), ("globex", pb.ORG_KIND_SUPPLIER)):
        await profile.RegisterOrg(
            pb.RegisterOrgRequest(org_id=org_id, kind=kind, display_name=org_id.title()),
            metadata=admin,
            timeout=10,
        )
    people = {
        "olga": ("home", "Owner"),
        "mo": ("home", "Moderator"),
        "mem": ("home", "Writer"),
        "sam": ("home", "Stranger"),
        "vera": ("acme", "Vendor lead"),
        "vic": ("acme", "Vendor engineer"),
        "gus": ("globex", "Supplier"),
    }
    for pid, (org, title) in people.items():
        await profile.CreatePerson(
            pb.CreatePersonRequest(
                person_id=pid,
                org_id=org,
                display_name=pid.title(),
                email=f"{pid}@{org}.example",
                title=title,
            ),
            metadata=admin,
            timeout=10,
        )

    olga = harness.token("olga")
    created = await community.CreateCommunity(
        cpb.CreateCommunityRequest(
            name="Supply chain", visibility=cpb.COMMUNITY_VISIBILITY_PRIVATE
        ),
        metadata=olga,
        timeout=10,
    )
    community_id = created.community.community_id

    def invited(person_id: str, role: Any) -> Callable[[], Awaitable[bool]]:
        # People reach the community service as events, each person's on its own
        # key: one being known says nothing about another, so wait for each.
        async def attempt() -> bool:
            try:
                await community.InviteMember(
                    cpb.InviteMemberRequest(
                        community_id=community_id, person_id=person_id, role=role
                    ),
                    metadata=olga,
                    timeout=10,
                )
            except grpc.aio.AioRpcError as exc:
                if exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.FAILED_PRECONDITION):
                    return False
                raise
            return True

        return attempt

    await until(invited("mo", cpb.ROLE_MODERATOR), "the community service to learn of mo")
    await until(invited("mem", cpb.ROLE_MEMBER), "the community service to learn of mem")
    proposed = await community.ProposePinhole(
        cpb.ProposePinholeRequest(
            community_id=community_id, title="Forecasts", purpose="Share demand forecasts"
        ),
        metadata=olga,
        timeout=10,
    )
    pinhole_id = proposed.pinhole.pinhole_id
    await community.GrantPinhole(
        cpb.GrantPinholeRequest(pinhole_id=pinhole_id, org_id="acme", level=cpb.GRANT_LEVEL_VIEWER),
        metadata=olga,
        timeout=10,
    )
    await community.GrantPinhole(
        cpb.GrantPinholeRequest(
            pinhole_id=pinhole_id, org_id="globex", level=cpb.GRANT_LEVEL_CONTRIBUTOR
        ),
        metadata=olga,
        timeout=10,
    )
    await community.OpenPinhole(
        cpb.OpenPinholeRequest(pinhole_id=pinhole_id), metadata=olga, timeout=10
    )

    # An employee member wrote in the pinhole (published as the post service will).
    post = post_events.PostCreated(
        post=post_pb2.Post(post_id="p1", space_id=pinhole_id, author_id="mem", title="Q3")
    )
    config = BusConfig(
        bootstrap_servers=harness.kafka, topic_prefix=harness.topic_prefix, client_id="test-post"
    )
    async with Producer(config, registry=load_registry()) as producer:
        await producer.publish(
            "guildhall.post.v1", Event.from_message(post, source="guildhall/post", key="p1")
        )

    db = profile_service.ctx.db

    async def read_models_caught_up() -> bool:
        hosts = await db[HOSTS].count_documents({"community_id": community_id, "host": True})
        authors = await db[AUTHORS].count_documents({"space_id": pinhole_id})
        return hosts == 2 and authors == 1

    await until(read_models_caught_up, "profile to learn hosts and authors")

    yield World(
        harness,
        profile_service,
        community_service,
        profile,
        community,
        community_id,
        pinhole_id,
    )
    await channel.close()
    await community_service.stop(drain_s=0)
    await consumers_closed(community_service)
    client = make_client(harness.mongo_uri, app_name="profile-test-cleanup")
    await client.drop_database(community_settings.database_name)
    await client.close()
    await harness.close()


async def card(world: World, who: Metadata, person_id: str) -> grpc.StatusCode:
    return await code_of(
        world.profile.GetPersonCard(
            pb.GetPersonCardRequest(person_id=person_id), metadata=who, timeout=10
        )
    )


async def test_partner_sees_cards_of_pinhole_participants_only(world: World) -> None:
    vera = world.partner("vera", "acme")
    reply = await world.profile.GetPersonCard(
        pb.GetPersonCardRequest(person_id="olga"), metadata=vera, timeout=10
    )
    assert reply.card.display_name == "Olga"
    assert reply.card.title == "Owner"
    assert reply.card.org_display_name == "Home"
    for visible in ("olga", "mo", "mem", "vic", "vera"):
        assert await card(world, vera, visible) == grpc.StatusCode.OK, visible
    # a non-participating employee, another partner org's user, and nobody at all
    for hidden in ("sam", "gus", "nobody"):
        assert await card(world, vera, hidden) == grpc.StatusCode.NOT_FOUND, hidden

    batch = await world.profile.BatchGetPersonCards(
        pb.BatchGetPersonCardsRequest(person_ids=["sam", "mo", "nobody", "olga", "gus"]),
        metadata=vera,
        timeout=10,
    )
    assert [c.person_id for c in batch.cards] == ["mo", "olga"]
    # a card is all a partner gets: no e-mail, no department, no expertise
    assert set(pb.PersonCard.DESCRIPTOR.fields_by_name) == {
        "person_id",
        "display_name",
        "title",
        "org_id",
        "org_display_name",
        "kind",
    }


async def test_not_found_for_a_hidden_person_is_the_same_as_for_a_missing_one(
    world: World,
) -> None:
    vera = world.partner("vera", "acme")
    errors = {}
    for pid in ("sam", "nobody"):
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await world.profile.GetPersonCard(
                pb.GetPersonCardRequest(person_id=pid), metadata=vera, timeout=10
            )
        errors[pid] = (info.value.code(), (info.value.details() or "").replace(pid, "<id>"))
    assert errors["sam"] == errors["nobody"]


async def test_partner_calling_employee_only_methods_is_denied_before_any_lookup(
    world: World,
) -> None:
    vera = world.partner("vera", "acme")
    calls: list[Awaitable[Any]] = []
    for pid in ("olga", "nobody"):  # existing or not: the same answer
        calls += [
            world.profile.GetPerson(pb.GetPersonRequest(person_id=pid), metadata=vera, timeout=10),
            world.profile.GetManagerChain(
                pb.GetManagerChainRequest(person_id=pid), metadata=vera, timeout=10
            ),
            world.profile.ListDirectReports(
                pb.ListDirectReportsRequest(person_id=pid), metadata=vera, timeout=10
            ),
            world.profile.BatchGetPeople(
                pb.BatchGetPeopleRequest(person_ids=[pid]), metadata=vera, timeout=10
            ),
        ]
    calls += [
        world.profile.ListPeopleByDepartment(
            pb.ListPeopleByDepartmentRequest(department="R&D"), metadata=vera, timeout=10
        ),
        world.profile.FindExperts(
            pb.FindExpertsRequest(tags=["python"]), metadata=vera, timeout=10
        ),
        world.profile.ListOrgs(pb.ListOrgsRequest(), metadata=vera, timeout=10),
        world.profile.SetDeclaredExpertise(
            pb.SetDeclaredExpertiseRequest(tags=["go"]), metadata=vera, timeout=10
        ),
        world.profile.RegisterOrg(
            pb.RegisterOrgRequest(kind=pb.ORG_KIND_VENDOR, display_name="X"),
            metadata=vera,
            timeout=10,
        ),
    ]
    codes = [await code_of(call) for call in calls]
    assert codes == [grpc.StatusCode.PERMISSION_DENIED] * len(calls)


async def test_partner_sees_only_their_own_org_and_profile(world: World) -> None:
    vera = world.partner("vera", "acme")
    org = await world.profile.GetOrg(pb.GetOrgRequest(org_id="acme"), metadata=vera, timeout=10)
    assert org.org.display_name == "Acme"
    for other in ("globex", "home", "nothing"):
        code = await code_of(
            world.profile.GetOrg(pb.GetOrgRequest(org_id=other), metadata=vera, timeout=10)
        )
        assert code == grpc.StatusCode.NOT_FOUND, other
    me = await world.profile.GetMyProfile(pb.GetMyProfileRequest(), metadata=vera, timeout=10)
    assert me.person.org_id == "acme"


async def test_after_the_grant_is_revoked_the_very_next_call_is_not_found(world: World) -> None:
    vic = world.partner("vic", "acme")
    assert await card(world, vic, "olga") == grpc.StatusCode.OK
    await world.community.RevokeGrant(
        cpb.RevokeGrantRequest(pinhole_id=world.pinhole_id, org_id="acme"),
        metadata=world.employee("olga"),
        timeout=10,
    )
    # no waiting: the next call after RevokeGrant returned
    assert await card(world, vic, "olga") == grpc.StatusCode.NOT_FOUND
    for pid in ("mo", "mem", "vera"):
        assert await card(world, vic, pid) == grpc.StatusCode.NOT_FOUND, pid
    assert await card(world, vic, "vic") == grpc.StatusCode.OK  # their own card stays
    # the other org's grant is untouched
    assert await card(world, world.partner("gus", "globex"), "olga") == grpc.StatusCode.OK


async def test_a_suspended_partner_org_is_refused_everywhere(world: World) -> None:
    gus = world.partner("gus", "globex")
    admin = world.employee("root", admin=True)
    assert await card(world, gus, "mo") == grpc.StatusCode.OK
    await world.profile.SuspendOrg(
        pb.SuspendOrgRequest(org_id="globex", reason="audit"), metadata=admin, timeout=10
    )
    assert await card(world, gus, "mo") == grpc.StatusCode.PERMISSION_DENIED
    assert await card(world, gus, "gus") == grpc.StatusCode.PERMISSION_DENIED
    code = await code_of(
        world.profile.GetMyProfile(pb.GetMyProfileRequest(), metadata=gus, timeout=10)
    )
    assert code == grpc.StatusCode.PERMISSION_DENIED
    await world.profile.ReinstateOrg(
        pb.ReinstateOrgRequest(org_id="globex"), metadata=admin, timeout=10
    )
    assert await card(world, gus, "gus") == grpc.StatusCode.OK


async def test_employees_see_everyone(world: World) -> None:
    sam = world.employee("sam")
    batch = await world.profile.BatchGetPersonCards(
        pb.BatchGetPersonCardsRequest(person_ids=["gus", "vera", "olga", "nobody"]),
        metadata=sam,
        timeout=10,
    )
    assert [c.person_id for c in batch.cards] == ["gus", "vera", "olga"]


async def test_late_membership_events_do_not_undo_newer_ones(world: World) -> None:
    """A person's membership events can arrive out of order; the highest version wins."""
    handler = next(
        c.handler for c in world.profile_service.parts.consumers if c.group == COMMUNITY_GROUP
    )

    def event(message: Any) -> Event:
        return Event.from_message(message, source="guildhall/community", key="c-late")

    left = cevents.MemberLeft(
        community_id="c-late", person_id="sam", role=cpb.ROLE_MODERATOR, membership_version=3
    )
    promoted = cevents.RoleChanged(
        community_id="c-late",
        person_id="sam",
        previous_role=cpb.ROLE_MEMBER,
        role=cpb.ROLE_MODERATOR,
        membership_version=2,
    )
    assert isinstance(handler, CommunityEvents)
    await handler(event(left))
    await handler(event(promoted))  # older, arrives last: ignored
    repo = repository(world.profile_service)
    assert await repo.hosts_among(["c-late"], ["sam"]) == set()
    rejoined = cevents.MemberJoined(
        community_id="c-late", person_id="sam", role=cpb.ROLE_MODERATOR, membership_version=4
    )
    await handler(event(rejoined))
    assert await repo.hosts_among(["c-late"], ["sam"]) == {("c-late", "sam")}
