"""The mix's enterprise at the default and full scales, seeded in bulk.

Seeding through the HTTP API (what ``bench.mix`` does at the scales ``quick``, ``small``
and ``10x``) runs at about 40 joins a second: 40,000 people in their communities would
take hours. At the scales ``default`` (40,000 people, 10,000 experts, 5,000 communities)
and ``full`` (400,000 / 100,000 / 50,000) the enterprise is written straight into the
running stack's databases instead, as :mod:`bench.seed` does for the community service:

- the community service's documents come from :func:`bench.seed.seed`, which builds them
  with the service's own domain operations and document mapping (no outbox entries: a
  snapshot of an enterprise that already exists, not a burst of events);
- every document it writes is also projected, in bulk, into the read models that the
  community events would have built in the post service (``rm_communities``,
  ``rm_memberships``, ``rm_pinholes``, ``rm_people``) and the notification service
  (``spaces``, ``memberships``, ``people``), and into the profile service's people and
  organisations — the same fields those services' consumers write (their repositories'
  ``put_*`` methods; a change there must be made here too);
- experts declare two of the mix's tags: in the profile, the post service's
  ``rm_expertise`` and the notification service's ``experts`` and ``expert_tags``
  (question routing);
- posts and questions go through the post service's own repository
  (``ContentRepository.seed``: the documents CreatePost leaves, without events), with
  the notification service's ``items`` beside them, so an answer or a comment in the
  mix reaches the author of what it answers. Spaces get posts in proportion to their
  members, so the largest communities have the busiest timelines.

Not seeded: the search index (the mix does not search) and the profile's expert
directory rows. Every id starts with a prefix drawn for the seed, so a seed never
collides with the demo data, a smaller seed or an earlier one; a seed is kept in the
databases and reused by later runs of its scale (``bench.mix`` keeps its samples in
``.local/bench/seed-<scale>.json``).
"""

from __future__ import annotations

import bisect
import random
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from bench import seed as community_seed
from guildhall_community.adapters.repository import documents as d
from guildhall_kit.bus import load_registry, source_for
from guildhall_kit.clock import new_id
from guildhall_kit.mongo import Document, make_client
from guildhall_kit.outbox import Outbox
from guildhall_notification.adapters.repository.readmodels import expert_rows
from guildhall_post.adapters.repository.content import ContentRepository
from guildhall_post.domain.content import normalise_tags
from guildhall_post.domain.posts import PostType, new_post
from guildhall_profile.adapters.repository import org_document, person_document
from guildhall_profile.domain.model import Org, OrgKind, OrgState, Person, PersonKind

BATCH = 5_000
POSTS_PER_PERSON = 2.5
QUESTION_SHARE = 0.25
SAMPLE_EMPLOYEES = 2_000
"""Employees the mix draws its requests from (with partner users of open pinholes their
org contributes to): enough to spread the load, few enough to warm in a minute."""
SAMPLE_PARTNERS = 150
"""Partner users the mix draws on, at most: the same share of the requests at every scale
(the full scale has ten times the partner staff; drawing on all of them would make its
mix a different one, partners' requests being the dearer kind)."""
POSTS_KEPT_PER_SPACE = 30
"""Posts (and questions) of each sampled space the mix may answer or comment on."""


DATABASES: Mapping[str, str] = {
    s: f"guildhall_{s}" for s in ("community", "post", "notification", "profile")
}
"""The databases of the running stack, by service."""


@dataclass(frozen=True)
class BulkScale:
    name: str
    enterprise: community_seed.Scale


BULK_SCALES = {
    "default": BulkScale("default", community_seed.Scale()),
    "full": BulkScale("full", community_seed.Scale.full()),
}


@dataclass
class SeededPerson:
    person_id: str
    org_id: str
    partner: bool
    spaces: list[str]


@dataclass
class Seeded:
    """What the mix needs of a bulk seed: a sample of its people, with their spaces."""

    people: list[SeededPerson]
    communities: list[str]
    pinholes: dict[str, str]
    questions: list[tuple[str, str]]
    posts: list[tuple[str, str]]
    summary: str
    seconds: float
    counts: dict[str, int] = field(default_factory=dict)


