"""Benchmark of the access decision at enterprise scale, through real gRPC.

Run: ``.venv/bin/python -m bench.access_bench [--full] [--requests N] [--budget S]``

1. Seeds an enterprise into a fresh database with :mod:`bench.seed` (default
   40,000 people and 5,000 communities; ``--full`` 400,000 and 50,000) and
   reports the seeding time.
2. Starts the community service as its own process (``python -m
   guildhall_community``) on that database, against the local Kafka and
   MongoDB-protocol server, and reports how long it took to become ready
   (index builds included) and the storage size (dbStats).
3. Measures, from this process over gRPC on loopback, one call in flight at
   a time: CheckAccess for an employee in one of their communities, in
   someone else's, in a pinhole, and for partner users with and without a
   grant; ListSpaces for the busiest employees (50 communities), regular
   employees and partner users; ListMembers of the largest community (first
   and tenth page) and of a small one; the community directory
   (ListCommunities: first page, by name prefix, by visibility). Then
   CheckAccess with ``--concurrency`` calls in flight, for throughput. Each
   figure is p50 / p99 / max in ms.

The callers authenticate as another Guildhall service asking on behalf of
the principal, as the post service and the gateway do. Every phase is bounded
by ``--budget`` seconds. Events are not seeded by default (``--events`` seeds
them and also reports how long the relay takes to publish them all).

Database: by default a private FerretDB (the binary ``make infra-up`` built,
SQLite backend, a temporary directory, its own port), so nothing else on the
machine shares its counters; beside each latency the benchmark prints the
database reads each call made (``find`` commands counted by the server),
which is what the design bounds. ``--mongo URI`` runs against another server
instead, e.g. a MongoDB 7. Decisions are ``_id`` reads; the listings are
queries on the indexes the service declares (docs/adr/0009, section 4), which
the local FerretDB answers from those indexes only with the project's patches
(deploy/local/ferretdb/, ADR 0010 and its successor) — without them each
listing is a scan of its collection.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import os
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

from bench.seed import Enterprise, Scale, describe_storage, seed, storage
from bench.service_process import ServiceProcess, free_port
from guildhall.community.v1 import community_pb2 as pb
from guildhall.community.v1 import community_pb2_grpc
from guildhall_community.adapters.repository import OUTBOX_COLLECTIONS
from guildhall_kit.auth import PrincipalKind
from guildhall_kit.mongo import make_client

ROOT = Path(os.environ.get("GUILDHALL_ROOT", Path.cwd()))


class PrivateFerretDB:
    """A FerretDB of our own (SQLite backend) in a temporary directory, on a free port."""

    def __init__(self) -> None:
        self.binary = ROOT / ".local" / "bin" / "ferretdb"
        if not self.binary.exists():
            raise SystemExit(f"{self.binary} is missing: run `make infra-up` first")
        self.dir = Path(tempfile.mkdtemp(prefix="guildhall-bench-ferretdb-"))
        self.port = free_port()
        self.uri = f"mongodb://127.0.0.1:{self.port}/"
        (self.dir / "data").mkdir()
        (self.dir / "state").mkdir()
        with (self.dir / "ferretdb.log").open("wb") as log:
            self.proc = subprocess.Popen(  # noqa: S603 - the FerretDB binary the Makefile built
                [
                    str(self.binary),
                    "--handler=sqlite",
                    f"--sqlite-url=file:{self.dir / 'data'}/",
                    f"--state-dir={self.dir / 'state'}",
                    f"--listen-addr=127.0.0.1:{self.port}",
                    "--debug-addr=-",
                    "--telemetry=disable",
                    "--log-level=warn",
                ],
                stdout=log,
                stderr=log,
            )

    async def wait_ready(self, within: float = 30) -> None:
        client = make_client(self.uri, app_name="guildhall-bench-ping", timeout_ms=1000)
        deadline = time.monotonic() + within
        try:
            while True:
                try:
                    await client.admin.command("ping")
                    return
                except Exception:
                    if time.monotonic() > deadline or self.proc.poll() is not None:
                        raise
                    await asyncio.sleep(0.2)
        finally:
            await client.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


async def finds(client: Any) -> int:
    """How many find commands the server has answered (serverStatus), or -1 if unknown."""
    try:
        status = await client.admin.command("serverStatus")
        return int(status["metrics"]["commands"]["find"]["total"])
    except Exception:  # noqa: BLE001 - a server without these counters
        return -1


@dataclass(frozen=True)
class Figures:
    """Latencies of one scenario, in milliseconds, and the calls that failed."""

    name: str
    samples: list[float]
    errors: dict[str, int] = field(default_factory=dict)

    def line(self, extra: str = "") -> str:
        failed = "".join(f", {n} failed with {code}" for code, n in sorted(self.errors.items()))
        if not self.samples:
            return f"  {self.name:<44} no successful calls{failed}"
        ordered = sorted(self.samples)
        p50 = statistics.median(ordered)
        p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
        return (
            f"  {self.name:<44} p50 {p50:6.2f}  p99 {p99:6.2f}  max {ordered[-1]:7.2f} ms"
            f"  (n={len(ordered)}){extra}{failed}"
        )


def _principal(person: str, org: str = "home") -> pb.Principal:
    kind = pb.PRINCIPAL_KIND_EMPLOYEE if org == "home" else pb.PRINCIPAL_KIND_PARTNER_USER
    return pb.Principal(person_id=person, org_id=org, kind=kind)


async def _timed(
    name: str, calls: list[Callable[[], Awaitable[Any]]], budget: float
) -> tuple[Figures, list[Any]]:
    samples: list[float] = []
    results: list[Any] = []
    errors: dict[str, int] = {}
    deadline = time.monotonic() + budget
    for call in calls:
        started = time.perf_counter()
        try:
            results.append(await call())
            samples.append((time.perf_counter() - started) * 1000)
        except grpc.aio.AioRpcError as err:
            errors[err.code().name] = errors.get(err.code().name, 0) + 1
        if time.monotonic() > deadline:
            break
    return Figures(name, samples, errors), results


class Service(ServiceProcess):
    """The community service as a child process on the seeded database.

    Decisions are asked by another Guildhall service on behalf of the principal
    (``service_metadata``); listings by the employee who reads them.
    """

    def __init__(self, mongo: str, database: str, prefix: str, log: Path) -> None:
        super().__init__(
            "guildhall_community",
            mongo=mongo,
            database=database,
            prefix=prefix,
            log=log,
            settings={
                "GUILDHALL_PINHOLE_SWEEP_SECONDS": "3600",
                "GUILDHALL_OUTBOX_POLL_SECONDS": "3600",
            },
        )
        self.stub = community_pb2_grpc.CommunityServiceStub(self.channel)
        self.service_metadata = self.metadata("bench", kind=PrincipalKind.SERVICE)

    async def check(self, person: str, org: str, space: str) -> bool:
        reply = await self.stub.CheckAccess(
            pb.CheckAccessRequest(
                principal=_principal(person, org), space_id=space, action=pb.ACTION_READ
            ),
            metadata=self.service_metadata,
            timeout=10,
        )
        return bool(reply.allowed)

    async def list_spaces(self, person: str, org: str) -> int:
        reply = await self.stub.ListSpaces(
            pb.ListSpacesRequest(
                principal=_principal(person, org), action=pb.ACTION_READ, page_size=100
            ),
            metadata=self.service_metadata,
            timeout=30,
        )
        return len(reply.spaces)

    async def list_members(self, person: str, community_id: str, token: str = "") -> int:
        """A page (50) of a community's members, as employee ``person``."""
        reply = await self.members_page(person, community_id, token)
        return len(reply.memberships)

    async def members_page(
        self, person: str, community_id: str, token: str = ""
    ) -> pb.ListMembersResponse:
        reply: pb.ListMembersResponse = await self.stub.ListMembers(
            pb.ListMembersRequest(community_id=community_id, page_size=50, page_token=token),
            metadata=self.metadata(person),
            timeout=30,
        )
        return reply

    async def list_communities(
        self,
        person: str,
        prefix: str,
        visibility: pb.CommunityVisibility.ValueType = pb.COMMUNITY_VISIBILITY_UNSPECIFIED,
    ) -> int:
        """The first page (50) of the community directory, as employee ``person``."""
        reply = await self.stub.ListCommunities(
            pb.ListCommunitiesRequest(name_prefix=prefix, visibility=visibility, page_size=50),
            metadata=self.metadata(person),
            timeout=30,
        )
        return len(reply.communities)


