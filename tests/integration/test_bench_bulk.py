"""The bulk seed of ``make bench`` writes what the services' own consumers would write.

:mod:`bench.bulk` projects the community documents it seeds straight into the post and
notification services' read models. Each projected document is compared here with the
one the service's repository writes for the same facts (the method its consumer calls),
so a change to a read model's fields fails this test instead of silently skewing the
benchmark. Against the real FerretDB.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from bench import bulk
from bench import seed as community_seed
from guildhall_kit.mongo import Document, make_client
from guildhall_notification.adapters.repository.readmodels import ReadModels
from guildhall_notification.domain import model as n
from guildhall_notification.domain.routing import Expertise
from guildhall_post.adapters.repository.readmodel import ReadModelRepository
from guildhall_post.domain import access as a

pytestmark = pytest.mark.integration

SCALE = bulk.BulkScale(
    "test", community_seed.Scale(people=150, communities=12, experts=30, partner_orgs=3, pinholes=6)
)
TAGS = ["logistics", "finance", "legal", "cloud"]


@pytest.fixture
async def seeded(
    infra: Any, unique: str
) -> AsyncIterator[tuple[bulk.Seeded, dict[str, AsyncDatabase[Document]]]]:
    names = {s: f"t{unique}_bulk_{s}" for s in (*bulk.DATABASES, "reference")}
    client = make_client(infra.mongo_uri, app_name="test-bench-bulk", timeout_ms=60_000)
    try:
        got = await bulk.seed(SCALE, infra.mongo_uri, tags=TAGS, home="home", databases=names)
        yield got, {s: client[name] for s, name in names.items()}
    finally:
        for name in names.values():
            await client.drop_database(name)
        await client.close()


def _same(projected: Document | None, written: Document | None) -> None:
    assert projected is not None
    assert written is not None
    assert projected == written


async def test_post_read_model_documents_are_the_consumers(
    seeded: tuple[bulk.Seeded, dict[str, AsyncDatabase[Document]]],
) -> None:
    _, dbs = seeded
    post, ref = dbs["post"], dbs["reference"]
    rm = ReadModelRepository(ref)
    member = await post["rm_memberships"].find_one({"role": {"$ne": ""}})
    assert member is not None
    await rm.put_membership(
        member["community_id"],
        member["person_id"],
        a.Role(member["role"]),
        member["membership_version"],
    )
    _same(member, await ref["rm_memberships"].find_one({"_id": member["_id"]}))

    community = await post["rm_communities"].find_one({})
    assert community is not None
    await rm.put_community(
        community["_id"],
        community["version"],
        visibility=a.Visibility(community["visibility"]),
        state=a.CommunityState(community["state"]),
        name=community["name"],
    )
    _same(community, await ref["rm_communities"].find_one({"_id": community["_id"]}))

    pinhole = await post["rm_pinholes"].find_one({"grants": {"$ne": {}}})
    assert pinhole is not None
    await rm.put_pinhole(
        pinhole["_id"],
        pinhole["version"],
        pinhole["community_id"],
        state=a.PinholeState(pinhole["state"]),
        ever_opened=pinhole["ever_opened"],
        expires_at=pinhole["expires_at"],
        grants=pinhole["grants"],
        title=pinhole["title"],
    )
    _same(pinhole, await ref["rm_pinholes"].find_one({"_id": pinhole["_id"]}))

    for kind in ("employee", "partner"):
        person = await post["rm_people"].find_one({"kind": kind})
        assert person is not None
        await rm.put_person(person["_id"], partner=kind == "partner", org_id=person["org_id"])
        _same(person, await ref["rm_people"].find_one({"_id": person["_id"]}))

    expert = await post["rm_expertise"].find_one({})
    assert expert is not None
    await rm.declare_expertise(expert["_id"], expert["declared"])
    _same(expert, await ref["rm_expertise"].find_one({"_id": expert["_id"]}))


async def test_notification_read_model_documents_are_the_consumers(
    seeded: tuple[bulk.Seeded, dict[str, AsyncDatabase[Document]]],
) -> None:
    _, dbs = seeded
    notification, ref = dbs["notification"], dbs["reference"]
    models = ReadModels(ref, writer=ref)
    member = await notification["memberships"].find_one({"role": {"$ne": None}})
    assert member is not None
    await models.put_membership(
        member["community_id"], member["person_id"], n.Role(member["role"]), member["version"]
    )
    _same(member, await ref["memberships"].find_one({"_id": member["_id"]}))

    community = await notification["spaces"].find_one({"is_pinhole": False})
    assert community is not None
    await models.put_community(
        community["_id"],
        name=community["title"],
        visibility=n.Visibility(community["visibility"]),
        archived=community["archived"],
        version=community["version"],
    )
    _same(community, await ref["spaces"].find_one({"_id": community["_id"]}))

    pinhole = await notification["spaces"].find_one({"is_pinhole": True, "pinhole_state": "open"})
    assert pinhole is not None
    await models.put_pinhole(
        pinhole["_id"],
        community_id=pinhole["community_id"],
        version=pinhole["version"],
        title=pinhole["title"],
        state=n.PinholeState(pinhole["pinhole_state"]),
        grants=pinhole["grants"],
    )
    _same(pinhole, await ref["spaces"].find_one({"_id": pinhole["_id"]}))

    person = await notification["people"].find_one({"kind": "partner"})
    assert person is not None
    await models.put_person(
        n.Person(
            person_id=person["_id"],
            org_id=person["org_id"],
            kind=n.PersonKind(person["kind"]),
            display_name=person["display_name"],
            email=person["email"],
        ),
        person["version"],
    )
    _same(person, await ref["people"].find_one({"_id": person["_id"]}))

    expert = await notification["experts"].find_one({})
    assert expert is not None
    detail = {d["tag"]: Expertise(d["declared"], d["earned"]) for d in expert["detail"]}
    await models.change_expertise(expert["_id"], lambda _old: detail, event_id="seeded")
    written = await ref["experts"].find_one({"_id": expert["_id"]})
    assert written is not None
    assert {k: v for k, v in written.items() if k != "_applied_events"} == expert
    rows = notification["expert_tags"].find({"person_id": expert["_id"]}).sort("_id")
    seeded_rows = [r async for r in rows]
    assert seeded_rows
    assert seeded_rows == [
        r async for r in ref["expert_tags"].find({"person_id": expert["_id"]}).sort("_id")
    ]

    item = await notification["items"].find_one({"type": "question"})
    assert item is not None
    await models.put_item(
        n.Item(
            post_id=item["_id"],
            space_id=item["space_id"],
            type=n.ItemType(item["type"]),
            author_id=item["author_id"],
            title=item["title"],
            tags=tuple(item["tags"]),
        )
    )
    _same(item, await ref["items"].find_one({"_id": item["_id"]}))


async def test_the_mix_sample_is_what_the_read_models_say(
    seeded: tuple[bulk.Seeded, dict[str, AsyncDatabase[Document]]],
) -> None:
    got, dbs = seeded
    rm = ReadModelRepository(dbs["post"])
    employees = [p for p in got.people if not p.partner]
    partners = [p for p in got.people if p.partner]
    assert employees
    assert partners
    for person in employees[:40]:
        roles = await rm.roles(person.person_id, person.spaces)
        assert set(roles) == set(person.spaces), person.person_id
    spaces = await rm.spaces([s for p in partners for s in p.spaces])
    for person in partners:
        for space in person.spaces:
            pinhole = spaces[space].pinhole
            assert pinhole is not None
            assert pinhole.state is a.PinholeState.OPEN
            assert pinhole.grants[person.org_id] == "contributor"
    assert got.posts
    assert got.questions
    post_ids = [p for p, _ in got.posts[:20]]
    stored = await dbs["post"]["posts"].count_documents({"_id": {"$in": post_ids}})
    assert stored == len(post_ids)
