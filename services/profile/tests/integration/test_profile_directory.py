"""The expert directory and the people lists on the real FerretDB and Kafka: ordinary indexes
and keyset pages (docs/adr/0011).

- every person write moves exactly its own directory rows, and leaves none behind;
- keyset pages list everyone exactly once and in order, at every page size, also while
  other people's ranks or names change between pages;
- concurrent writes list everyone once;
- a late write of an older state never brings a row back (tombstones keep the version);
- the one-off migration rebuilds the rows of a database from the lists era and drops them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import pytest

from guildhall.post.v1 import events_pb2 as post_events
from guildhall.profile.v1 import profile_pb2, profile_pb2_grpc
from guildhall_kit.bus import BusConfig, Event, Producer, load_registry
from guildhall_kit.service import RunningService
from guildhall_profile.adapters.consumers import DIRECTORY_GROUP, POST_GROUP, PROFILE_TOPIC
from guildhall_profile.adapters.migration import RETIRED, migrate
from guildhall_profile.adapters.repository import EXPERTS
from guildhall_profile.domain.expertise import directory_rows
from guildhall_profile.domain.model import fold
from guildhall_profile.settings import ProfileSettings
from guildhall_testsupport.profile import (
    Harness,
    eventually,
    read_topic,
    relay_idle,
    repository,
)

pytestmark = pytest.mark.integration

POST_TOPIC = "guildhall.post.v1"


@pytest.fixture
async def harness(infra: Any, unique: str, tmp_path: Path) -> AsyncIterator[Harness]:
    h = Harness(infra.kafka_bootstrap_servers, infra.mongo_uri, unique, tmp_path / "keys")
    yield h
    await h.close()


@dataclass
class Api:
    harness: Harness
    service: RunningService[ProfileSettings]

    def __post_init__(self) -> None:
        self.stub: profile_pb2_grpc.ProfileServiceAsyncStub = self.harness.stub(self.service)
        self.admin = self.harness.token("root", admin=True)
        self.answers = 0

    async def create(self, pid: str, name: str, department: str = "", manager: str = "") -> None:
        await self.stub.CreatePerson(
            profile_pb2.CreatePersonRequest(
                person_id=pid,
                org_id="home",
                display_name=name,
                email=f"{pid}@corp.example",
                department=department,
                manager_id=manager,
            ),
            metadata=self.admin,
            timeout=10,
        )

    async def rename(self, pid: str, name: str) -> None:
        await self.stub.UpdateMyProfile(
            profile_pb2.UpdateMyProfileRequest(display_name=name),
            metadata=self.harness.token(pid),
            timeout=10,
        )

    async def declare(self, pid: str, *tags: str) -> None:
        await self.stub.SetDeclaredExpertise(
            profile_pb2.SetDeclaredExpertiseRequest(tags=list(tags)),
            metadata=self.harness.token(pid),
            timeout=10,
        )

    async def accept(self, producer: Producer, credits: list[tuple[str, list[str]]]) -> None:
        """One accepted answer per (author, tags), as the post service publishes them; waits
        until the service has handled them all."""
        consumer = next(c for c in self.service.consumers if c.group == POST_GROUP)
        wanted = consumer.stats.handled + len(credits)
        for author, tags in credits:
            self.answers += 1
            message = post_events.AnswerAccepted(
                answer_id=f"a{self.answers}",
                question_id=f"q{self.answers}",
                space_id="s1",
                answer_author_id=author,
                accepted_by="asker",
                question_tags=tags,
            )
            event = Event.from_message(message, source="guildhall/post", key=f"q{self.answers}")
            await producer.publish(POST_TOPIC, event)
        await eventually(lambda: consumer.stats.handled >= wanted, what="answers credited")

    async def department(self, name: str, size: int = 0) -> list[str]:
        async def page(token: str) -> tuple[list[str], str]:
            reply = await self.stub.ListPeopleByDepartment(
                profile_pb2.ListPeopleByDepartmentRequest(
                    department=name, page_size=size, page_token=token
                ),
                metadata=self.admin,
                timeout=10,
            )
            return [p.card.person_id for p in reply.people], reply.next_page_token

        return await every_page(page)

    async def reports(self, manager: str, size: int = 100) -> list[str]:
        async def page(token: str) -> tuple[list[str], str]:
            reply = await self.stub.ListDirectReports(
                profile_pb2.ListDirectReportsRequest(
                    person_id=manager, page_size=size, page_token=token
                ),
                metadata=self.admin,
                timeout=10,
            )
            return [c.person_id for c in reply.reports], reply.next_page_token

        return await every_page(page)

    async def experts_page(
        self, tags: list[str], size: int, token: str
    ) -> tuple[list[tuple[str, int, int]], str]:
        reply = await self.stub.FindExperts(
            profile_pb2.FindExpertsRequest(tags=tags, page_size=size, page_token=token),
            metadata=self.admin,
            timeout=10,
        )
        found = [(e.card.person_id, e.earned_score, e.declared_matches) for e in reply.experts]
        return found, reply.next_page_token

    async def experts(self, tags: list[str], size: int = 0) -> list[tuple[str, int, int]]:
        return await every_page(lambda token: self.experts_page(tags, size, token))


T = TypeVar("T")


async def every_page(page: Callable[[str], Awaitable[tuple[list[T], str]]]) -> list[T]:
    """Every item of a listing, page after page, following the tokens (at most 200 pages)."""
    found: list[T] = []
    token = ""
    for _ in range(200):
        items, token = await page(token)
        found += items
        if not token:
            return found
    raise AssertionError("paging does not end")


@pytest.fixture
async def producer(harness: Harness) -> AsyncIterator[Producer]:
    config = BusConfig(
        bootstrap_servers=harness.kafka, topic_prefix=harness.topic_prefix, client_id="test-post"
    )
    async with Producer(config, registry=load_registry()) as started:
        yield started


async def directory_consumer_idle(
    harness: Harness, service: RunningService[ProfileSettings]
) -> None:
    """Wait until the service's own directory consumer has handled every event published."""
    await relay_idle(service)
    published = len(await read_topic(harness.kafka, harness.topic_prefix + PROFILE_TOPIC))
    consumer = next(c for c in service.consumers if c.group == DIRECTORY_GROUP)
    await eventually(
        lambda: consumer.stats.handled + consumer.stats.duplicates >= published,
        what="the directory consumer to catch up",
    )