class _Batches:
    """insert_many in batches, per (database, collection)."""

    def __init__(self) -> None:
        self.pending: dict[tuple[str, str], list[Document]] = {}
        self.dbs: dict[str, AsyncDatabase[Document]] = {}
        self.counts: dict[str, int] = {}

    def add(self, db: AsyncDatabase[Document], collection: str, doc: Document) -> None:
        self.dbs[db.name] = db
        self.pending.setdefault((db.name, collection), []).append(doc)

    async def flush(self, *, force: bool = False) -> None:
        for (db_name, collection), docs in list(self.pending.items()):
            if docs and (force or len(docs) >= BATCH):
                await self.dbs[db_name][collection].insert_many(docs, ordered=False)
                key = f"{db_name}.{collection}"
                self.counts[key] = self.counts.get(key, 0) + len(docs)
                self.pending[(db_name, collection)] = []


class Projection:
    """Projects each community document into the other services' read models (a
    :class:`bench.seed.Sink`), and remembers what the mix and the posts need."""

    def __init__(
        self,
        *,
        post: AsyncDatabase[Document],
        notification: AsyncDatabase[Document],
        profile: AsyncDatabase[Document],
        sample: set[str],
        experts: dict[str, tuple[str, ...]],
        now: datetime,
    ) -> None:
        self.post, self.notification, self.profile = post, notification, profile
        self.batches = _Batches()
        self.sample = sample
        self.experts = experts
        self.now = now
        self.spaces_of: dict[str, list[str]] = {p: [] for p in sample}
        self.authors: dict[str, list[str]] = {}
        """Community -> some of its active members (who write its seeded posts)."""
        self.sizes: dict[str, int] = {}
        self.pinholes: dict[str, tuple[str, str, dict[str, str]]] = {}
        """Pinhole -> (community, state, grants)."""

    def add(self, collection: str, doc: Document) -> None:
        b, now = self.batches, self.now
        if collection == d.MEMBERSHIPS:
            active = doc["status"] == "active"
            community, person = doc["community_id"], doc["person_id"]
            role = doc["role"] if active else None
            b.add(
                self.post,
                "rm_memberships",
                {
                    "_id": doc["_id"],
                    "community_id": community,
                    "person_id": person,
                    "role": role or "",
                    "membership_version": doc["version"],
                },
            )
            b.add(
                self.notification,
                "memberships",
                {
                    "_id": doc["_id"],
                    "community_id": community,
                    "person_id": person,
                    "role": role,
                    "version": doc["version"],
                },
            )
            if active:
                self.sizes[community] = self.sizes.get(community, 0) + 1
                authors = self.authors.setdefault(community, [])
                if len(authors) < 20:
                    authors.append(person)
                if person in self.spaces_of:
                    self.spaces_of[person].append(community)
        elif collection == d.COMMUNITIES:
            b.add(
                self.post,
                "rm_communities",
                {
                    "_id": doc["_id"],
                    "visibility": doc["visibility"],
                    "state": doc["state"],
                    "name": doc["name"],
                    "version": doc["version"],
                },
            )
            b.add(
                self.notification,
                "spaces",
                {
                    "_id": doc["_id"],
                    "community_id": doc["_id"],
                    "title": doc["name"],
                    "is_pinhole": False,
                    "visibility": doc["visibility"],
                    "archived": doc["state"] == "archived",
                    "version": doc["version"],
                },
            )
        elif collection == d.PINHOLES:
            grants = {g["org_id"]: g["level"] for g in doc["grants"]}
            opened = doc["opened_at"] is not None
            self.pinholes[doc["_id"]] = (doc["community_id"], doc["state"], grants)
            b.add(
                self.post,
                "rm_pinholes",
                {
                    "_id": doc["_id"],
                    "community_id": doc["community_id"],
                    "state": doc["state"],
                    "ever_opened": opened,
                    "expires_at": doc["expires_at"],
                    "grants": grants,
                    "title": doc["title"],
                    "version": doc["version"],
                },
            )
            b.add(
                self.notification,
                "spaces",
                {
                    "_id": doc["_id"],
                    "community_id": doc["community_id"],
                    "is_pinhole": True,
                    "title": doc["title"],
                    "pinhole_state": doc["state"],
                    "ever_opened": opened,
                    "grants": grants,
                    "version": doc["version"],
                },
            )
        elif collection == d.PEOPLE:
            self._person(str(doc["_id"]), str(doc["org_id"]), doc["kind"] == "partner", now)
        elif collection == d.ORGS:
            org = Org(
                org_id=str(doc["_id"]),
                kind=OrgKind(doc["kind"]),
                display_name=f"Partner {doc['_id']}",
                state=OrgState.SUSPENDED if doc["suspended"] else OrgState.ACTIVE,
                created_at=now,
                updated_at=now,
                suspension_reason="seeded as suspended" if doc["suspended"] else "",
            )
            b.add(self.profile, "orgs", org_document(org))

    def _person(self, person_id: str, org_id: str, partner: bool, now: datetime) -> None:
        b = self.batches
        name = f"Person {person_id}"
        email = f"{person_id}@{org_id}.example"
        tags = self.experts.get(person_id, ())
        b.add(
            self.post,
            "rm_people",
            {"_id": person_id, "kind": "partner" if partner else "employee", "org_id": org_id},
        )
        b.add(
            self.notification,
            "people",
            {
                "_id": person_id,
                "org_id": org_id,
                "kind": "partner" if partner else "employee",
                "display_name": name,
                "email": email,
                "version": 1,
            },
        )
        person = Person(
            person_id=person_id,
            kind=PersonKind.PARTNER_USER if partner else PersonKind.EMPLOYEE,
            org_id=org_id,
            display_name=name,
            email=email,
            created_at=now,
            updated_at=now,
            declared=tags,
        )
        b.add(self.profile, "people", person_document(person))
        if tags:
            b.add(self.post, "rm_expertise", {"_id": person_id, "declared": sorted(tags)})
            expert = {
                "_id": person_id,
                "tags": sorted(tags),
                "detail": [{"tag": t, "declared": True, "earned": 0} for t in sorted(tags)],
                "version": 1,
            }
            b.add(self.notification, "experts", expert)
            for row in expert_rows(person_id, expert):
                b.add(self.notification, "expert_tags", row)

    async def flush(self, *, force: bool = False) -> None:
        await self.batches.flush(force=force)


