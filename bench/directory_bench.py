"""Benchmark of the profile service's expert directory and people lists at enterprise scale.

Run: ``.venv/bin/python -m bench.directory_bench [--full] [--requests N] [--budget S]``

1. Seeds an enterprise into a fresh database, in bulk: default 40,000 people
   (10,000 of them experts), ``--full`` 400,000 (100,000 experts). Every
   document comes from the profile service's own functions (the domain's
   ``Person`` and ``home_org``, the repository's document mapping of people
   and of their expert directory rows), inserted in batches with no events
   (a snapshot, not the relay's work), then the service's declared indexes
   are built. ``--migrate`` leaves the directory rows out instead and times
   the one-off migration (``guildhall_profile.adapters.migration``) that
   writes them. Experts declare 1-5 tags drawn Zipf-like from 2,000;
   about a third of them also earned accepted answers on some. People sit in
   departments of Zipf-like sizes (one per 200 people) under an org chart of
   span 8 per department, below one chief executive.
2. Starts the profile service as its own process (``python -m
   guildhall_profile``) on that database and reports how long it took to
   become ready and the storage size (dbStats).
3. Measures over gRPC on loopback, one call in flight at a time, as an
   employee: FindExperts (page of 20) for the most popular tag, a rare tag,
   two tags, and a deep page of the popular tag (a page token positioned at
   the middle of its ranking); ListPeopleByDepartment (page of 50) for the
   largest and a small department; ListDirectReports of the chief executive
   (who manages every department head) and of a line manager; GetPerson and
   GetManagerChain of a person at the bottom of the chart, for comparison;
   then two writes that move index entries: SetDeclaredExpertise (an expert
   adds or drops the popular tag: a directory row written or buried) and
   UpdatePerson (an admin moves someone between the largest and a middling
   department). Each figure is p50 / p99
   / max in ms with the database reads per call (``find`` commands the
   server answered), bounded by ``--budget`` seconds per scenario and
   ``--timeout`` seconds per call.
4. Times, directly against the database, the query the service's outbox
   relay runs in the background at a fixed period (its backstop scan), which
   on FerretDB scans the whole people collection.

Database: by default a private FerretDB (the binary ``make infra-up`` built,
SQLite backend, with the patches of deploy/local/ferretdb/) in a temporary
directory on its own port, from :class:`bench.access_bench.PrivateFerretDB`;
``--mongo URI`` runs against another server instead. Kafka: the local broker
(``GUILDHALL_KAFKA_BOOTSTRAP_SERVERS``), with topics of a fresh prefix that
are deleted at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Any

import grpc
from pymongo.asynchronous.database import AsyncDatabase

from bench.access_bench import Figures, PrivateFerretDB, finds
from bench.seed import describe_storage, storage
from bench.service_process import ServiceProcess
from guildhall.profile.v1 import profile_pb2 as pb
from guildhall.profile.v1 import profile_pb2_grpc
from guildhall_kit.mongo import Document, ensure_indexes, make_client
from guildhall_kit.paging import encode_token
from guildhall_kit.settings import load_settings
from guildhall_profile.adapters import repository as repo
from guildhall_profile.adapters.migration import migrate
from guildhall_profile.domain.expertise import directory_rows
from guildhall_profile.domain.model import EarnedTag, Org, OrgKind, OrgState, Person, PersonKind
from guildhall_profile.domain.orgs import home_org
from guildhall_profile.settings import ProfileSettings

HOME = "home"
BATCH = 5_000
T0 = datetime(2020, 1, 1, tzinfo=UTC)
_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"
_SYLLABLES = ["ka", "ro", "mi", "tu", "se", "la", "ven", "dor", "pli", "qua", "stre", "mon"]
_SYLLABLES += ["fi", "gal", "ter", "bo", "nu", "zan", "ex", "cal", "ri", "an", "jo", "el"]


@dataclass(frozen=True)
class Scale:
    """How big an enterprise to seed."""

    people: int = 40_000
    experts: int = 10_000
    tags: int = 2_000
    partner_orgs: int = 30
    users_per_org: int = 5

    @classmethod
    def full(cls) -> Scale:
        """The reference deployment: 400,000 people, 100,000 experts."""
        return cls(people=400_000, experts=100_000, partner_orgs=300)

    @property
    def departments(self) -> int:
        return max(1, self.people // 200)


@dataclass
class Seeded:
    """What was seeded, with what the scenarios draw from."""

    scale: Scale
    seconds: float = 0.0
    index_seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    tag_rows: dict[str, list[tuple[int, int, str]]] = field(default_factory=dict)
    """Per tag, its experts' (earned, declared 0/1, person id)."""
    department_size: dict[str, int] = field(default_factory=dict)
    reports: dict[str, int] = field(default_factory=dict)
    """Per manager, how many direct reports."""
    depth: dict[str, int] = field(default_factory=dict)
    """Sampled people at the bottom of the chart -> how many managers above them."""
    chief: str = ""
    declared: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Sampled experts -> their declared tags."""
    members: dict[str, list[str]] = field(default_factory=dict)
    """Sampled people of each department (up to 200 per department)."""

    def note(self, person: Person) -> None:
        """Remember what the scenarios need of one seeded person."""
        for row in directory_rows(person):
            rows = self.tag_rows.setdefault(row.tag, [])
            rows.append((row.earned, int(row.declared), row.person_id))
        if person.declared and len(self.declared) < 1000:
            self.declared[person.person_id] = person.declared
        staff = self.members.setdefault(person.department, [])
        if len(staff) < 200:
            staff.append(person.person_id)
        self.department_size[person.department] = self.department_size.get(person.department, 0) + 1
        if person.manager_id:
            self.reports[person.manager_id] = self.reports.get(person.manager_id, 0) + 1


def _cumulative(n: int, exponent: float) -> list[float]:
    return list(accumulate(1.0 / (rank + 1) ** exponent for rank in range(n)))


def _pick(rng: random.Random, cumulative: list[float]) -> int:
    return bisect.bisect_left(cumulative, rng.random() * cumulative[-1])


def _ulid(rng: random.Random, at: datetime) -> str:
    """A lowercase ULID at ``at`` with seeded randomness (ids sort by creation time)."""
    value = (int(at.timestamp() * 1000) << 80) | rng.getrandbits(80)
    return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


def _name(rng: random.Random) -> str:
    first = "".join(rng.choices(_SYLLABLES, k=rng.randint(1, 3))).title()
    last = "".join(rng.choices(_SYLLABLES, k=rng.randint(2, 3))).title()
    return f"{first} {last}"


def tag_name(rank: int) -> str:
    """The tag of popularity rank ``rank`` (0 is the most popular)."""
    return f"skill-{rank:04d}"


class _Plan:
    """The enterprise as ids and structure, before any document is made."""

    def __init__(self, scale: Scale, rng: random.Random) -> None:
        n = scale.people
        span = timedelta(days=6 * 365) / n
        self.ids = [_ulid(rng, T0 + i * span) for i in range(n)]
        departments = [f"Department {d:04d}" for d in range(scale.departments)]
        cum = _cumulative(len(departments), 0.9)
        members: dict[int, list[int]] = {}
        for i in range(1, n):  # person 0 is the chief executive
            members.setdefault(_pick(rng, cum), []).append(i)
        self.department = ["Executive"] + [""] * (n - 1)
        self.manager: list[int | None] = [None] * n
        for d, people in members.items():
            rng.shuffle(people)
            for k, i in enumerate(people):
                self.department[i] = departments[d]
                # Span 8: the department head reports to the chief executive.
                self.manager[i] = 0 if k == 0 else people[(k - 1) // 8]
        self.expert = set(rng.sample(range(1, n), min(scale.experts, n - 1)))


def _person(plan: _Plan, i: int, rng: random.Random, tag_cum: list[float]) -> Person:
    declared: tuple[str, ...] = ()
    earned: tuple[EarnedTag, ...] = ()
    created = T0 + timedelta(minutes=i)
    if i in plan.expert:
        tags = set()
        for _ in range(rng.randint(1, 5)):
            tags.add(tag_name(_pick(rng, tag_cum)))
        declared = tuple(sorted(tags))
        if rng.random() < 0.35:
            on = set(rng.sample(declared, min(len(declared), rng.randint(1, 2))))
            if rng.random() < 0.3:
                on.add(tag_name(_pick(rng, tag_cum)))
            earned = tuple(
                EarnedTag(t, min(200, 1 + int(rng.expovariate(1 / 3))), created) for t in sorted(on)
            )
    manager = plan.manager[i]
    name = _name(rng)
    return Person(
        person_id=plan.ids[i],
        kind=PersonKind.EMPLOYEE,
        org_id=HOME,
        display_name=name,
        email=f"{plan.ids[i]}@corp.example",
        created_at=created,
        updated_at=created,
        title="Chief Executive" if i == 0 else rng.choice(["Engineer", "Analyst", "Lead"]),
        department=plan.department[i],
        location=rng.choice(["Basel", "Lyon", "Austin", "Pune", "Osaka"]),
        manager_id=plan.ids[manager] if manager is not None else "",
        languages=("en",),
        declared=declared,
        earned=earned,
    )


def _partners(scale: Scale, rng: random.Random) -> Iterator[tuple[Org, list[Person]]]:
    kinds = [OrgKind.VENDOR, OrgKind.SUPPLIER, OrgKind.CUSTOMER]
    for o in range(scale.partner_orgs):
        org = Org(f"partner-{o:04d}", kinds[o % 3], f"Partner {o:04d}", OrgState.ACTIVE, T0, T0)
        users = [
            Person(
                person_id=f"partner-{o:04d}-u{u}",
                kind=PersonKind.PARTNER_USER,
                org_id=org.org_id,
                display_name=_name(rng),
                email=f"u{u}@partner-{o:04d}.example",
                created_at=T0,
                updated_at=T0,
            )
            for u in range(scale.users_per_org)
        ]
        yield org, users


class _Writer:
    """Batched unordered inserts per collection."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.db = db
        self.pending: dict[str, list[Document]] = {}
        self.counts: dict[str, int] = {}

    async def add(self, collection: str, doc: Document) -> None:
        batch = self.pending.setdefault(collection, [])
        batch.append(doc)
        if len(batch) >= BATCH:
            await self.flush(collection)

    async def flush(self, collection: str | None = None) -> None:
        for name in [collection] if collection else list(self.pending):
            docs = self.pending.pop(name, [])
            if docs:
                await self.db[name].insert_many(docs, ordered=False)
                self.counts[name] = self.counts.get(name, 0) + len(docs)