async def live_rows(service: RunningService[ProfileSettings]) -> set[str]:
    """The ``_id`` of every directory row that is not a tombstone."""
    cursor = service.ctx.db[EXPERTS].find({"tag": {"$exists": True}}, projection={"_id": 1})
    return {doc["_id"] async for doc in cursor}


async def test_person_writes_move_their_rows_and_leave_none_behind(harness: Harness) -> None:
    service = await harness.start()
    api = Api(harness, service)
    await api.create("boss", "Boss", "Board")
    await api.create("ann", "Ann", "Ops", "boss")
    await api.create("bob", "Bob", "Ops", "boss")
    await api.declare("ann", "python", "go")
    await api.declare("bob", "go")
    await api.stub.UpdatePerson(
        profile_pb2.UpdatePersonRequest(person_id="bob", department="Sales", manager_id="ann"),
        metadata=api.admin,
        timeout=10,
    )
    await api.rename("ann", "Zoe Ann")
    await api.declare("ann", "python")
    await api.declare("bob")
    assert await api.department("Ops") == ["ann"]
    assert await api.department("Sales") == ["bob"]
    assert await api.department("Board") == ["boss"]
    assert await api.reports("boss") == ["ann"]
    assert await api.reports("ann") == ["bob"]
    assert await api.experts(["go"]) == []
    assert await api.experts(["python"]) == [("ann", 0, 1)]

    # The rows are exactly the people's current signals: the lost ones are tombstones.
    people = await repository(service).get_people(["boss", "ann", "bob"])
    current = {f"{r.tag}/{r.person_id}" for p in people.values() for r in directory_rows(p)}
    assert await live_rows(service) == current == {"python/ann"}
    assert await service.ctx.db[EXPERTS].count_documents({}) == 3  # + go/ann, go/bob buried


