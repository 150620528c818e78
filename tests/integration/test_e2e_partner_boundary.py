"""The partner boundary end to end, across real service processes.

One story: an enterprise opens a pinhole of a community to a vendor. The
vendor's user sees that pinhole — its content, its search hits, the cards of
its hosts — and nothing else; a user of another partner org sees nothing; the
moment the grant is revoked the vendor's very next request is refused, while
the enterprise keeps the content.
"""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest

from guildhall.community.v1 import community_pb2, community_pb2_grpc
from guildhall.post.v1 import post_pb2, post_pb2_grpc
from guildhall.profile.v1 import profile_pb2, profile_pb2_grpc
from guildhall_kit.auth import PrincipalKind
from guildhall_testsupport.platform import Platform, bearer, settled

pytestmark = [pytest.mark.integration, pytest.mark.slow]

HOME = "home"
SETTLE = 30.0  # seconds the search index may take to follow the post topic


def md(token: str) -> dict[str, Any]:
    return bearer(token)


async def refused(call: Any, request: Any, token: str) -> grpc.StatusCode:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call(request, **md(token))
    code: grpc.StatusCode = info.value.code()
    return code


async def test_partner_sees_its_pinhole_and_nothing_else_until_revoked(
    platform: Platform,
) -> None:
    admin = platform.token("alice", PrincipalKind.EMPLOYEE, HOME, ["admin"])
    bob = platform.token("bob", PrincipalKind.EMPLOYEE, HOME)
    vera = platform.token("vera", PrincipalKind.PARTNER, "acme")
    gina = platform.token("gina", PrincipalKind.PARTNER, "globex")

    async with (
        grpc.aio.insecure_channel(platform.addr("profile")) as p_ch,
        grpc.aio.insecure_channel(platform.addr("community")) as c_ch,
        grpc.aio.insecure_channel(platform.addr("post")) as post_ch,
    ):
        profile = profile_pb2_grpc.ProfileServiceStub(p_ch)
        community = community_pb2_grpc.CommunityServiceStub(c_ch)
        posts = post_pb2_grpc.PostServiceStub(post_ch)

        # --- the enterprise sets up ------------------------------------------------
        for org_id, kind in (
            ("acme", profile_pb2.ORG_KIND_VENDOR),
            ("globex", profile_pb2.ORG_KIND_SUPPLIER),
        ):
            await profile.RegisterOrg(
                profile_pb2.RegisterOrgRequest(org_id=org_id, kind=kind, display_name=org_id),
                **md(admin),
            )
        for person_id, org in (
            ("alice", HOME),
            ("bob", HOME),
            ("vera", "acme"),
            ("gina", "globex"),
        ):
            await profile.CreatePerson(
                profile_pb2.CreatePersonRequest(
                    person_id=person_id,
                    org_id=org,
                    display_name=person_id.title(),
                    email=f"{person_id}@{org}.example",
                    title="Engineer",
                ),
                **md(admin),
            )
        created = await community.CreateCommunity(
            community_pb2.CreateCommunityRequest(
                name="Supply chain",
                description="Internal",
                visibility=community_pb2.COMMUNITY_VISIBILITY_OPEN,
            ),
            **md(admin),
        )
        main_space = created.community.community_id
        await community.JoinCommunity(
            community_pb2.JoinCommunityRequest(community_id=main_space), **md(bob)
        )
        internal = await settled(
            posts.CreatePost,
            post_pb2.CreatePostRequest(
                space_id=main_space,
                type=post_pb2.POST_TYPE_QUESTION,
                title="Internal margin targets for incoterms",
                body="Confidential: our margin on incoterms deals.",
                tags=["incoterms"],
            ),
            bob,
        )
        proposed = await community.ProposePinhole(
            community_pb2.ProposePinholeRequest(
                community_id=main_space, title="Acme rollout", purpose="Work with Acme"
            ),
            **md(admin),
        )
        pinhole = proposed.pinhole.pinhole_id
        await community.OpenPinhole(
            community_pb2.OpenPinholeRequest(pinhole_id=pinhole), **md(admin)
        )
        await settled(
            community.GrantPinhole,
            community_pb2.GrantPinholeRequest(
                pinhole_id=pinhole, org_id="acme", level=community_pb2.GRANT_LEVEL_CONTRIBUTOR
            ),
            admin,
        )
        shared = await settled(
            posts.CreatePost,
            post_pb2.CreatePostRequest(
                space_id=pinhole,
                type=post_pb2.POST_TYPE_DISCUSSION,
                title="Rollout plan with incoterms",
                body="Shared with Acme.",
                tags=["incoterms"],
            ),
            admin,
        )

        # --- the vendor's user: exactly the pinhole -----------------------------------
        spaces = await community.ListSpaces(
            community_pb2.ListSpacesRequest(
                principal=community_pb2.Principal(
                    person_id="vera",
                    org_id="acme",
                    kind=community_pb2.PRINCIPAL_KIND_PARTNER_USER,
                ),
                action=community_pb2.ACTION_READ,
            ),
            **md(vera),
        )
        assert [s.space.space_id for s in spaces.spaces] == [pinhole]
        feed = await posts.ListSpaceFeed(
            post_pb2.ListSpaceFeedRequest(space_id=pinhole), **md(vera)
        )
        assert [p.post_id for p in feed.posts] == [shared.post.post_id]
        home = await posts.ListHomeFeed(post_pb2.ListHomeFeedRequest(), **md(vera))
        assert [p.post_id for p in home.posts] == [shared.post.post_id]
        # Search finds the shared post and never the internal one with the same words.
        # (The index follows the post topic; wait until it holds both posts.)
        everything = post_pb2.SearchRequest(query="incoterms")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SETTLE
        while len((await posts.Search(everything, **md(admin))).hits) < 2:
            assert loop.time() < deadline, "the search index never caught up"
            await asyncio.sleep(0.2)
        hits = await posts.Search(everything, **md(vera))
        assert [h.post.post_id for h in hits.hits] == [shared.post.post_id]
        # Everything outside the pinhole looks missing, exactly like a missing id.
        get_internal = post_pb2.GetPostRequest(post_id=internal.post.post_id)
        get_missing = post_pb2.GetPostRequest(post_id="01nonexistent000000000000x")
        assert await refused(posts.GetPost, get_internal, vera) == grpc.StatusCode.NOT_FOUND
        assert await refused(posts.GetPost, get_missing, vera) == grpc.StatusCode.NOT_FOUND
        main_feed = post_pb2.ListSpaceFeedRequest(space_id=main_space)
        assert await refused(posts.ListSpaceFeed, main_feed, vera) == grpc.StatusCode.NOT_FOUND
        # Cards: the pinhole's host yes; an employee who takes no part, no.
        card = await settled(
            profile.GetPersonCard, profile_pb2.GetPersonCardRequest(person_id="alice"), vera
        )
        assert card.card.display_name == "Alice"
        bob_card = profile_pb2.GetPersonCardRequest(person_id="bob")
        assert await refused(profile.GetPersonCard, bob_card, vera) == grpc.StatusCode.NOT_FOUND
        # The vendor contributes.
        own = await posts.CreatePost(
            post_pb2.CreatePostRequest(
                space_id=pinhole,
                type=post_pb2.POST_TYPE_DISCUSSION,
                title="Dock schedule",
                body="From Acme.",
            ),
            **md(vera),
        )

        # --- a partner of another org: nothing -----------------------------------------
        pinhole_feed = post_pb2.ListSpaceFeedRequest(space_id=pinhole)
        assert await refused(posts.ListSpaceFeed, pinhole_feed, gina) == grpc.StatusCode.NOT_FOUND
        gina_hits = await posts.Search(post_pb2.SearchRequest(query="incoterms"), **md(gina))
        assert list(gina_hits.hits) == []

        # --- revocation: the very next request is refused --------------------------------
        await community.RevokeGrant(
            community_pb2.RevokeGrantRequest(pinhole_id=pinhole, org_id="acme"), **md(admin)
        )
        assert await refused(posts.ListSpaceFeed, pinhole_feed, vera) == grpc.StatusCode.NOT_FOUND
        own_post = post_pb2.GetPostRequest(post_id=own.post.post_id)
        assert await refused(posts.GetPost, own_post, vera) == grpc.StatusCode.NOT_FOUND
        alice_card = profile_pb2.GetPersonCardRequest(person_id="alice")
        assert await refused(profile.GetPersonCard, alice_card, vera) == grpc.StatusCode.NOT_FOUND
        after = await posts.Search(post_pb2.SearchRequest(query="incoterms"), **md(vera))
        assert list(after.hits) == []

        # --- the enterprise keeps the content ---------------------------------------------
        kept = await settled(posts.ListSpaceFeed, pinhole_feed, bob)
        assert {p.post_id for p in kept.posts} == {shared.post.post_id, own.post.post_id}
