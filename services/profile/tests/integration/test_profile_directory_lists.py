"""The directory lists on the real FerretDB: bucketed lists read by ``_id`` (splits, races,
a split left half done, stale cached heads), and the profile service keeping them a
superset of its people, checked on every read (docs/adr/0011).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from guildhall.profile.v1 import profile_pb2, profile_pb2_grpc
from guildhall_kit.mongo import Document, make_client, single_connection_uri
from guildhall_kit.service import RunningService
from guildhall_profile.application import Profiles
from guildhall_profile.consumers import POST_GROUP, PostEvents
from guildhall_profile.domain.expertise import ExpertRow
from guildhall_profile.domain.listing import (
    department_list,
    entries_of,
    list_key,
    reports_list,
    tag_list,
)
from guildhall_profile.lists import BUCKETS, HEADS, ListStore
from guildhall_profile.repository import LISTS_BUILT
from guildhall_profile.settings import ProfileSettings
from guildhall_testsupport.profile import Harness

pytestmark = pytest.mark.integration

LONG_AGO = datetime.now(UTC) - timedelta(minutes=5)
"""When an abandoned split was marked (past the grace others give a splitter)."""

# --- the list store -------------------------------------------------------------------------------


@pytest.fixture
async def dbs(infra: Any, unique: str) -> AsyncIterator[tuple[AsyncDatabase[Document], ...]]:
    """(reads, writes) handles on a fresh database; writes over one connection, as the
    service sends them to FerretDB."""
    reader = make_client(infra.mongo_uri, app_name="lists-test")
    writer = make_client(single_connection_uri(infra.mongo_uri), app_name="lists-test-writer")
    name = f"profile_lists_{unique}"
    yield reader[name], writer[name]
    await reader.drop_database(name)
    await reader.close()
    await writer.close()


def store(dbs: tuple[AsyncDatabase[Document], ...], bucket_max: int = 4) -> ListStore:
    reader, writer = dbs
    return ListStore(reader, writer=writer, bucket_max=bucket_max)


async def everything(lists: ListStore, list_id: str) -> list[str]:
    return await lists.read(list_id, None, limit=100_000)


async def bucket_sizes(db: AsyncDatabase[Document], list_id: str) -> list[int]:
    head = await db[HEADS].find_one({"_id": list_id})
    assert head is not None
    ids = [b["id"] for b in head["buckets"]]
    docs = {d["_id"]: d async for d in db[BUCKETS].find({"_id": {"$in": ids}})}
    assert all(docs[i]["live"] for i in ids)
    return [len(docs[i]["entries"]) for i in ids]


async def test_lists_split_into_bounded_buckets_and_read_in_order(dbs: Any) -> None:
    lists = store(dbs)
    entries = [f"e{n:03d}" for n in range(60)]
    rng = random.Random(1)  # noqa: S311 - reproducible test data, not security
    for entry in rng.sample(entries, len(entries)):
        await lists.add("l", entry)
    await lists.add("l", "e007")  # again: no change
    sizes = await bucket_sizes(dbs[0], "l")
    assert len(sizes) > 10
    assert max(sizes) <= 4
    assert sum(sizes) == 60
    assert await everything(lists, "l") == entries

    pages: list[str] = []
    position: str | None = None
    while page := await lists.read("l", position, limit=7):
        pages += page
        position = page[-1]
    assert pages == entries
    assert await lists.read("l", "e010", inclusive=True, limit=3) == ["e010", "e011", "e012"]
    assert await lists.read("l", "e0105", limit=2) == ["e011", "e012"]

    for entry in entries[::2]:
        await lists.remove("l", entry)
    await lists.remove("l", "e000")  # again: no change
    await lists.remove("nothing", "x")
    assert await everything(lists, "l") == entries[1::2]
    assert await everything(lists, "nothing") == []


async def test_concurrent_adds_and_removes_keep_exactly_what_was_added(dbs: Any) -> None:
    lists = store(dbs)
    first = [f"a{n:03d}" for n in range(80)]
    await asyncio.gather(*(lists.add("l", e) for e in first))
    assert await everything(lists, "l") == first
    rng = random.Random(2)  # noqa: S311 - reproducible test data, not security
    gone = set(rng.sample(first, 30))
    more = [f"b{n:03d}" for n in range(60)]
    ops = [lists.remove("l", e) for e in sorted(gone)] + [lists.add("l", e) for e in more]
    rng.shuffle(ops)
    await asyncio.gather(*ops)
    assert await everything(lists, "l") == sorted((set(first) - gone) | set(more))
    assert max(await bucket_sizes(dbs[0], "l")) <= 4


async def test_reads_during_splits_never_miss_an_entry(dbs: Any) -> None:
    # Two processes, each with its own cached heads.
    writing, reading = store(dbs, bucket_max=8), store(dbs, bucket_max=8)
    kept = [f"k{n:03d}" for n in range(0, 200, 7)]
    for entry in kept:
        await writing.add("l", entry)
    churn = [f"k{n:03d}x" for n in range(200)]
    done = asyncio.Event()

    async def write() -> None:
        await asyncio.gather(*(writing.add("l", e) for e in churn))
        await asyncio.gather(*(writing.remove("l", e) for e in churn[::2]))
        done.set()

    async def read() -> int:
        reads = 0
        while not done.is_set() or reads == 0:
            got = await reading.read("l", None, limit=10_000)
            assert got == sorted(set(got))
            assert set(kept) <= set(got)
            page = await reading.read("l", "k100", limit=5)
            assert page
            assert page[0] > "k100"
            reads += 1
        return reads

    _, reads = await asyncio.gather(write(), read())
    assert reads > 3
    assert await everything(reading, "l") == sorted([*kept, *churn[1::2]])


async def test_a_back_fill_builds_new_lists_in_bulk_and_merges_into_existing_ones(
    dbs: Any,
) -> None:
    lists = store(dbs)
    await lists.add("old", "m")
    await lists.add("old", "z")
    wanted = {
        "old": [f"e{n:02d}" for n in range(30)] + ["m"],
        "new": [f"n{n:02d}" for n in range(9)],
        "empty": [],
    }
    await lists.merge_all(wanted)
    await lists.merge_all(wanted)  # again: no change
    fresh = store(dbs)
    assert await everything(fresh, "old") == sorted([*wanted["old"], "z"])
    assert await everything(fresh, "new") == wanted["new"]
    assert await everything(fresh, "empty") == []
    assert max(await bucket_sizes(dbs[0], "old")) <= 4
    assert await bucket_sizes(dbs[0], "new") == [2, 2, 2, 2, 1]  # built half full


async def test_a_split_left_half_done_is_finished_by_whoever_meets_it(dbs: Any) -> None:
    reader, writer = dbs
    lists = store(dbs)
    for entry in ["a", "b", "c", "d"]:
        await lists.add("l", entry)
    (bucket,) = (await reader[HEADS].find_one({"_id": "l"}) or {})["buckets"]
    # A splitter made the two halves, marked the bucket, copied its lower half and died.
    await writer[BUCKETS].insert_many(
        [
            {"_id": "L", "list": "l", "entries": ["a", "b"], "live": True},
            {"_id": "R", "list": "l", "entries": [], "live": True},
        ]
    )
    await writer[BUCKETS].update_one(
        {"_id": bucket["id"]},
        {"$set": {"live": False, "split_at": "c", "into": ["L", "R"], "marked_at": LONG_AGO}},
    )

    fresh = store(dbs)  # another process: nothing cached
    assert await everything(fresh, "l") == ["a", "b", "c", "d"]
    assert await bucket_sizes(reader, "l") == [2, 2]
    assert await reader[BUCKETS].find_one({"_id": bucket["id"]}) is None

    # The same for a writer that meets a split in progress.
    await writer[BUCKETS].insert_many(
        [{"_id": i, "list": "l", "entries": [], "live": True} for i in ["R1", "R2"]]
    )
    await writer[BUCKETS].update_one(
        {"_id": "R"},
        {"$set": {"live": False, "split_at": "d", "into": ["R1", "R2"], "marked_at": LONG_AGO}},
    )
    await lists.add("l", "e")  # its cached head still names R
    await lists.remove("l", "d")
    assert await everything(store(dbs), "l") == ["a", "b", "c", "e"]


async def test_a_head_cached_before_splits_still_reads_everything(dbs: Any) -> None:
    writing, reading = store(dbs), store(dbs)
    await writing.add("l", "m")
    assert await everything(reading, "l") == ["m"]  # caches the one-bucket head
    entries = sorted({"m", *(f"{c}{n}" for c in "ahz" for n in range(10))})
    for entry in entries:
        await writing.add("l", entry)
    assert await everything(reading, "l") == entries
    assert await reading.read("l", "h5", limit=3) == ["h6", "h7", "h8"]


# --- the service's lists --------------------------------------------------------------------------


@pytest.fixture
async def harness(infra: Any, unique: str, tmp_path: Path) -> AsyncIterator[Harness]:
    h = Harness(infra.kafka_bootstrap_servers, infra.mongo_uri, unique, tmp_path / "keys")
    yield h
    await h.close()


def profiles_of(service: RunningService[ProfileSettings]) -> Profiles:
    handler = next(c for c in service.parts.consumers if c.group == POST_GROUP).handler
    assert isinstance(handler, PostEvents)
    return handler.profiles


class Api:
    def __init__(self, harness: Harness, service: RunningService[ProfileSettings]) -> None:
        self.harness = harness
        self.stub: profile_pb2_grpc.ProfileServiceAsyncStub = harness.stub(service)
        self.admin = harness.token("root", admin=True)

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

    async def declare(self, pid: str, *tags: str) -> None:
        await self.stub.SetDeclaredExpertise(
            profile_pb2.SetDeclaredExpertiseRequest(tags=list(tags)),
            metadata=self.harness.token(pid),
            timeout=10,
        )

    async def department(self, name: str, size: int = 0) -> list[str]:
        found: list[str] = []
        token = ""
        for _ in range(200):
            reply = await self.stub.ListPeopleByDepartment(
                profile_pb2.ListPeopleByDepartmentRequest(
                    department=name, page_size=size, page_token=token
                ),
                metadata=self.admin,
                timeout=10,
            )
            found += [p.card.person_id for p in reply.people]
            token = reply.next_page_token
            if not token:
                return found
        raise AssertionError("paging does not end")

    async def reports(self, manager: str) -> list[str]:
        reply = await self.stub.ListDirectReports(
            profile_pb2.ListDirectReportsRequest(person_id=manager, page_size=100),
            metadata=self.admin,
            timeout=10,
        )
        return [c.person_id for c in reply.reports]

    async def experts(self, tags: list[str], size: int = 0) -> list[tuple[str, int, int]]:
        found: list[tuple[str, int, int]] = []
        token = ""
        for _ in range(200):
            reply = await self.stub.FindExperts(
                profile_pb2.FindExpertsRequest(tags=tags, page_size=size, page_token=token),
                metadata=self.admin,
                timeout=10,
            )
            found += [(e.card.person_id, e.earned_score, e.declared_matches) for e in reply.experts]
            token = reply.next_page_token
            if not token:
                return found
        raise AssertionError("paging does not end")


async def test_person_writes_move_their_entries_and_leave_none_behind(harness: Harness) -> None:
    service = await harness.start()
    api = Api(harness, service)
    await api.create("boss", "Boss", "Board")
    await api.create("ann", "Ann", "Ops", "boss")
    await api.create("bob", "Bob", "Ops", "boss")
    await api.declare("ann", "python", "go")
    await api.stub.UpdatePerson(
        profile_pb2.UpdatePersonRequest(person_id="bob", department="Sales", manager_id="ann"),
        metadata=api.admin,
        timeout=10,
    )
    await api.stub.UpdateMyProfile(
        profile_pb2.UpdateMyProfileRequest(display_name="Zoe Ann"),
        metadata=harness.token("ann"),
        timeout=10,
    )
    await api.declare("ann", "python")
    assert await api.department("Ops") == ["ann"]
    assert await api.department("Sales") == ["bob"]
    assert await api.reports("boss") == ["ann"]
    assert await api.reports("ann") == ["bob"]
    assert await api.experts(["go"]) == []
    assert await api.experts(["python"]) == [("ann", 0, 1)]

    # What the lists hold is exactly the people's current entries: no leftovers.
    lists = profiles_of(service).repo.lists
    people = await profiles_of(service).repo.get_people(["boss", "ann", "bob"])
    current: dict[str, set[str]] = {}
    for person in people.values():
        for list_id, entry in entries_of(person).items():
            current.setdefault(list_id, set()).add(entry)
    for list_id in [
        department_list("Ops"),
        department_list("Sales"),
        department_list("Board"),
        reports_list("boss"),
        reports_list("ann"),
        tag_list("python"),
        tag_list("go"),
    ]:
        assert set(await everything(lists, list_id)) == current.get(list_id, set()), list_id


async def test_stale_entries_never_show_nobody_twice_and_they_are_pruned(
    harness: Harness,
) -> None:
    service = await harness.start()
    api = Api(harness, service)
    await api.create("ann", "Ann", "Ops")
    await api.create("bob", "Bob", "Ops")
    await api.create("cara", "Cara", "Sales")
    await api.declare("ann", "python")
    repo = profiles_of(service).repo
    # As a crash after the entries and before the person write would leave them: cara
    # moving to Ops, ann with five accepted answers, someone who was never written.
    stale = [
        (department_list("Ops"), list_key("cara", "cara")),
        (department_list("Ops"), list_key("aaa", "ann")),
        (tag_list("python"), ExpertRow("python", "ann", 5, True).list_key),
        (tag_list("python"), ExpertRow("python", "ghost", 9, True).list_key),
    ]
    for list_id, entry in stale:
        await repo.lists.add(list_id, entry)
    # And strings no writer makes (a damaged document): skipped, never fatal.
    garbage = [(department_list("Ops"), "no separator"), (tag_list("python"), "0000garbage")]
    for list_id, entry in garbage:
        await repo.lists.add(list_id, entry)

    assert await api.department("Ops") == ["ann", "bob"]
    assert await api.department("Ops", size=1) == ["ann", "bob"]
    assert await api.experts(["python"]) == [("ann", 0, 1)]
    assert await api.experts(["python"], size=1) == [("ann", 0, 1)]
    for list_id, entry in garbage:
        await repo.lists.remove(list_id, entry)

    assert await repo.prune_stale() == len(stale)
    assert await repo.prune_stale() == 0
    assert await everything(repo.lists, department_list("Ops")) == [
        list_key("ann", "ann"),
        list_key("bob", "bob"),
    ]
    assert await everything(repo.lists, tag_list("python")) == [
        ExpertRow("python", "ann", 0, True).list_key
    ]


async def test_concurrent_writes_across_bucket_splits_list_everyone_once(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("guildhall_profile.lists.BUCKET_MAX", 4)
    service = await harness.start()
    api = Api(harness, service)
    ids = [f"p{n:02d}" for n in range(30)]
    await asyncio.gather(*(api.create(pid, f"Person {pid}", "Ops") for pid in ids))
    await asyncio.gather(*(api.declare(pid, "python") for pid in ids))
    renamed = ids[::3]
    await asyncio.gather(
        *(
            api.stub.UpdateMyProfile(
                profile_pb2.UpdateMyProfileRequest(display_name=f"A {pid}"),
                metadata=harness.token(pid),
                timeout=10,
            )
            for pid in renamed
        ),
        *(api.declare(pid, "python", "go") for pid in ids[1::3]),
    )
    expected = renamed + [pid for pid in ids if pid not in renamed]
    assert await api.department("Ops", size=3) == expected
    assert await api.experts(["python"], size=4) == [(pid, 0, 1) for pid in ids]
    assert await api.experts(["python", "go"], size=3) == [
        *((pid, 0, 2) for pid in ids[1::3]),
        *((pid, 0, 1) for pid in ids if pid not in ids[1::3]),
    ]
    repo = profiles_of(service).repo
    head = await service.ctx.db[HEADS].find_one({"_id": department_list("Ops")})
    assert head is not None
    assert len(head["buckets"]) > 5  # the department was split many times over
    # A removal racing a split may leave a copy behind; the reads above met any such
    # entry (and dropped it), and pruning removes it.
    await repo.prune_stale()
    assert len(await everything(repo.lists, department_list("Ops"))) == len(ids)
    assert len(await everything(repo.lists, tag_list("python"))) == len(ids)


async def test_lists_a_database_never_had_are_built_at_start(harness: Harness) -> None:
    service = await harness.start()
    api = Api(harness, service)
    await api.create("ann", "Ann", "Ops")
    await api.create("bob", "Bob", "Ops", "ann")
    await api.declare("bob", "sap-fi")
    db = service.ctx.db
    # A database from before the lists (or restored without them).
    await db.drop_collection(HEADS)
    await db.drop_collection(BUCKETS)
    assert await api.department("Ops") == []
    assert await api.experts(["sap-fi"]) == []

    second = await harness.start()
    again = Api(harness, second)
    await until(lambda: again.department("Ops"), ["ann", "bob"])
    assert await again.reports("ann") == ["bob"]
    assert await again.experts(["sap-fi"]) == [("bob", 0, 1)]
    assert await db[HEADS].find_one({"_id": LISTS_BUILT}) is not None
    # Once built, it is not built again.
    assert await profiles_of(second).upkeep_lists() == (0, 0)


async def until(read: Callable[[], Awaitable[Any]], expected: Any, within: float = 30) -> None:
    """Poll ``read`` until it returns ``expected``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while (got := await read()) != expected:
        assert loop.time() < deadline, f"still {got!r}, not {expected!r}"
        await asyncio.sleep(0.1)