async def seed(
    db: AsyncDatabase[Document], scale: Scale, log: Callable[[str], None], *, rows: bool = True
) -> Seeded:
    """Write the enterprise into ``db`` (which must be empty) and build the service's indexes;
    with ``rows``, also the expert directory rows (else the migration writes them)."""
    started = time.perf_counter()
    rng = random.Random(7)
    out = Seeded(scale)
    plan = _Plan(scale, rng)
    tag_cum = _cumulative(scale.tags, 1.0)
    w = _Writer(db)
    await w.add(repo.ORGS, repo.org_document(home_org(HOME, "Home", T0).org))
    for org, users in _partners(scale, rng):
        await w.add(repo.ORGS, repo.org_document(org))
        for user in users:
            await w.add(repo.PEOPLE, repo.person_document(user))
    for i in range(scale.people):
        person = _person(plan, i, rng, tag_cum)
        await w.add(repo.PEOPLE, repo.person_document(person))
        if rows:
            for row in directory_rows(person):
                await w.add(repo.EXPERTS, repo.expert_row_document(row, person.version))
        out.note(person)
        if (i + 1) % 100_000 == 0:
            log(f"  seeded {i + 1:,} people ({time.perf_counter() - started:.0f}s)")
    await w.flush()
    out.chief = plan.ids[0]
    for i in rng.sample(range(1, scale.people), min(200, scale.people - 1)):
        depth, m = 0, plan.manager[i]
        while m is not None:
            depth, m = depth + 1, plan.manager[m]
        out.depth[plan.ids[i]] = depth
    index_started = time.perf_counter()
    await ensure_indexes(db, repo.indexes(), timeout_s=3600)
    out.index_seconds = time.perf_counter() - index_started
    out.counts = w.counts
    out.seconds = time.perf_counter() - started
    return out