async def test_directory_pages_have_no_gaps_or_duplicates_while_ranks_change(
    harness: Harness, producer: Producer
) -> None:
    service = await harness.start()
    api = Api(harness, service)
    stable = [f"s{n:02d}" for n in range(18)]
    churn = [f"c{n:02d}" for n in range(6)]
    for pid in stable + churn:
        await api.create(pid, pid.upper())
    for n, pid in enumerate(stable + churn):
        await api.declare(pid, *(["python", "k8s"] if n % 3 == 0 else ["python"]))
    # Earned ranks with ties: several people per score band.
    await api.accept(
        producer,
        [(pid, ["python"]) for n, pid in enumerate(stable) for _ in range(n % 4)]
        + [(pid, ["k8s"]) for pid in stable[::5]]
        + [(churn[0], ["python"])] * 2,
    )
    everyone = await api.experts(["python"], size=100)
    assert len(everyone) == len(stable) + len(churn)
    assert everyone == sorted(everyone, key=lambda e: (-e[1], -e[2], e[0]))
    for size in (1, 2, 5, 7):  # nothing changes: every page size gives the same listing
        assert await api.experts(["python"], size=size) == everyone
    both = await api.experts(["python", "k8s"], size=100)
    assert both == sorted(both, key=lambda e: (-e[1], -e[2], e[0]))
    for size in (1, 3, 8):
        assert await api.experts(["python", "k8s"], size=size) == both

    # Page through while the churners' ranks move up and down between pages.
    for tags in (["python"], ["python", "k8s"]):
        seen: list[tuple[str, int, int]] = []
        token = ""
        turn = 0
        while True:
            page, token = await api.experts_page(tags, 3, token)
            seen += page
            if not token:
                break
            turn += 1
            mover = churn[turn % len(churn)]
            if turn % 2:
                await api.accept(producer, [(mover, ["python"])])
            else:
                await api.declare(mover, "python", "k8s", "go")
        listed = [pid for pid, _, _ in seen if pid in stable]
        assert sorted(listed) == stable, tags  # each stable expert exactly once
        ranked = [e for e in seen if e[0] in stable]
        assert ranked == sorted(ranked, key=lambda e: (-e[1], -e[2], e[0])), tags


async def test_department_and_report_pages_have_no_gaps_or_duplicates(harness: Harness) -> None:
    service = await harness.start()
    api = Api(harness, service)
    await api.create("head", "Head", "Board")
    names = [  # with a full-width "A" that folds to "adam"
        "bea",
        "Bea",
        "BEA b",
        "Émile",
        "émile",
        "Zoë",
        "adam",
        "\uff21dam",
        "ann",
        "Ann Lee",
    ]
    people = {f"p{n:02d}": names[n % len(names)] for n in range(24)}
    for pid, name in people.items():
        await api.create(pid, name, "Ops", "head")
    movers = [f"m{n}" for n in range(4)]
    for pid in movers:
        await api.create(pid, "Mid", "Ops", "head")
    stable = sorted(people, key=lambda p: (fold(people[p]), p))
    expected = sorted([*people, *movers], key=lambda p: (fold(people.get(p, "Mid")), p))
    for size in (1, 2, 7, 100):
        assert await api.department("Ops", size) == expected
        assert await api.reports("head", size) == expected

    # Rename and move others between pages: the people who stay are listed once, in order.
    seen: list[str] = []
    token = ""
    turn = 0
    while True:
        reply = await api.stub.ListPeopleByDepartment(
            profile_pb2.ListPeopleByDepartmentRequest(
                department="Ops", page_size=4, page_token=token
            ),
            metadata=api.admin,
            timeout=10,
        )
        seen += [p.card.person_id for p in reply.people]
        token = reply.next_page_token
        if not token:
            break
        mover = movers[turn % len(movers)]
        turn += 1
        await api.rename(mover, "A" if turn % 2 else "zz")
    assert [p for p in seen if p in people] == stable
    await api.stub.UpdatePerson(
        profile_pb2.UpdatePersonRequest(person_id="m0", department="Sales", manager_id=""),
        metadata=api.admin,
        timeout=10,
    )
    assert "m0" not in await api.department("Ops", 5)
    assert await api.department("Sales") == ["m0"]
    assert "m0" not in await api.reports("head", 3)


