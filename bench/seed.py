"""Seed a realistic enterprise into the community service's database, in bulk.

Run: ``.venv/bin/python -m bench.seed [--full] [--people N --communities N ...]``

Default scale: 40,000 people (10,000 of them experts), 5,000 communities, 30
partner orgs, 60 pinholes. ``--full``: 400,000 people, 100,000 experts,
50,000 communities, 300 partner orgs, 600 pinholes — the reference deployment.

The bulk path writes exactly the documents the service's RPCs would write,
with the events they would publish, only faster: every document is produced
by the service's own domain operations (``create_community``, ``join``,
``invite``, ``propose_pinhole``, ``grant``, ``open_pinhole``,
``close_pinhole``) and stored with the service's own document mapping, in
batches. With events on (the default) each document carries its outbox
entries — the same CloudEvents the RPCs would have queued — and the service's
relay publishes them once it runs. ``--no-events`` skips them: a snapshot of an
existing enterprise, for benchmarks that should not measure the relay.

The people and organisation read models (what profile events would have
built) and the name claims are written beside them; the listings need nothing
else, since they are queries on the indexes the service declares.

Distribution: community popularity is Zipf-like (exponent 0.9), so a few
communities are huge — about a quarter of everyone at the top, some 100,000
members at full scale — and most are small. A regular employee belongs to 1-5
communities; experts to 5-50 (every 200th expert to exactly 50: the "employee
in 50 communities" of the access benchmark). Visibility: 70% open, 25%
private, 5% secret. Pinholes sit mostly in big communities; 80% are open,
10% still proposed, 10% closed; a third expire in 30-180 days; each is granted
to 1-3 partner orgs; 2% of the orgs are suspended.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from typing import Any, Protocol

from pymongo.asynchronous.database import AsyncDatabase

from guildhall_community import domain as dom
from guildhall_community.adapters.convert import event_message
from guildhall_community.adapters.repository import documents as d
from guildhall_community.adapters.repository import indexes as repository_indexes
from guildhall_community.domain import (
    Change,
    Community,
    GrantLevel,
    Membership,
    PartnerOrg,
    Pinhole,
    PinholeOpenPolicy,
    Principal,
    PrincipalKind,
    Role,
    Visibility,
    name_key,
)
from guildhall_kit.bus import load_registry, source_for
from guildhall_kit.mongo import Document, ensure_indexes, make_client
from guildhall_kit.outbox import Outbox, outbox_indexes

HOME = "home"
TOPICS = ["supply", "quality", "logistics", "sap", "python", "safety", "finance", "design"]
TOPICS += ["pricing", "hr", "legal", "cloud", "data", "security", "retail", "energy"]
BATCH = 5_000


@dataclass(frozen=True)
class Scale:
    """How big an enterprise to seed."""

    people: int = 40_000
    communities: int = 5_000
    experts: int = 10_000
    partner_orgs: int = 30
    pinholes: int = 60
    users_per_org: int = 5

    @classmethod
    def full(cls) -> Scale:
        """The reference deployment."""
        return cls(400_000, 50_000, 100_000, 300, 600)


@dataclass
class Enterprise:
    """What was seeded, with samples for the benchmarks to draw from."""

    scale: Scale
    seconds: float = 0.0
    index_seconds: float = 0.0
    """Of ``seconds``: building the service's indexes."""
    counts: dict[str, int] = field(default_factory=dict)
    events: int = 0
    memberships_of: dict[str, list[str]] = field(default_factory=dict)
    """Sampled people -> their community ids (the busiest experts and some regulars)."""
    busiest: list[str] = field(default_factory=list)
    """People in the most communities (50 each)."""
    regulars: list[str] = field(default_factory=list)
    community_ids: list[str] = field(default_factory=list)
    visibility: dict[str, Visibility] = field(default_factory=dict)
    largest: list[tuple[str, int]] = field(default_factory=list)
    pinholes: list[tuple[str, str, str, tuple[str, ...]]] = field(default_factory=list)
    """(pinhole id, community id, state, granted org ids)."""
    partner_users: list[tuple[str, str]] = field(default_factory=list)
    """(person id, org id) of partner users of orgs that are not suspended."""