def _scenarios(
    svc: Service, e: Enterprise, rng: random.Random, n: int
) -> dict[str, list[Callable[[], Awaitable[Any]]]]:
    people = [*e.busiest, *e.regulars]
    open_pinholes = [p for p in e.pinholes if p[2] == "open" and p[3]]
    by_org: dict[str, list[str]] = {}
    for user, org in e.partner_users:
        by_org.setdefault(org, []).append(user)
    granted = [(pid, org) for pid, _, _, orgs in open_pinholes for org in orgs if org in by_org]
    ungranted_users = e.partner_users

    def own() -> Callable[[], Awaitable[Any]]:
        person = rng.choice(people)
        return lambda: svc.check(person, "home", rng.choice(e.memberships_of[person]))

    def other() -> Callable[[], Awaitable[Any]]:
        person = rng.choice(people)
        return lambda: svc.check(person, "home", rng.choice(e.community_ids))

    def pinhole() -> Callable[[], Awaitable[Any]]:
        person = rng.choice(people)
        return lambda: svc.check(person, "home", rng.choice(e.pinholes)[0])

    def partner_granted() -> Callable[[], Awaitable[Any]]:
        pid, org = rng.choice(granted)
        return lambda: svc.check(rng.choice(by_org[org]), org, pid)

    def partner_other() -> Callable[[], Awaitable[Any]]:
        user, org = rng.choice(ungranted_users)
        space = rng.choice([rng.choice(e.community_ids), rng.choice(e.pinholes)[0]])
        return lambda: svc.check(user, org, space)

    makers: dict[str, Callable[[], Callable[[], Awaitable[Any]]]] = {
        "CheckAccess employee, own community": own,
        "CheckAccess employee, any community": other,
        "CheckAccess employee, pinhole": pinhole,
    }
    if granted:
        makers["CheckAccess partner, granted pinhole"] = partner_granted
    if ungranted_users:
        makers["CheckAccess partner, any other space"] = partner_other
    return {name: [make() for _ in range(n)] for name, make in makers.items()}


