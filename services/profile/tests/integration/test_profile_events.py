"""Profile events on real Kafka and FerretDB: one event per state change, none lost on restart.

The service runs in-process with its own topic prefix and database. Every
assertion reads the profile topic back from the broker.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from guildhall.profile.v1 import events_pb2, profile_pb2
from guildhall_kit.outbox import OUTBOX_FIELD
from guildhall_profile.adapters.repository import ORGS
from guildhall_testsupport.profile import Harness, ids, read_topic, relay_idle, wait_for_events

pytestmark = pytest.mark.integration

TOPIC = "guildhall.profile.v1"


@pytest.fixture
async def harness(infra: Any, unique: str, tmp_path: Path) -> AsyncIterator[Harness]:
    h = Harness(infra.kafka_bootstrap_servers, infra.mongo_uri, unique, tmp_path / "keys")
    yield h
    await h.close()


async def test_each_state_change_publishes_exactly_one_event(harness: Harness) -> None:
    service = await harness.start()
    api = harness.stub(service)
    admin = harness.token("root", admin=True)

    org = await api.RegisterOrg(
        profile_pb2.RegisterOrgRequest(
            org_id="acme", kind=profile_pb2.ORG_KIND_VENDOR, display_name="Acme Ltd"
        ),
        metadata=admin,
        timeout=10,
    )
    assert org.org.version == 1
    await api.SuspendOrg(
        profile_pb2.SuspendOrgRequest(org_id="acme", reason="audit"), metadata=admin, timeout=10
    )
    await api.SuspendOrg(  # already suspended: nothing changes, nothing published
        profile_pb2.SuspendOrgRequest(org_id="acme", reason="again"), metadata=admin, timeout=10
    )
    await api.ReinstateOrg(
        profile_pb2.ReinstateOrgRequest(org_id="acme"), metadata=admin, timeout=10
    )
    await api.CreatePerson(
        profile_pb2.CreatePersonRequest(
            person_id="boss", org_id="home", display_name="Bo Boss", email="bo@corp.example"
        ),
        metadata=admin,
        timeout=10,
    )
    await api.CreatePerson(
        profile_pb2.CreatePersonRequest(
            person_id="ann",
            org_id="home",
            display_name="Ann Example",
            email="ann@corp.example",
            department="R&D",
            manager_id="boss",
        ),
        metadata=admin,
        timeout=10,
    )
    ann = harness.token("ann")
    await api.UpdateMyProfile(
        profile_pb2.UpdateMyProfileRequest(bio="Builds things"), metadata=ann, timeout=10
    )
    await api.UpdateMyProfile(  # same bio: no change, no event
        profile_pb2.UpdateMyProfileRequest(bio="Builds things"), metadata=ann, timeout=10
    )
    await api.UpdatePerson(
        profile_pb2.UpdatePersonRequest(person_id="ann", title="Staff Engineer"),
        metadata=admin,
        timeout=10,
    )
    await api.SetDeclaredExpertise(
        profile_pb2.SetDeclaredExpertiseRequest(tags=["python", "k8s"]), metadata=ann, timeout=10
    )
    await api.SetDeclaredExpertise(  # the same set again: nothing published
        profile_pb2.SetDeclaredExpertiseRequest(tags=["k8s", "python"]), metadata=ann, timeout=10
    )

    await relay_idle(service)
    events = await read_topic(harness.kafka, harness.topic_prefix + TOPIC)
    by_subject = sorted(ids(events), key=lambda pair: (pair[1] or "", pair[0]))
    assert sorted(ids([e for e in events if e.subject == "acme"])) == sorted(
        [("OrgRegistered", "acme"), ("OrgSuspended", "acme"), ("OrgReinstated", "acme")]
    )
    assert [pair for pair in by_subject if pair[1] in ("ann", "boss", "home")] == sorted(
        [
            ("OrgRegistered", "home"),  # the home org, created at first start
            ("PersonJoined", "boss"),
            ("PersonJoined", "ann"),
            ("ProfileUpdated", "ann"),
            ("ProfileUpdated", "ann"),
            ("ExpertiseDeclared", "ann"),
        ],
        key=lambda pair: (pair[1] or "", pair[0]),
    )
    assert len(events) == 9
    for event in events:
        assert event.key == event.subject
        assert event.source == "guildhall/profile"

    # Per-aggregate order and payloads: ann's events in the order they happened.
    anns = [e for e in events if e.key == "ann"]
    assert [e.type.rsplit(".", 1)[-1] for e in anns] == [
        "PersonJoined",
        "ProfileUpdated",
        "ProfileUpdated",
        "ExpertiseDeclared",
    ]
    joined = anns[0].parse(events_pb2.PersonJoined)
    assert joined.person.manager_id == "boss"
    assert joined.person.card.org_display_name == "Home"
    assert joined.actor_id == "root"
    first, second = (e.parse(events_pb2.ProfileUpdated) for e in anns[1:3])
    assert list(first.changed_fields) == ["bio"]
    assert first.actor_id == "ann"
    assert list(second.changed_fields) == ["title"]
    assert second.person.title == "Staff Engineer"
    assert second.person.version == 3
    declared = anns[3].parse(events_pb2.ExpertiseDeclared)
    assert list(declared.tags) == ["k8s", "python"]
    suspended = next(e for e in events if e.type.endswith("OrgSuspended"))
    assert suspended.parse(events_pb2.OrgSuspended).reason == "audit"


async def test_a_restart_between_write_and_publish_loses_no_event(harness: Harness) -> None:
    first = await harness.start()
    relay = first.ctx.relay
    assert relay is not None
    await relay_idle(first)  # the home org's event is out; nothing is in flight
    relay.stop()  # the write below is stored, but nothing publishes it in this process
    api = harness.stub(first)
    await api.RegisterOrg(
        profile_pb2.RegisterOrgRequest(
            org_id="globex", kind=profile_pb2.ORG_KIND_CUSTOMER, display_name="Globex"
        ),
        metadata=harness.token("root", admin=True),
        timeout=10,
    )
    pending = await first.ctx.db[ORGS].find_one({"_id": "globex"})
    assert pending is not None
    assert len(pending[OUTBOX_FIELD]) == 1
    await first.stop(drain_s=0)
    harness.services.remove(first)
    on_topic = await read_topic(harness.kafka, harness.topic_prefix + TOPIC)
    assert ("OrgRegistered", "globex") not in ids(on_topic)

    second = await harness.start()  # the same database: its relay finds the pending event
    events = await wait_for_events(
        harness.kafka,
        harness.topic_prefix + TOPIC,
        lambda e: e.subject == "globex",
        count=1,
    )
    assert ids(events) == [("OrgRegistered", "globex")]
    await relay_idle(second)
    again = await read_topic(harness.kafka, harness.topic_prefix + TOPIC)
    assert ids(again).count(("OrgRegistered", "globex")) == 1
    assert ids(again).count(("OrgRegistered", "home")) == 1  # bootstrap ran once, not twice
    doc = await second.ctx.db[ORGS].find_one({"_id": "globex"})
    assert doc is not None
    assert OUTBOX_FIELD not in doc


async def test_rejected_writes_publish_nothing(harness: Harness) -> None:
    service = await harness.start()
    api = harness.stub(service)
    admin = harness.token("root", admin=True)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await api.SuspendOrg(
            profile_pb2.SuspendOrgRequest(org_id="home", reason="no"), metadata=admin, timeout=10
        )
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await api.RegisterOrg(
            profile_pb2.RegisterOrgRequest(
                org_id="home", kind=profile_pb2.ORG_KIND_VENDOR, display_name="Imposter"
            ),
            metadata=admin,
            timeout=10,
        )
    assert info.value.code() == grpc.StatusCode.ALREADY_EXISTS
    await relay_idle(service)
    events = await read_topic(harness.kafka, harness.topic_prefix + TOPIC)
    assert ids(events) == [("OrgRegistered", "home")]