def _ms(value: datetime) -> datetime:
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


class Sink(Protocol):
    """Told of every document the seed writes (for projecting it elsewhere in bulk)."""

    def add(self, collection: str, doc: Document) -> None: ...

    async def flush(self, *, force: bool = False) -> None: ...


class _Writer:
    """Batched inserts per collection, with the outbox entries of each document."""

    def __init__(
        self, db: AsyncDatabase[Document], outbox: Outbox | None, sink: Sink | None = None
    ) -> None:
        self.db = db
        self.outbox = outbox
        self.sink = sink
        self.pending: dict[str, list[Document]] = {}
        self.counts: dict[str, int] = {}
        self.events = 0

    def doc(self, state: Any, events: Sequence[dom.Event], **extra: Any) -> None:
        if isinstance(state, Community):
            name, doc = d.COMMUNITIES, {"_id": state.id, **d.community_fields(state)}
        elif isinstance(state, Membership):
            key = d.membership_id(state.community_id, state.person_id)
            name, doc = d.MEMBERSHIPS, {"_id": key, **d.membership_fields(state)}
        elif isinstance(state, Pinhole):
            name, doc = d.PINHOLES, {"_id": state.id, **d.pinhole_fields(state)}
        else:
            raise TypeError(type(state).__name__)
        doc.update(extra)
        if events and self.outbox is not None:
            count = int(extra.get("member_count", 0))
            outbox = self.outbox
            queued = [
                outbox.event(event_message(e, state, count), key=e.aggregate_id, time=e.occurred_at)
                for e in events
            ]
            doc.update(outbox.fields(*queued))
            self.events += len(queued)
        self.add(name, doc)

    def add(self, collection: str, doc: Document) -> None:
        self.pending.setdefault(collection, []).append(doc)
        if self.sink is not None:
            self.sink.add(collection, doc)

    async def flush(self, *, force: bool = False) -> None:
        for name, docs in list(self.pending.items()):
            if docs and (force or len(docs) >= BATCH):
                await self.db[name].insert_many(docs, ordered=False)
                self.counts[name] = self.counts.get(name, 0) + len(docs)
                self.pending[name] = []
        if self.sink is not None:
            await self.sink.flush(force=force)


def _picks(rng: random.Random, cumulative: list[float], count: int, total: float) -> list[int]:
    """``count`` distinct community indices drawn by popularity."""
    chosen: set[int] = set()
    while len(chosen) < count:
        chosen.add(bisect.bisect_left(cumulative, rng.random() * total))
    return sorted(chosen)


def _people_picks(scale: Scale, rng: random.Random) -> list[list[int]]:
    """Community indices of each person."""
    weights = [1.0 / (i + 1) ** 0.9 for i in range(scale.communities)]
    cumulative = list(accumulate(weights))
    total = cumulative[-1]
    count = min(50, scale.communities)
    picks: list[list[int]] = []
    for p in range(scale.people):
        if p < scale.experts:
            k = (
                count
                if p % 200 == 0
                else min(count, rng.randint(5, 12) + int(rng.expovariate(0.1)))
            )
        else:
            k = min(count, rng.choice((1, 1, 2, 2, 2, 3, 3, 4, 5)))
        picks.append(_picks(rng, cumulative, k, total))
    return picks