def _progress(label: str, done: int, total: int, started: float) -> None:
    width = 30
    filled = int(width * done / max(total, 1))
    print(
        f"\r    {label} [{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,}"
        f" ({time.perf_counter() - started:.0f} s)",
        end="",
        flush=True,
    )


async def _posts(
    p: Projection,
    content: ContentRepository,
    count: int,
    rng: random.Random,
    *,
    tags: list[str],
    mentionable: list[str],
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """``count`` posts (a quarter of them questions) over the spaces, in proportion to
    their members; the posts and questions of the sampled spaces (at most
    :data:`POSTS_KEPT_PER_SPACE` of each per space)."""
    spaces = [c for c in p.sizes if p.authors.get(c)]
    weights = [float(p.sizes[c]) for c in spaces]
    for pinhole, (community, state, _) in p.pinholes.items():
        if state == "open" and p.authors.get(community):
            spaces.append(pinhole)
            weights.append(20.0)
            p.authors[pinhole] = p.authors[community][:3]
    cumulative = list(accumulate(weights))
    wanted = {s for spaces_of in p.spaces_of.values() for s in spaces_of}
    wanted |= {ph for ph, (_, state, _) in p.pinholes.items() if state == "open"}
    posts: list[tuple[str, str]] = []
    questions: list[tuple[str, str]] = []
    kept: dict[str, int] = {}
    newest = p.now - timedelta(minutes=5)
    span_ms = 90 * 86_400_000
    started = time.perf_counter()
    chunk = BATCH
    for start in range(0, count, chunk):
        batch = []
        for n in range(start, min(count, start + chunk)):
            space = spaces[bisect.bisect_left(cumulative, rng.random() * cumulative[-1])]
            question = rng.random() < QUESTION_SHARE
            at = newest - timedelta(milliseconds=rng.randrange(span_ms))
            at = at.replace(microsecond=at.microsecond // 1000 * 1000)
            picked = rng.sample(tags, 2)
            who = rng.sample(mentionable, 2)
            body = (
                f"Notes {n} on the {picked[0]} process: @{who[0]} and @{who[1]}, please check "
                "the plan before Friday. We compared three options; the second saves a week."
            )
            post = new_post(
                post_id=new_id(at),
                space_id=space,
                post_type=PostType.QUESTION if question else PostType.DISCUSSION,
                title=f"{'How do we handle' if question else 'Notes on'} step {n}",
                body=body,
                tags=normalise_tags(picked),
                mentions=(),
                quoted_post_id="",
                author_id=rng.choice(p.authors[space]),
                pinned=False,
                summary="",
                at=at,
            )
            batch.append(post)
            p.batches.add(
                p.notification,
                "items",
                {
                    "_id": post.post_id,
                    "space_id": space,
                    "type": "question" if question else "discussion",
                    "author_id": post.author_id,
                    "title": post.title,
                    "tags": list(post.tags),
                    "deleted": False,
                },
            )
            if space in wanted and kept.get(space, 0) < POSTS_KEPT_PER_SPACE:
                kept[space] = kept.get(space, 0) + 1
                (questions if question else posts).append((post.post_id, space))
        await content.seed(batch)
        await p.flush()
        _progress("posts", min(count, start + chunk), count, started)
    await p.flush(force=True)
    print(flush=True)
    return posts, questions


async def seed(
    scale: BulkScale,
    mongo: str,
    *,
    tags: list[str],
    home: str,
    databases: Mapping[str, str] = DATABASES,
) -> Seeded:
    """Write an enterprise of ``scale`` into the running stack's databases (or others named
    by service in ``databases``; see the module docstring); what the mix needs of it."""
    started = time.perf_counter()
    rng = random.Random(21)
    prefix = f"b{scale.name[0]}{secrets.token_hex(2)}-"
    e = scale.enterprise
    now = datetime.now(UTC).replace(microsecond=0)
    people = [f"{prefix}e{i:06d}" for i in range(e.people)]
    sample = set(rng.sample(people, min(SAMPLE_EMPLOYEES, e.people)))
    experts = {people[i]: tuple(rng.sample(tags, 2)) for i in range(e.experts)}
    client = make_client(mongo, app_name="guildhall-bench-bulk", timeout_ms=3_600_000)
    try:
        projection = Projection(
            post=client[databases["post"]],
            notification=client[databases["notification"]],
            profile=client[databases["profile"]],
            sample=sample,
            experts=experts,
            now=now,
        )
        print(f"  the community service's documents, projected into the others ({prefix})")
        enterprise = await community_seed.seed(
            client[databases["community"]],
            e,
            events=False,
            rng_seed=7,
            prefix=prefix,
            sink=projection,
            log=lambda line: print(f"\n  {line.strip()}", flush=True),
            progress=lambda done, total: _progress("communities", done, total, started),
        )
        await projection.flush(force=True)
        count = int(e.people * POSTS_PER_PERSON)
        print(f"  {count:,} posts and questions")
        content = ContentRepository(
            client[databases["post"]],
            Outbox(load_registry(), topic="guildhall.post.v1", source=source_for("post")),
        )
        mentionable = rng.sample(people, min(500, len(people)))
        posts, questions = await _posts(
            projection, content, count, rng, tags=tags, mentionable=mentionable
        )
    finally:
        await client.close()
    chosen = [
        SeededPerson(p, home, False, projection.spaces_of[p])
        for p in sorted(sample)
        if projection.spaces_of[p]
    ]
    # The mix reads and writes in each space it draws, so partners are drawn on the open
    # pinholes their org may write in (a viewer's write is refused, rightly).
    reachable: dict[str, list[str]] = {}
    for pinhole, (_, state, grants) in projection.pinholes.items():
        if state == "open":
            for org, level in grants.items():
                if level == "contributor":
                    reachable.setdefault(org, []).append(pinhole)
    eligible = [(user, org) for user, org in enterprise.partner_users if reachable.get(org)]
    partners = [
        SeededPerson(user, org, True, reachable[org])
        for user, org in sorted(
            random.Random(22).sample(eligible, min(SAMPLE_PARTNERS, len(eligible)))
        )
    ]
    counts = {f"{databases['community']}.{k}": v for k, v in enterprise.counts.items()}
    counts |= projection.batches.counts
    counts[f"{databases['post']}.posts"] = count
    memberships = enterprise.counts.get(d.MEMBERSHIPS, 0)
    summary = (
        f"{e.people:,} employees ({e.experts:,} experts), "
        f"{len(enterprise.partner_users):,} partner staff of {e.partner_orgs} orgs, "
        f"{e.communities:,} communities, {memberships:,} memberships, "
        f"{len(enterprise.pinholes)} pinholes, {count:,} posts before the run; "
        f"the mix draws on {len(chosen):,} employees and {len(partners)} partner staff"
    )
    return Seeded(
        people=[*chosen, *partners],
        communities=list(enterprise.community_ids),
        pinholes={ph: org for org, phs in reachable.items() for ph in phs},
        questions=questions,
        posts=posts,
        summary=summary,
        seconds=time.perf_counter() - started,
        counts=counts,
    )


def as_json(seeded: Seeded) -> dict[str, Any]:
    """For the log: the counts of a seed."""
    return {"summary": seeded.summary, "seconds": round(seeded.seconds), **seeded.counts}