class Service(ServiceProcess):
    """The profile service as a child process on the seeded database."""

    def __init__(self, mongo: str, database: str, prefix: str, log: Path) -> None:
        super().__init__(
            "guildhall_profile",
            mongo=mongo,
            database=database,
            prefix=prefix,
            log=log,
            settings={
                "GUILDHALL_COMMUNITY_ADDR": "127.0.0.1:1",  # partners are not measured here
                # The relay's backstop scan is timed on its own (step 4), not mixed into calls.
                "GUILDHALL_OUTBOX_POLL_SECONDS": "600",
            },
        )
        self.stub = profile_pb2_grpc.ProfileServiceStub(self.channel)


Call = Callable[[], Awaitable[int]]


def _scenarios(
    svc: Service, s: Seeded, rng: random.Random, timeout: float
) -> list[tuple[str, Call]]:
    """(name, one call returning how many items it listed), cheapest first per kind."""
    me = svc.metadata(s.chief)
    by_size = sorted(s.tag_rows, key=lambda t: (-len(s.tag_rows[t]), t))
    popular, middling = by_size[0], by_size[len(by_size) // 10]
    rare = next(t for t in reversed(by_size) if len(s.tag_rows[t]) >= 3)
    ranked = sorted(s.tag_rows[popular], key=lambda r: (-r[0], -r[1], r[2]))
    middle = ranked[len(ranked) // 2]
    deep = encode_token("experts", [middle[0], middle[1], middle[2]], scope=[popular])
    departments = sorted(s.department_size, key=lambda d: (-s.department_size[d], d))
    small = departments[len(departments) // 2]
    line_manager = next(m for m, n in sorted(s.reports.items()) if n == 8)
    bottom = [p for p, depth in s.depth.items() if depth == max(s.depth.values())]

    def experts(tags: list[str], token: str = "") -> Call:
        async def call() -> int:
            reply = await svc.stub.FindExperts(
                pb.FindExpertsRequest(tags=tags, page_size=20, page_token=token),
                metadata=me,
                timeout=timeout,
            )
            return len(reply.experts)

        return call

    def department(name: str) -> Call:
        async def call() -> int:
            reply = await svc.stub.ListPeopleByDepartment(
                pb.ListPeopleByDepartmentRequest(department=name, page_size=50),
                metadata=me,
                timeout=timeout,
            )
            return len(reply.people)

        return call

    def reports(manager: str) -> Call:
        async def call() -> int:
            reply = await svc.stub.ListDirectReports(
                pb.ListDirectReportsRequest(person_id=manager, page_size=50),
                metadata=me,
                timeout=timeout,
            )
            return len(reply.reports)

        return call

    async def get_person() -> int:
        reply = await svc.stub.GetPerson(
            pb.GetPersonRequest(person_id=rng.choice(bottom)), metadata=me, timeout=timeout
        )
        return 1 if reply.person.card.person_id else 0

    async def chain() -> int:
        reply = await svc.stub.GetManagerChain(
            pb.GetManagerChainRequest(person_id=rng.choice(bottom)), metadata=me, timeout=timeout
        )
        return len(reply.managers)

    experts_now = dict(s.declared)
    declarers = sorted(experts_now)

    async def declare() -> int:
        pid = rng.choice(declarers)
        now = experts_now[pid]
        tags = tuple(t for t in now if t != popular) if popular in now else (*now, popular)
        experts_now[pid] = tags
        await svc.stub.SetDeclaredExpertise(
            pb.SetDeclaredExpertiseRequest(tags=list(tags)),
            metadata=svc.metadata(pid),
            timeout=timeout,
        )
        return len(tags)

    admin = svc.metadata(s.chief, admin=True)
    where = {p: d for d in (departments[0], small) for p in s.members[d][:100]}

    async def move() -> int:
        pid = rng.choice(sorted(where))
        where[pid] = small if where[pid] == departments[0] else departments[0]
        await svc.stub.UpdatePerson(
            pb.UpdatePersonRequest(person_id=pid, department=where[pid]),
            metadata=admin,
            timeout=timeout,
        )
        return 1

    n_pop, n_mid, n_rare = (len(s.tag_rows[t]) for t in (popular, middling, rare))
    return [
        (f"FindExperts popular tag ({n_pop:,} experts)", experts([popular])),
        (f"FindExperts rare tag ({n_rare} experts)", experts([rare])),
        (f"FindExperts two tags ({n_pop:,} + {n_mid:,})", experts([popular, middling])),
        (f"FindExperts popular tag, page at #{len(ranked) // 2:,}", experts([popular], deep)),
        (
            f"ListPeopleByDepartment largest ({s.department_size[departments[0]]:,})",
            department(departments[0]),
        ),
        (f"ListPeopleByDepartment middling ({s.department_size[small]:,})", department(small)),
        (f"ListDirectReports chief exec ({s.reports[s.chief]:,})", reports(s.chief)),
        ("ListDirectReports line manager (8)", reports(line_manager)),
        ("GetPerson", get_person),
        (f"GetManagerChain ({max(s.depth.values())} managers)", chain),
        ("SetDeclaredExpertise +/- the popular tag", declare),
        ("UpdatePerson between the two departments", move),
    ]


async def _timed(name: str, call: Call, n: int, budget: float) -> tuple[Figures, list[int]]:
    samples: list[float] = []
    results: list[int] = []
    errors: dict[str, int] = {}
    deadline = time.monotonic() + budget
    for _ in range(n):
        started = time.perf_counter()
        try:
            results.append(await call())
            samples.append((time.perf_counter() - started) * 1000)
        except grpc.aio.AioRpcError as err:
            errors[err.code().name] = errors.get(err.code().name, 0) + 1
        if time.monotonic() > deadline:
            break
    return Figures(name, samples, errors), results


async def _background(db: AsyncDatabase[Document], budget: float) -> list[str]:
    """Time the periodic queries the service's background loops run (one each)."""
    lines = []
    queries: list[tuple[str, str, Document]] = [
        ("outbox relay backstop scan (people)", repo.PEOPLE, {"_outbox_pending": "1"}),
    ]
    for name, collection, query in queries:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(budget):
                found = len(await db[collection].find(query, {"_id": 1}).limit(100).to_list())
            lines.append(f"  {name:<44} {(time.perf_counter() - started) * 1000:8.0f} ms ({found})")
        except TimeoutError:
            lines.append(f"  {name:<44} over {budget:.0f} s")
    return lines


async def _migrated(mongo: str, database: str) -> str:
    """Run the one-off migration on the seeded database; what it did and how long it took."""
    settings = load_settings(
        ProfileSettings,
        kafka_bootstrap_servers="127.0.0.1:1",  # not used by the migration
        mongo_uri=mongo,
        mongo_database=database,
        community_addr="127.0.0.1:1",
    )
    started = time.perf_counter()
    done = await migrate(settings)
    return f"{done['rows_written']:,} rows for {done['people']:,} people in " + (
        f"{time.perf_counter() - started:.1f}s"
    )


async def _measure(
    svc: Service, client: Any, database: str, s: Seeded, args: argparse.Namespace
) -> None:
    rng = random.Random(11)
    for name, call in _scenarios(svc, s, rng, args.timeout):
        with contextlib.suppress(grpc.aio.AioRpcError):
            await call()  # warm the connection and the path
        before = await finds(client)
        figures, answers = await _timed(name, call, args.requests, args.budget)
        after = await finds(client)
        reads = (after - before) / max(1, len(answers)) if before >= 0 and after >= 0 else -1
        listed = f"{statistics.mean(answers) if answers else 0:.0f} listed"
        print(figures.line(f", {reads:.1f} reads/call, {listed}" if reads >= 0 else listed))
    print("background queries (one run each):")
    for line in await _background(client[database], args.timeout):
        print(line)


async def run(args: argparse.Namespace) -> int:
    scale = Scale.full() if args.full else Scale()
    if args.people:
        scale = Scale(people=args.people, experts=max(1, args.people // 4))
    database = f"bench_profile_{secrets.token_hex(3)}"
    ferret = None if args.mongo else PrivateFerretDB()
    mongo = args.mongo or (ferret.uri if ferret else "")
    print(
        f"directory bench: {scale.people:,} people ({scale.experts:,} experts, {scale.tags:,} "
        f"tags, {scale.departments:,} departments); {os.cpu_count()} CPUs; "
        f"{'private FerretDB (SQLite)' if ferret else mongo}, database {database}",
        flush=True,
    )
    svc: Service | None = None
    client = None
    try:
        if ferret is not None:
            await ferret.wait_ready()
        client = make_client(mongo, app_name="guildhall-bench", timeout_ms=1_800_000)
        seeded = await seed(
            client[database], scale, log=lambda m: print(m, flush=True), rows=not args.migrate
        )
        counts = ", ".join(f"{n:,} {c}" for c, n in sorted(seeded.counts.items()))
        print(
            f"seeded in {seeded.seconds:.1f}s ({seeded.index_seconds:.1f}s of it building "
            f"indexes): {counts}",
            flush=True,
        )
        if args.migrate:
            print(f"migration: {await _migrated(mongo, database)}", flush=True)
        log = Path(tempfile.gettempdir()) / f"{database}.log"
        svc = Service(mongo, database, f"bench{secrets.token_hex(3)}.", log)
        ready = await svc.wait_ready(max(args.budget * 10, 600))
        print(f"service ready in {ready:.1f}s; log {log}")
        print(f"storage: {describe_storage(await storage(client[database]))}", flush=True)
        await _measure(svc, client, database, seeded, args)
    finally:
        if svc is not None:
            await svc.stop()
        if client is not None:
            if args.keep:
                print(f"kept database {database}")
            elif ferret is None:
                await client.drop_database(database)
            await client.close()
        if ferret is not None:
            ferret.stop()
    return 0


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.directory_bench", description=(__doc__ or "").split("\n\n")[0]
    )
    parser.add_argument("--full", action="store_true", help="400,000 people, 100,000 experts")
    parser.add_argument("--people", type=int, help="override the number of people")
    parser.add_argument("--requests", type=int, default=200, help="calls per scenario, at most")
    parser.add_argument("--budget", type=float, default=30.0, help="seconds per scenario, at most")
    parser.add_argument("--timeout", type=float, default=30.0, help="deadline of one call")
    parser.add_argument(
        "--migrate",
        action="store_true",
        help="seed no directory rows: time the one-off migration that writes them",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database (with --mongo)")
    parser.add_argument("--mongo", default="", help="MongoDB URI instead of a private FerretDB")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    return asyncio.run(run(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