async def seed(
    db: AsyncDatabase[Document],
    scale: Scale,
    *,
    events: bool = True,
    rng_seed: int = 7,
    log: Callable[[str], None] = print,
    prefix: str = "",
    sink: Sink | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Enterprise:
    """Write an enterprise of ``scale`` into ``db`` (empty, or holding no id that starts
    with ``prefix``: every id and community name the seed makes starts with it).

    ``sink`` is told of every document written; ``progress(done, total)`` of the
    communities written. Returns what was written, with samples.
    Blocks on MongoDB for the whole seed (minutes at full scale).
    """
    started = time.perf_counter()
    rng = random.Random(rng_seed)
    now = _ms(datetime.now(UTC))
    outbox = (
        Outbox(load_registry(), topic="guildhall.community.v1", source=source_for("community"))
        if events
        else None
    )
    w = _Writer(db, outbox, sink)
    out = Enterprise(scale)
    people = [f"{prefix}e{p:06d}" for p in range(scale.people)]
    picks = _people_picks(scale, rng)
    members: list[list[int]] = [[] for _ in range(scale.communities)]
    for p, chosen in enumerate(picks):
        for c in chosen:
            members[c].append(p)
    for c, member_ids in enumerate(members):
        if not member_ids:  # nobody picked it: someone founded it and is its only member
            founder = rng.randrange(scale.people)
            member_ids.append(founder)
            picks[founder].append(c)
    planned = sum(len(m) for m in members)
    log(f"  planned {planned:,} memberships ({time.perf_counter() - started:.1f}s)")

    for person in people:
        w.add(d.PEOPLE, {"_id": person, "kind": "employee", "org_id": HOME})
    await w.flush()

    seeder = _Seeder(w, out, rng, people, now, prefix)
    states = await _communities(seeder, members, progress)
    log(f"  communities and memberships written ({time.perf_counter() - started:.1f}s)")

    orgs = [f"{prefix}org-{o:03d}" for o in range(scale.partner_orgs)]
    suspended = set(rng.sample(orgs, k=max(0, len(orgs) // 50)))
    for o, org in enumerate(orgs):
        kind = ("vendor", "supplier", "customer")[o % 3]
        w.add(d.ORGS, {"_id": org, "kind": kind, "suspended": org in suspended, "version": 1})
        for u in range(scale.users_per_org):
            user = f"{org}-u{u}"
            w.add(d.PEOPLE, {"_id": user, "kind": "partner", "org_id": org})
            if org not in suspended:
                out.partner_users.append((user, org))
    big = max(1, scale.communities // 5)
    for i in range(scale.pinholes):
        c = min(int(rng.paretovariate(1.2)) - 1, big - 1)
        granted = rng.sample(orgs, k=min(len(orgs), rng.randint(1, 3)))
        community, owner = states[c]
        seeder.pinhole(i, community, owner, [o for o in granted if o not in suspended])
    await w.flush(force=True)
    log(f"  documents written ({time.perf_counter() - started:.1f}s)")
    out.index_seconds = await build_indexes(db)
    log(f"  indexes built ({out.index_seconds:.1f}s)")

    ranked = sorted(range(scale.communities), key=lambda c: -len(members[c]))
    out.largest = [(f"{prefix}c{c:06d}", len(members[c])) for c in ranked[:5]]
    out.busiest = [people[p] for p in range(0, scale.experts, 200)][:50]
    out.regulars = [people[p] for p in range(scale.experts, scale.people, 997)][:50]
    for person in (*out.busiest, *out.regulars):
        index = int(person.removeprefix(prefix)[1:])
        out.memberships_of[person] = [f"{prefix}c{c:06d}" for c in picks[index]]
    out.counts = dict(w.counts)
    out.events = w.events
    out.seconds = time.perf_counter() - started
    return out


async def _communities(
    seeder: _Seeder, members: list[list[int]], progress: Callable[[int, int], None] | None
) -> dict[int, tuple[Community, Principal]]:
    """Every community with its members, written; each one's final state and owner."""
    states: dict[int, tuple[Community, Principal]] = {}
    for c, member_ids in enumerate(members):
        states[c] = seeder.community(c, member_ids)
        await seeder.w.flush()
        if progress is not None:
            progress(c + 1, len(members))
    return states


@dataclass
class _Seeder:
    """Builds communities and pinholes with the domain's own operations."""

    w: _Writer
    out: Enterprise
    rng: random.Random
    people: list[str]
    now: datetime
    prefix: str = ""

    def community(self, c: int, member_ids: list[int]) -> tuple[Community, Principal]:
        """Create community ``c`` with its members; its final state and owner."""
        return _community(self, c, member_ids)

    def pinhole(self, i: int, community: Community, owner: Principal, orgs: list[str]) -> None:
        """Propose, grant to ``orgs``, open (and maybe close) pinhole ``i`` of ``community``."""
        _pinhole(self, i, community, owner, orgs)


async def build_indexes(db: AsyncDatabase[Document]) -> float:
    """Build the community service's indexes on ``db``; the seconds it took.

    Like a migration step before a deployment: the service creates missing
    indexes at start-up too, but through its ordinary database timeout, which
    an index build over millions of documents exceeds.
    """
    started = time.perf_counter()
    outbox = [i for c in d.OUTBOX_COLLECTIONS for i in outbox_indexes(c)]
    await ensure_indexes(db, [*repository_indexes(), *outbox])
    return time.perf_counter() - started


def _community(s: _Seeder, c: int, member_ids: list[int]) -> tuple[Community, Principal]:
    w, out, rng, people, now = s.w, s.out, s.rng, s.people, s.now
    cid = f"{s.prefix}c{c:06d}"
    roll = rng.random()
    visibility = (
        Visibility.OPEN if roll < 0.70 else Visibility.PRIVATE if roll < 0.95 else Visibility.SECRET
    )
    name = f"{TOPICS[c % len(TOPICS)].title()} {s.prefix}{c:06d}"
    created = _ms(now - timedelta(days=rng.uniform(30, 730)))
    owner = Principal(people[member_ids[0]], PrincipalKind.EMPLOYEE, HOME)
    change = dom.create_community(
        owner,
        community_id=cid,
        name=name,
        description=f"Where people working on {name.lower()} meet.",
        visibility=visibility,
        tags=(TOPICS[c % len(TOPICS)],),
        now=created,
    )
    community, owner_membership = _state(change)
    assert owner_membership is not None
    community_events = list(change.events)
    memberships = [owner_membership]
    moderators = 0 if len(member_ids) < 10 else rng.randint(1, 3)
    span = (now - created).total_seconds()
    for i, p in enumerate(member_ids[1:], start=1):
        at = _ms(created + timedelta(seconds=span * i / (len(member_ids) + 1)))
        if i <= moderators:
            change = dom.invite(
                community,
                owner,
                actor_membership=owner_membership,
                person_id=people[p],
                invitee_kind=PrincipalKind.EMPLOYEE,
                target_membership=None,
                role=Role.MODERATOR,
                now=at,
            )
            updated, joined = _state(change)
            assert updated is not None
            assert joined is not None
            community = updated
            community_events.extend(change.events)
            memberships.append(joined)
            continue
        if visibility is Visibility.OPEN:
            person = Principal(people[p], PrincipalKind.EMPLOYEE, HOME)
            change = dom.join(community, person, membership=None, now=at)
        else:
            change = dom.invite(
                community,
                owner,
                actor_membership=owner_membership,
                person_id=people[p],
                invitee_kind=PrincipalKind.EMPLOYEE,
                target_membership=None,
                now=at,
            )
        (write,) = change.writes
        assert isinstance(write.state, Membership)
        w.doc(write.state, write.events)
    for m in memberships:
        w.doc(m, ())
    w.doc(community, community_events, member_count=len(member_ids))
    w.add(d.COMMUNITY_NAMES, {"_id": name_key(name), "community_id": cid})
    out.community_ids.append(cid)
    out.visibility[cid] = visibility
    return community, owner


def _state(change: Change) -> tuple[Community, Membership | None]:
    community = change.community
    assert community is not None
    return community, change.membership


def _pinhole(
    s: _Seeder, i: int, community: Community, owner: Principal, grantable: list[str]
) -> None:
    w, out, rng, now = s.w, s.out, s.rng, s.now
    cid = community.id
    at = _ms(now - timedelta(days=rng.uniform(1, 60)))
    expires = _ms(now + timedelta(days=rng.uniform(30, 180))) if rng.random() < 1 / 3 else None
    pid = f"{s.prefix}ph{i:05d}"
    change = dom.propose_pinhole(
        community,
        owner,
        actor_membership=None,
        pinhole_id=pid,
        title=f"Project {i:05d}",
        purpose="Work with partners on one project.",
        expires_at=expires,
        now=at,
    )
    pinhole = change.pinhole
    assert pinhole is not None
    events = list(change.events)
    for o, org in enumerate(grantable):
        level = GrantLevel.CONTRIBUTOR if o % 2 == 0 else GrantLevel.VIEWER
        change = dom.grant(
            pinhole,
            community,
            owner,
            actor_membership=None,
            org=PartnerOrg(org),
            level=level,
            policy=PinholeOpenPolicy.OWNER_OR_ADMIN,
            now=at,
        )
        pinhole = change.pinhole or pinhole
        events.extend(change.events)
    roll = rng.random()
    state = "proposed"
    if roll >= 0.10:
        change = dom.open_pinhole(
            pinhole,
            community,
            owner,
            actor_membership=None,
            policy=PinholeOpenPolicy.OWNER_OR_ADMIN,
            now=at,
        )
        pinhole = change.pinhole or pinhole
        events.extend(change.events)
        state = "open"
        if roll >= 0.90:
            change = dom.close_pinhole(pinhole, community, owner, actor_membership=None, now=at)
            pinhole = change.pinhole or pinhole
            events.extend(change.events)
            state = "closed"
    w.doc(pinhole, events)
    out.pinholes.append((pid, cid, state, tuple(grantable)))


async def storage(db: AsyncDatabase[Document]) -> dict[str, Any]:
    """dbStats of ``db`` (sizes in bytes)."""
    return dict(await db.command("dbStats"))


def describe_storage(stats: dict[str, Any]) -> str:
    mb = 1024 * 1024
    return (
        f"{int(stats.get('objects', 0)):,} documents; "
        f"data {stats.get('dataSize', 0) / mb:,.0f} MB, "
        f"indexes {stats.get('indexSize', 0) / mb:,.0f} MB, "
        f"total {stats.get('totalSize', stats.get('storageSize', 0)) / mb:,.0f} MB"
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.seed", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--full", action="store_true", help="the reference deployment's scale")
    parser.add_argument("--people", type=int, help="employees (default 40,000)")
    parser.add_argument("--communities", type=int, help="communities (default 5,000)")
    parser.add_argument("--experts", type=int, help="experts among the employees")
    parser.add_argument("--partner-orgs", type=int, help="partner organisations")
    parser.add_argument("--pinholes", type=int, help="pinholes")
    parser.add_argument("--no-events", action="store_true", help="write no outbox entries")
    parser.add_argument("--mongo", default="mongodb://127.0.0.1:27027/", help="MongoDB URI")
    parser.add_argument("--database", default="guildhall_community_seed", help="database to fill")
    parser.add_argument("--seed", type=int, default=7, help="random seed")
    return parser.parse_args(argv)


def scale_of(args: argparse.Namespace) -> Scale:
    base = Scale.full() if args.full else Scale()
    people = args.people or base.people
    return Scale(
        people=people,
        communities=args.communities or base.communities,
        experts=min(people, args.experts if args.experts is not None else base.experts),
        partner_orgs=args.partner_orgs if args.partner_orgs is not None else base.partner_orgs,
        pinholes=args.pinholes if args.pinholes is not None else base.pinholes,
    )


async def _main(args: argparse.Namespace) -> int:
    scale = scale_of(args)
    client = make_client(args.mongo, app_name="guildhall-bench-seed", timeout_ms=1_800_000)
    try:
        await client.drop_database(args.database)
        db = client[args.database]
        print(f"seeding {args.database}: {scale}")
        enterprise = await seed(db, scale, events=not args.no_events, rng_seed=args.seed)
        took = f"{enterprise.seconds:.1f}s"
        print(f"seeded in {took}: {enterprise.counts}, {enterprise.events:,} events")
        print(f"largest communities: {enterprise.largest}")
        print(f"storage: {describe_storage(await storage(db))}")
    finally:
        await client.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(_main(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
