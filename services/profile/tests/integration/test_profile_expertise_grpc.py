"""Expertise earned from AnswerAccepted events on real Kafka and FerretDB, and the directory.

The tests publish AnswerAccepted events on the post topic themselves with the
kit's producer, as the post service does (source ``guildhall/post``, keyed by
question id).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from guildhall.post.v1 import events_pb2 as post_events
from guildhall.profile.v1 import events_pb2, profile_pb2, profile_pb2_grpc
from guildhall_kit.bus import BusConfig, Event, Producer, load_registry
from guildhall_kit.service import RunningService
from guildhall_profile.adapters.consumers import POST_GROUP, PostEvents
from guildhall_profile.adapters.repository import EXPERTS, ProfileRepository
from guildhall_profile.settings import ProfileSettings
from guildhall_testsupport.profile import (
    Harness,
    eventually,
    ids,
    read_topic,
    repository,
    wait_for_events,
)

pytestmark = pytest.mark.integration

PROFILE_TOPIC = "guildhall.profile.v1"
POST_TOPIC = "guildhall.post.v1"


@pytest.fixture
async def harness(infra: Any, unique: str, tmp_path: Path) -> AsyncIterator[Harness]:
    h = Harness(infra.kafka_bootstrap_servers, infra.mongo_uri, unique, tmp_path / "keys")
    yield h
    await h.close()


@pytest.fixture
async def producer(harness: Harness) -> AsyncIterator[Producer]:
    config = BusConfig(
        bootstrap_servers=harness.kafka, topic_prefix=harness.topic_prefix, client_id="test-post"
    )
    async with Producer(config, registry=load_registry()) as started:
        yield started


def accepted(
    answer: str, author: str, tags: list[str], previous: str = "", question: str = "q1"
) -> Event:
    message = post_events.AnswerAccepted(
        answer_id=answer,
        question_id=question,
        space_id="space-1",
        answer_author_id=author,
        accepted_by="asker",
        question_tags=tags,
        previous_answer_id=previous,
    )
    message.accepted_at.GetCurrentTime()
    return Event.from_message(message, source="guildhall/post", key=question)


async def people(
    harness: Harness, api: profile_pb2_grpc.ProfileServiceAsyncStub, *ids_: str
) -> None:
    admin = harness.token("root", admin=True)
    for pid in ids_:
        await api.CreatePerson(
            profile_pb2.CreatePersonRequest(
                person_id=pid, org_id="home", display_name=pid.title(), email=f"{pid}@corp.example"
            ),
            metadata=admin,
            timeout=10,
        )


async def consumed(service: RunningService[ProfileSettings], records: int) -> None:
    """Wait until the post consumer finished ``records`` records (handled or duplicate)."""
    consumer = next(c for c in service.consumers if c.group == POST_GROUP)
    await eventually(
        lambda: consumer.stats.handled + consumer.stats.duplicates >= records,
        what=f"{records} post events consumed",
    )


async def earned(
    api: profile_pb2_grpc.ProfileServiceAsyncStub, harness: Harness, pid: str
) -> dict[str, int]:
    reply = await api.GetPerson(
        profile_pb2.GetPersonRequest(person_id=pid), metadata=harness.token("x"), timeout=10
    )
    return {e.tag: e.accepted_answers for e in reply.person.earned_expertise}


async def experts(
    api: profile_pb2_grpc.ProfileServiceAsyncStub, harness: Harness, tags: list[str], size: int = 0
) -> list[tuple[str, int, int]]:
    """Every page of FindExperts: (person, earned score, declared matches)."""
    found: list[tuple[str, int, int]] = []
    token = ""
    for _ in range(50):
        reply = await api.FindExperts(
            profile_pb2.FindExpertsRequest(tags=tags, page_size=size, page_token=token),
            metadata=harness.token("x"),
            timeout=10,
        )
        found += [(e.card.person_id, e.earned_score, e.declared_matches) for e in reply.experts]
        token = reply.next_page_token
        if not token:
            return found
    raise AssertionError("paging does not end")


async def test_answer_accepted_earns_expertise_once_under_redelivery(
    harness: Harness, producer: Producer
) -> None:
    service = await harness.start()
    api = harness.stub(service)
    await people(harness, api, "ann")

    event = accepted("a1", "ann", ["python", "k8s", "Python"])
    await producer.publish(POST_TOPIC, event)
    await producer.publish(POST_TOPIC, event)  # the same event (same ce_id) again
    await consumed(service, 2)
    assert await earned(api, harness, "ann") == {"python": 1, "k8s": 1}

    # A redelivery that gets past the group's processed-events record (a crash
    # after the effect, before the record) still changes nothing: apply_once.
    handler = next(c for c in service.parts.consumers if c.group == POST_GROUP).handler
    assert isinstance(handler, PostEvents)
    await handler(event)
    assert await earned(api, harness, "ann") == {"python": 1, "k8s": 1}

    # The same answer accepted again by a new event (the asker clicked twice):
    # an answer is credited once while it stays accepted.
    await producer.publish(POST_TOPIC, accepted("a1", "ann", ["python"]))
    await consumed(service, 3)
    assert await earned(api, harness, "ann") == {"python": 1, "k8s": 1}

    await wait_for_events(
        harness.kafka,
        harness.topic_prefix + PROFILE_TOPIC,
        lambda e: e.type.endswith("ExpertiseEarned"),
        count=1,
    )
    await asyncio.sleep(0.5)  # anything extra the relay would publish is out by now
    earned_events = [
        e
        for e in await read_topic(harness.kafka, harness.topic_prefix + PROFILE_TOPIC)
        if e.type.endswith("ExpertiseEarned")
    ]
    assert ids(earned_events) == [("ExpertiseEarned", "ann")]
    payload = earned_events[0].parse(events_pb2.ExpertiseEarned)
    assert list(payload.tags) == ["k8s", "python"]
    assert payload.answer_id == "a1"
    assert payload.source_event_id == event.id


async def test_directory_ranks_earned_above_declared_and_pages(
    harness: Harness, producer: Producer
) -> None:
    service = await harness.start()
    api = harness.stub(service)
    await people(harness, api, "ann", "cara", "dave", "eve")
    for pid, tags in (("cara", ["python"]), ("dave", ["python", "k8s"]), ("eve", ["go"])):
        await api.SetDeclaredExpertise(
            profile_pb2.SetDeclaredExpertiseRequest(tags=tags),
            metadata=harness.token(pid),
            timeout=10,
        )
    await producer.publish(POST_TOPIC, accepted("a1", "ann", ["python"]))
    await consumed(service, 1)

    assert await experts(api, harness, ["python"]) == [
        ("ann", 1, 0),
        ("cara", 0, 1),
        ("dave", 0, 1),
    ]
    assert await experts(api, harness, ["python", "k8s"]) == [
        ("ann", 1, 0),
        ("dave", 0, 2),
        ("cara", 0, 1),
    ]
    assert await experts(api, harness, ["python", "k8s"], size=1) == await experts(
        api, harness, ["python", "k8s"]
    )
    assert await experts(api, harness, ["rust"]) == []


async def test_a_changed_accepted_answer_moves_the_credit(
    harness: Harness, producer: Producer
) -> None:
    service = await harness.start()
    api = harness.stub(service)
    await people(harness, api, "ann", "bob")
    await producer.publish(POST_TOPIC, accepted("a1", "ann", ["python", "k8s"]))
    await producer.publish(POST_TOPIC, accepted("a2", "bob", ["python", "k8s"], previous="a1"))
    await consumed(service, 2)
    assert await earned(api, harness, "ann") == {}
    assert await earned(api, harness, "bob") == {"python": 1, "k8s": 1}
    assert await experts(api, harness, ["python"]) == [("bob", 1, 0)]

    events = await wait_for_events(
        harness.kafka,
        harness.topic_prefix + PROFILE_TOPIC,
        lambda e: e.type.endswith(("ExpertiseEarned", "ProfileUpdated")),
        count=3,
    )
    # Keyed by person: ann's two events are in order on her partition; bob's is his own.
    assert [pair for pair in ids(events) if pair[1] == "ann"] == [
        ("ExpertiseEarned", "ann"),
        ("ProfileUpdated", "ann"),
    ]
    assert [pair for pair in ids(events) if pair[1] == "bob"] == [("ExpertiseEarned", "bob")]
    withdrawn = next(e for e in events if e.type.endswith("ProfileUpdated"))
    assert list(withdrawn.parse(events_pb2.ProfileUpdated).changed_fields) == ["earned_expertise"]


async def test_rows_a_crash_left_unwritten_are_converged_from_the_expertise_events(
    harness: Harness, producer: Producer, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = await harness.start()
    api = harness.stub(service)
    await people(harness, api, "fay")
    await api.SetDeclaredExpertise(
        profile_pb2.SetDeclaredExpertiseRequest(tags=["sap-fi", "abap"]),
        metadata=harness.token("fay"),
        timeout=10,
    )
    assert await experts(api, harness, ["sap-fi"]) == [("fay", 0, 1)]

    async def crash(*_: Any) -> None:
        raise ConnectionError("the process died after the person write")

    # As if the process died between each person write and its directory rows.
    monkeypatch.setattr(ProfileRepository, "write_rows", crash)
    await api.SetDeclaredExpertise(
        profile_pb2.SetDeclaredExpertiseRequest(tags=["sap-fi"]),
        metadata=harness.token("fay"),
        timeout=10,
    )
    await producer.publish(POST_TOPIC, accepted("a1", "fay", ["sap-fi"]))
    await consumed(service, 1)
    assert await earned(api, harness, "fay") == {"sap-fi": 1}

    # The events were stored with the person; the directory consumer converges the rows.
    async def converged() -> bool:
        return await experts(api, harness, ["sap-fi"]) == [("fay", 1, 1)] and not await experts(
            api, harness, ["abap"]
        )

    await until(converged, "the directory to follow fay's expertise")
    rows = service.ctx.db[EXPERTS]
    live = sorted(
        [d["_id"] async for d in rows.find({"person_id": "fay", "tag": {"$exists": True}})]
    )
    assert live == ["sap-fi/fay"]
    assert await repository(service).converge_rows("fay") == 0  # nothing left to do


async def until(check: Any, what: str) -> None:
    """Poll the async ``check`` until it holds (the consumer's effect has no event to wait on)."""
    deadline = asyncio.get_running_loop().time() + 30
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, f"not within 30s: {what}"
        await asyncio.sleep(0.1)