async def test_concurrent_writes_list_everyone_once(harness: Harness) -> None:
    service = await harness.start()
    api = Api(harness, service)
    ids = [f"p{n:02d}" for n in range(30)]
    await asyncio.gather(*(api.create(pid, f"Person {pid}", "Ops") for pid in ids))
    await asyncio.gather(*(api.declare(pid, "python") for pid in ids))
    renamed = ids[::3]
    await asyncio.gather(
        *(api.rename(pid, f"A {pid}") for pid in renamed),
        *(api.declare(pid, "python", "go") for pid in ids[1::3]),
    )
    expected = renamed + [pid for pid in ids if pid not in renamed]
    assert await api.department("Ops", size=3) == expected
    assert await api.experts(["python"], size=4) == [(pid, 0, 1) for pid in ids]
    assert await api.experts(["python", "go"], size=3) == [
        *((pid, 0, 2) for pid in ids[1::3]),
        *((pid, 0, 1) for pid in ids if pid not in ids[1::3]),
    ]
    assert len(await live_rows(service)) == len(ids) + len(ids[1::3])


async def test_a_late_write_of_an_older_state_never_brings_a_row_back(harness: Harness) -> None:
    service = await harness.start()
    api = Api(harness, service)
    await api.create("ann", "Ann")
    await api.declare("ann", "python")
    repo = repository(service)
    v2 = await repo.get_person("ann")
    assert v2 is not None
    await api.declare("ann")
    v3 = await repo.get_person("ann")
    assert v3 is not None
    assert await live_rows(service) == set()
    # A replica slow to write v2's rows, and a converge that read v2 before v3 was written.
    await repo.write_rows(replace(v2, declared=()), v2)
    assert await repo.converge_person(v2) == 0
    assert await live_rows(service) == set()
    assert await api.experts(["python"]) == []
    # A newer state does bring it back.
    await api.declare("ann", "python", "go")
    assert await api.experts(["python"]) == [("ann", 0, 1)]
    assert await repo.converge_rows("ann") == 0


async def test_the_migration_rebuilds_the_rows_and_drops_the_lists(harness: Harness) -> None:
    service = await harness.start()
    api = Api(harness, service)
    await api.create("ann", "Ann", "Ops")
    await api.create("bob", "Bob", "Ops", "ann")
    await api.declare("ann", "sap-fi", "go")
    await api.declare("bob", "sap-fi")
    await directory_consumer_idle(harness, service)  # else it converges rows under the test
    db = service.ctx.db
    # A database of the lists era: no directory rows, the lists instead, and a row left from
    # the version before the lists that no longer matches its person.
    await db.drop_collection(EXPERTS)
    for name in RETIRED:
        await db[name].insert_one({"_id": "tag:sap-fi", "buckets": []})
    await db[EXPERTS].insert_one(
        {"_id": "k8s/bob", "tag": "k8s", "person_id": "bob", "earned": 3, "declared": False}
        | {"key": "0", "version": 1}
    )
    assert await api.experts(["sap-fi"]) == []

    done = await migrate(service.ctx.settings)
    assert done == {"people": 2, "rows_written": 4, "collections_dropped": 2}
    assert await api.experts(["sap-fi"]) == [("ann", 0, 1), ("bob", 0, 1)]
    assert await api.experts(["k8s"]) == []
    assert await api.department("Ops") == ["ann", "bob"]
    assert await api.reports("ann") == ["bob"]
    assert set(RETIRED).isdisjoint(await db.list_collection_names())
    again = await migrate(service.ctx.settings)
    assert again == {"people": 2, "rows_written": 0, "collections_dropped": 0}