async def _concurrent(
    calls: list[Callable[[], Awaitable[Any]]], concurrency: int, budget: float
) -> tuple[Figures, float]:
    samples: list[float] = []
    errors: dict[str, int] = {}
    queue = list(reversed(calls))
    deadline = time.monotonic() + budget

    async def worker() -> None:
        while queue and time.monotonic() < deadline:
            call = queue.pop()
            started = time.perf_counter()
            try:
                await call()
                samples.append((time.perf_counter() - started) * 1000)
            except grpc.aio.AioRpcError as err:
                errors[err.code().name] = errors.get(err.code().name, 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    name = f"CheckAccess mixed, {concurrency} in flight"
    return Figures(name, samples, errors), len(samples) / elapsed


async def _wait_drained(mongo: str, database: str, budget: float) -> float | None:
    client = make_client(mongo, app_name="guildhall-bench-drain")
    started = time.perf_counter()
    try:
        db = client[database]
        while time.perf_counter() - started < budget:
            pending = 0
            for name in OUTBOX_COLLECTIONS:
                pending += await db[name].count_documents({"_outbox_pending": "1"})
            if pending == 0:
                return time.perf_counter() - started
            await asyncio.sleep(1.0)
        return None
    finally:
        await client.close()


async def _measure(
    svc: Service,
    client: Any,
    enterprise: Enterprise,
    args: argparse.Namespace,
) -> None:
    rng = random.Random(11)

    async def report(
        name: str, calls: list[Callable[[], Awaitable[Any]]], what: Callable[[list[Any]], str]
    ) -> None:
        with contextlib.suppress(grpc.aio.AioRpcError):
            await calls[0]()  # warm the connection and the path
        before = await finds(client)
        figures, answers = await _timed(name, calls, args.budget)
        after = await finds(client)
        reads = (after - before) / max(1, len(answers)) if before >= 0 and after >= 0 else -1
        detail = what(answers)
        print(figures.line(f", {reads:.1f} reads/call, {detail}" if reads >= 0 else f", {detail}"))

    for name, calls in _scenarios(svc, enterprise, rng, args.requests).items():
        await report(name, calls, lambda a: f"{sum(1 for x in a if x)} of {len(a)} allowed")

    for name, people in (
        ("ListSpaces employee in 50 communities", [(p, "home") for p in enterprise.busiest]),
        ("ListSpaces regular employee", [(p, "home") for p in enterprise.regulars]),
        ("ListSpaces partner user", enterprise.partner_users),
    ):
        if not people:
            continue
        picks = [rng.choice(people) for _ in range(max(1, args.requests // 10))]
        listing: list[Callable[[], Awaitable[Any]]] = [
            functools.partial(svc.list_spaces, who, org) for who, org in picks
        ]
        await report(
            name, listing, lambda a: f"{statistics.mean(a) if a else 0:.0f} spaces on average"
        )

    # Listings are keyset queries on declared indexes (docs/adr/0009, section 4): what a
    # page costs should follow the page, not the community or the enterprise.
    reader = enterprise.busiest[0]
    largest = enterprise.largest[0][0]
    token = ""
    with contextlib.suppress(grpc.aio.AioRpcError):
        for _ in range(9):
            token = (await svc.members_page(reader, largest, token)).next_page_token
    for name, community, start in (
        ("ListMembers largest community, first page", largest, ""),
        ("ListMembers largest community, tenth page", largest, token),
        ("ListMembers a reader's community, first page", enterprise.memberships_of[reader][-1], ""),
    ):
        members: list[Callable[[], Awaitable[Any]]] = [
            functools.partial(svc.list_members, reader, community, start) for _ in range(5)
        ]
        await report(name, members, lambda a: f"{statistics.mean(a) if a else 0:.0f} listed")
    for name, prefix, visibility in (
        ("ListCommunities first page", "", pb.COMMUNITY_VISIBILITY_UNSPECIFIED),
        ("ListCommunities by name prefix", "quality 00", pb.COMMUNITY_VISIBILITY_UNSPECIFIED),
        ("ListCommunities secret only (most hidden)", "", pb.COMMUNITY_VISIBILITY_SECRET),
    ):
        browse: list[Callable[[], Awaitable[Any]]] = [
            functools.partial(svc.list_communities, reader, prefix, visibility) for _ in range(5)
        ]
        await report(name, browse, lambda a: f"{statistics.mean(a) if a else 0:.0f} listed")

    mixed = [c for calls in _scenarios(svc, enterprise, rng, args.requests).values() for c in calls]
    rng.shuffle(mixed)
    figures, rate = await _concurrent(mixed, args.concurrency, args.budget)
    print(figures.line(f", {rate:,.0f} calls/s"))


async def run(args: argparse.Namespace) -> int:
    scale = Scale.full() if args.full else Scale()
    if args.people or args.communities:
        people = args.people or scale.people
        scale = Scale(
            people=people,
            communities=args.communities or scale.communities,
            experts=min(people, max(1, people // 4)),
            partner_orgs=scale.partner_orgs,
            pinholes=scale.pinholes,
        )
    database = f"bench_community_{secrets.token_hex(3)}"
    ferret = None if args.mongo else PrivateFerretDB()
    mongo = args.mongo or (ferret.uri if ferret else "")
    print(
        f"access bench: {scale.people:,} people ({scale.experts:,} experts), "
        f"{scale.communities:,} communities, {scale.partner_orgs} partner orgs, "
        f"{scale.pinholes} pinholes; {os.cpu_count()} CPUs; "
        f"{'private FerretDB (SQLite)' if ferret else mongo}, database {database}"
    )
    svc: Service | None = None
    client = None
    try:
        if ferret is not None:
            await ferret.wait_ready()
        # Long timeouts: the seed builds indexes over millions of documents at --full.
        client = make_client(mongo, app_name="guildhall-bench", timeout_ms=1_800_000)
        enterprise = await seed(
            client[database], scale, events=args.events, log=lambda m: print(m, flush=True)
        )
        total = sum(enterprise.counts.values())
        print(
            f"seeded in {enterprise.seconds:.1f}s ({enterprise.index_seconds:.1f}s of it "
            f"building indexes): {total:,} documents "
            f"({enterprise.counts.get('memberships', 0):,} memberships), "
            f"{enterprise.events:,} events queued"
        )
        print(f"largest communities: {', '.join(f'{c} {n:,}' for c, n in enterprise.largest)}")
        log = Path(tempfile.gettempdir()) / f"{database}.log"
        svc = Service(mongo, database, f"bench{secrets.token_hex(3)}.", log)
        ready = await svc.wait_ready(args.budget * 10)
        print(f"service ready in {ready:.1f}s; log {log}")
        print(f"storage: {describe_storage(await storage(client[database]))}")
        if args.events:
            drained = await _wait_drained(mongo, database, args.budget * 5)
            if drained is None:
                print("  relay: events still pending after the budget")
            else:
                rate = enterprise.events / drained if drained else 0
                published = f"{enterprise.events:,} events in {drained:.1f}s ({rate:,.0f}/s)"
                print(f"  relay published {published}")
        await _measure(svc, client, enterprise, args)
    finally:
        if svc is not None:
            await svc.stop()
        if client is not None:
            if args.keep:
                print(f"kept database {database}")
            elif ferret is None:  # a private FerretDB goes with its directory
                await client.drop_database(database)
            await client.close()
        if ferret is not None:
            ferret.stop()
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.access_bench", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--full", action="store_true", help="400,000 people, 50,000 communities")
    parser.add_argument("--people", type=int, help="override the number of employees")
    parser.add_argument("--communities", type=int, help="override the number of communities")
    parser.add_argument("--requests", type=int, default=2_000, help="calls per scenario")
    parser.add_argument("--concurrency", type=int, default=16, help="calls in flight, mixed run")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds per phase, at most")
    parser.add_argument(
        "--events", action="store_true", help="seed outbox events and time the relay"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the seeded database (with --mongo)"
    )
    parser.add_argument(
        "--mongo", default="", help="MongoDB URI to use instead of a private FerretDB"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(run(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
