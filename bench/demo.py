"""Demo data for ``make run``: a small enterprise with one pinhole, through the real RPCs.

Creates, once (a second run finds the vendor org and stops):

- the vendor org ``acme`` and its user ``vera``;
- employees ``alice`` (home admin), ``bob`` and ``carol``;
- the open community "Supply chain" (alice owner, bob member) with a question;
- the pinhole "Acme rollout", opened and granted to acme as contributor, with a post;
- notifications from all of it: carol declares "logistics" and the question is routed
  to her as an expert; vera watches the pinhole and hears of its post and of acme's
  grant;
- through the gateway, the OAuth client "Acme ERP" of acme (vera is acme's admin), a
  partner system; a later run rotates its secret, since a secret is shown only once.

Then prints dev tokens and the client's credentials to try the platform with. Local
use only.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

import grpc
import httpx2

from guildhall.community.v1 import community_pb2, community_pb2_grpc
from guildhall.notification.v1 import notification_pb2, notification_pb2_grpc
from guildhall.post.v1 import post_pb2, post_pb2_grpc
from guildhall.profile.v1 import profile_pb2, profile_pb2_grpc
from guildhall_kit.auth import PrincipalKind, mint_token
from guildhall_kit.auth.devkeys import ensure_dev_keys
from guildhall_testsupport.platform import bearer, settled

HOME = os.environ.get("GUILDHALL_HOME_ORG_ID", "home")
DEADLINE = 10.0


def _addr(service: str, default_port: int) -> str:
    return os.environ.get(f"GUILDHALL_{service.upper()}_ADDR", f"127.0.0.1:{default_port}")


def _token(subject: str, kind: PrincipalKind, org: str, roles: list[str] | None = None) -> str:
    keys = ensure_dev_keys()
    return mint_token(
        keys.private_key_pem, kid=keys.kid, subject=subject, kind=kind, org_id=org, roles=roles
    )


def _as(token: str) -> dict[str, Any]:
    return bearer(token, DEADLINE)


async def seed() -> dict[str, str]:
    """Create the demo data; returns the dev tokens by person. Idempotent by the vendor org."""
    admin = _token("alice", PrincipalKind.EMPLOYEE, HOME, ["admin"])
    bob = _token("bob", PrincipalKind.EMPLOYEE, HOME)
    vera = _token("vera", PrincipalKind.PARTNER, "acme", ["admin"])
    tokens = {
        "alice (home admin)": admin,
        "bob (employee)": bob,
        "vera (acme, partner, acme's admin)": vera,
    }
    async with (
        grpc.aio.insecure_channel(_addr("profile", 50051)) as p_ch,
        grpc.aio.insecure_channel(_addr("community", 50052)) as c_ch,
        grpc.aio.insecure_channel(_addr("post", 50053)) as post_ch,
        grpc.aio.insecure_channel(_addr("notification", 50054)) as n_ch,
    ):
        notifications = notification_pb2_grpc.NotificationServiceStub(n_ch)
        profile = profile_pb2_grpc.ProfileServiceStub(p_ch)
        community = community_pb2_grpc.CommunityServiceStub(c_ch)
        posts = post_pb2_grpc.PostServiceStub(post_ch)
        try:
            await profile.GetOrg(profile_pb2.GetOrgRequest(org_id="acme"), **_as(admin))
            print("  demo data already present")
            return tokens
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.NOT_FOUND:
                raise
        await profile.RegisterOrg(
            profile_pb2.RegisterOrgRequest(
                org_id="acme", kind=profile_pb2.ORG_KIND_VENDOR, display_name="Acme Logistics"
            ),
            **_as(admin),
        )
        people = [
            ("alice", HOME, "Alice Martin", "Head of Supply Chain"),
            ("bob", HOME, "Bob Okafor", "Logistics Engineer"),
            ("carol", HOME, "Carol Chen", "Procurement Lead"),
            ("vera", "acme", "Vera Novak", "Account Manager"),
        ]
        for person_id, org, name, title in people:
            await profile.CreatePerson(
                profile_pb2.CreatePersonRequest(
                    person_id=person_id,
                    org_id=org,
                    display_name=name,
                    email=f"{person_id}@{org}.example",
                    title=title,
                    department="Operations" if org == HOME else "",
                ),
                **_as(admin),
            )
        await profile.SetDeclaredExpertise(
            profile_pb2.SetDeclaredExpertiseRequest(tags=["logistics"]),
            **_as(_token("carol", PrincipalKind.EMPLOYEE, HOME)),
        )
        created = await community.CreateCommunity(
            community_pb2.CreateCommunityRequest(
                name="Supply chain",
                description="How we source, ship and receive.",
                visibility=community_pb2.COMMUNITY_VISIBILITY_OPEN,
                tags=["logistics", "procurement"],
            ),
            **_as(admin),
        )
        community_id = created.community.community_id
        await community.JoinCommunity(
            community_pb2.JoinCommunityRequest(community_id=community_id), **_as(bob)
        )
        await settled(
            posts.CreatePost,
            post_pb2.CreatePostRequest(
                space_id=community_id,
                type=post_pb2.POST_TYPE_QUESTION,
                title="Which incoterms do we use for sea freight?",
                body="We ship mostly FOB; is **CIF** ever preferred?",
                tags=["logistics"],
            ),
            bob,
        )
        pinhole = await community.ProposePinhole(
            community_pb2.ProposePinholeRequest(
                community_id=community_id,
                title="Acme rollout",
                purpose="Plan the warehouse rollout with Acme.",
            ),
            **_as(admin),
        )
        pinhole_id = pinhole.pinhole.pinhole_id
        await community.OpenPinhole(
            community_pb2.OpenPinholeRequest(pinhole_id=pinhole_id), **_as(admin)
        )
        await settled(
            community.GrantPinhole,
            community_pb2.GrantPinholeRequest(
                pinhole_id=pinhole_id,
                org_id="acme",
                level=community_pb2.GRANT_LEVEL_CONTRIBUTOR,
            ),
            admin,
        )
        await settled(
            notifications.SetSubscription,
            notification_pb2.SetSubscriptionRequest(
                space_id=pinhole_id, level=notification_pb2.SUBSCRIPTION_LEVEL_WATCHING
            ),
            vera,
        )
        await settled(
            posts.CreatePost,
            post_pb2.CreatePostRequest(
                space_id=pinhole_id,
                type=post_pb2.POST_TYPE_DISCUSSION,
                title="Rollout plan, phase 1",
                body="Dock schedules for the first two weeks.",
            ),
            admin,
        )
        print(f"  demo data: community {community_id}, pinhole {pinhole_id} (granted to acme)")
    return tokens


DEMO_CLIENT = "Acme ERP"


async def demo_client(vera: str) -> tuple[str, str]:
    """Acme's demo OAuth client and a fresh secret: created once, then rotated each run.

    Raises:
        httpx2.HTTPError: the gateway did not answer as expected.
    """
    headers = {"authorization": f"Bearer {vera}"}
    base = f"http://127.0.0.1:{os.environ.get('GUILDHALL_HTTP_PORT', '8080')}"
    async with httpx2.AsyncClient(base_url=base, timeout=DEADLINE) as http:
        listed = await http.get("/v1/orgs/acme/clients", headers=headers)
        listed.raise_for_status()
        existing = [
            c["client_id"]
            for c in listed.json()["clients"]
            if c["name"] == DEMO_CLIENT and c["status"] == "active"
        ]
        if existing:
            reply = await http.post(f"/v1/orgs/acme/clients/{existing[0]}/secret", headers=headers)
        else:
            body = {"name": DEMO_CLIENT, "scopes": ["pinholes:read", "pinholes:write"]}
            reply = await http.post("/v1/orgs/acme/clients", json=body, headers=headers)
        reply.raise_for_status()
        created = reply.json()
        return str(created["client"]["client_id"]), str(created["client_secret"])


def main() -> None:
    try:
        tokens = asyncio.run(seed())
    except grpc.aio.AioRpcError as exc:
        print(f"  demo data not seeded: {exc.code().name}: {exc.details()}", file=sys.stderr)
        sys.exit(1)
    print("  dev tokens (valid 1 h; `make token` mints more):")
    for who, token in tokens.items():
        print(f"    {who}: {token}")
    vera = next(t for who, t in tokens.items() if who.startswith("vera"))
    try:
        client_id, secret = asyncio.run(demo_client(vera))
    except httpx2.HTTPError as exc:
        print(f"  demo OAuth client not created: {exc}", file=sys.stderr)
        sys.exit(1)
    print(f"  acme's partner system ({DEMO_CLIENT}, client credentials; secret shown once):")
    print(f"    client_id={client_id} client_secret={secret}")
    print(
        f'    curl -s -u "{client_id}:{secret}" -d grant_type=client_credentials '
        "http://127.0.0.1:8080/oauth/token"
    )


if __name__ == "__main__":
    main()
