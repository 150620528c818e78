"""Platform benchmark: the whole stack under a realistic mix, through the gateway (``make bench``).

Run: ``.venv/bin/python -m bench.mix [--scale quick|small|10x] [--seconds S]
[--rates R,R,...]``; ``make bench`` runs ``--scale small``, ``make bench-quick`` the
60-second version CI runs (``--scale quick``). Needs the local infra (``make
infra-up``); it restarts the services of ``make run`` with the round-trip header on
(``GUILDHALL_EXPOSE_TRIPS=1``) and the gateway's rate limits raised (the benchmark
measures capacity, not the limiter), and leaves them running.

In one run, on one machine, it:

1. **seeds** through the public HTTP API (the requests a client would send):
   employees and partner staff, communities whose sizes follow a Zipf law, pinholes
   granted to partner orgs, and posts with tags and mentions. A seed of the same
   scale is reused (``.local/bench/seed-<scale>.json``, checked against the
   database);
2. **measures the ceilings** the mix is compared with, in the same run: a bare
   grpc.aio echo, a bare HTTP echo on the gateway's server stack (FastAPI on
   uvicorn), bare FerretDB reads and writes, bare Redis reads and writes (when the
   local Redis answers), bare Kafka produce and produce -> consume;
3. **drives the mix** through the gateway with vegeta (open loop: requests leave at
   the fixed rate whether earlier ones have answered or not, so a slow answer does
   not hold the next one back): 60 % home feed, 30 % space feed, 10 % writes
   (posts, questions, answers, comments), pages of 10, users drawn from the seeded
   population, partners included. Rates step up; the highest step with p99 <= 50 ms
   and no errors is the sustained rate;
4. **counts round trips** per request type (the ``Guildhall-Trips`` header: database
   commands, cache calls and RPCs of the whole request tree);
5. at the highest failing step, **profiles** the gateway and the post service with
   py-spy when it is installed, and prints the functions that take the most time;
6. writes ``bench/results/<date>-<scale>.json`` and ``.md``: each figure, its
   ceiling, the ratio and the target.

It reports; it does not judge: the exit status is non-zero only if the harness
itself fails. Method and latest figures: docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import math
import os
import random
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2

from bench import bulk, ceilings
from guildhall_kit.auth import PrincipalKind, mint_token
from guildhall_kit.auth.devkeys import ensure_dev_keys

ROOT = Path(os.environ.get("GUILDHALL_ROOT", Path(__file__).resolve().parents[1]))
LOCAL = ROOT / ".local"
RESULTS = ROOT / "bench" / "results"
MONGO = os.environ.get("GUILDHALL_MONGO_URI", "mongodb://127.0.0.1:27027/")
GATEWAY = os.environ.get("GUILDHALL_BENCH_GATEWAY", "http://127.0.0.1:8080")
HOME = "home"
P99_TARGET_MS = 50.0
MIN_REQUESTS = 500
"""Requests a measured step sends at least (it runs longer at low rates): its p99 is
then the fifth slowest, not the slowest."""
SETTLE_S = 300.0
"""How long seeding waits for the platform to learn what it was just told (a member's
first post waits until the post service has applied the join)."""
TAGS = ["logistics", "procurement", "finance", "security", "hr", "legal", "sales", "cloud"]


@dataclass(frozen=True)
class Scale:
    name: str
    employees: int
    partner_orgs: int
    partners_per_org: int
    communities: int
    pinholes: int
    posts: int
    rates: tuple[int, ...]
    seconds: float
    bulk: bool = False
    """Seeded straight into the databases (:mod:`bench.bulk`) rather than through the API."""


SCALES = {
    # CI's harness check: a minute of load in all.
    "quick": Scale("quick", 120, 2, 3, 12, 2, 200, (10, 20, 40), 6.0),
    "small": Scale("small", 1_000, 4, 5, 100, 4, 3_000, (25, 50, 100, 200, 400, 700, 1000), 15.0),
    "10x": Scale("10x", 10_000, 10, 5, 1_000, 10, 30_000, (25, 50, 100, 200, 400), 15.0),
    # The scales, seeded in bulk: the default and the reference deployment.
    "default": Scale(
        "default", 40_000, 30, 5, 5_000, 60, 100_000, (25, 50, 100, 200, 400, 1000), 15.0, True
    ),
    "full": Scale(
        "full", 400_000, 300, 5, 50_000, 600, 1_000_000, (25, 50, 100, 200, 400), 15.0, True
    ),
}


TENFOLD = {"small": "10x", "default": "full"}
"""The scale with ten times the data of each scale, for repeating its key latencies."""


# --- seeding through the API ---------------------------------------------------------


def token(subject: str, kind: PrincipalKind, org: str, roles: list[str] | None = None) -> str:
    keys = ensure_dev_keys()
    return mint_token(
        keys.private_key_pem,
        kid=keys.kid,
        subject=subject,
        kind=kind,
        org_id=org,
        roles=roles,
        ttl_s=12 * 3600,
    )


@dataclass
class Person:
    person_id: str
    org_id: str
    partner: bool
    token: str = ""
    spaces: list[str] = field(default_factory=list)


@dataclass
class Seed:
    scale: str
    people: list[Person]
    communities: list[str]
    pinholes: dict[str, str]  # pinhole id -> partner org
    questions: list[tuple[str, str]]  # (question id, space id)
    posts: list[tuple[str, str]]  # (post id, space id)
    seconds: float = 0.0
    summary: str = ""
    """What was seeded, when more than ``people`` (a bulk seed samples its population)."""


class Api:
    """The gateway over HTTP, retrying what the eventually consistent platform
    answers while events settle (403/404/409 for a moment) and 429/503; an
    ``already-exists`` answer to a retried write counts as done."""

    def __init__(self, http: httpx2.AsyncClient) -> None:
        self.http = http
        self.sent = 0

    async def call(self, who: str, method: str, path: str, body: Any = None) -> Any:
        """Send until it succeeds, for at most :data:`SETTLE_S` while the answer is one
        that events settling explain; then raise with the last answer."""
        deadline = time.monotonic() + SETTLE_S
        while True:
            self.sent += 1
            reply = await self.http.request(
                method, path, headers={"authorization": f"Bearer {who}"}, json=body
            )
            if reply.status_code < 300:
                return reply.json() if reply.content else {}
            if (
                reply.status_code == 409
                and "already-exists" in reply.text
                and method
                in (
                    "POST",
                    "PUT",
                )
            ):
                # Already there: an earlier attempt was applied but its answer was lost.
                return {}
            # 409 otherwise: a state the events have not brought yet (a pinhole opened a
            # moment ago is still read-only where the post service stands).
            if reply.status_code not in (403, 404, 409, 429, 503) or time.monotonic() > deadline:
                raise RuntimeError(
                    f"seeding: {method} {path}: {reply.status_code} {reply.text[:300]}"
                )
            await asyncio.sleep(0.25)


Request = tuple[str, str, str, Any]
"""(token, method, path, JSON body or None): one call of the seeding."""


async def _gather_bounded(api: Api, jobs: list[Request], limit: int) -> list[Any]:
    """Send ``jobs`` with at most ``limit`` in flight, with a progress bar; their answers."""
    gate = asyncio.Semaphore(limit)
    done = 0

    async def one(job: Request) -> Any:
        nonlocal done
        async with gate:
            result = await api.call(*job)
        done += 1
        return result

    task = asyncio.gather(*(one(j) for j in jobs))
    while not task.done():
        await asyncio.sleep(1.0)
        _progress(done, len(jobs))
    _progress(len(jobs), len(jobs))
    print(flush=True)
    return list(await task)


def _progress(done: int, total: int) -> None:
    width = 30
    filled = int(width * done / max(total, 1))
    print(f"\r    [{'#' * filled}{'.' * (width - filled)}] {done}/{total}", end="", flush=True)


def _body(rng: random.Random, people: list[Person], n: int) -> tuple[str, list[str]]:
    mentioned = rng.sample(people, 2)
    tags = rng.sample(TAGS, 2)
    text = (
        f"Update {n} on the {tags[0]} process: @{mentioned[0].person_id} and "
        f"@{mentioned[1].person_id}, please check the attached plan before Friday. "
        + "We compared three options and the second one saves a week of lead time. "
        * 3
    )
    return text, tags


async def seed(scale: Scale, api: Api) -> Seed:
    started = time.perf_counter()
    rng = random.Random(12)
    admin = token("bench-admin", PrincipalKind.EMPLOYEE, HOME, ["admin"])
    tag = f"b{scale.name[:2]}{secrets.token_hex(3)}"  # unique names; the shape is seeded
    employees = [Person(f"{tag}-e{i}", HOME, False) for i in range(scale.employees)]
    orgs = [f"{tag}-org{j}" for j in range(scale.partner_orgs)]
    partners = [
        Person(f"{tag}-p{j}-{i}", org, True)
        for j, org in enumerate(orgs)
        for i in range(scale.partners_per_org)
    ]
    for p in employees:
        p.token = token(p.person_id, PrincipalKind.EMPLOYEE, HOME)
    for p in partners:
        p.token = token(p.person_id, PrincipalKind.PARTNER, p.org_id)

    print(f"  seeding {scale.name}: {len(orgs)} partner orgs, people", flush=True)
    for org in orgs:
        await api.call(
            admin, "POST", "/v1/orgs", {"org_id": org, "kind": "vendor", "display_name": org}
        )
    await _gather_bounded(
        api,
        [
            (
                admin,
                "POST",
                "/v1/people",
                {
                    "person_id": p.person_id,
                    "org_id": p.org_id,
                    "display_name": f"Person {p.person_id}",
                    "email": f"{p.person_id}@{p.org_id}.example",
                },
            )
            for p in employees + partners
        ],
        16,
    )
    print(f"  communities ({scale.communities}, Zipf sizes) and memberships", flush=True)
    owners = rng.sample(employees, scale.communities)
    made = await _gather_bounded(
        api,
        [
            (
                o.token,
                "POST",
                "/v1/communities",
                {"name": f"{tag} community {i}", "visibility": "open", "tags": [TAGS[i % 8]]},
            )
            for i, o in enumerate(owners)
        ],
        8,
    )
    communities = [m["community"]["community_id"] for m in made]
    for owner, community in zip(owners, communities, strict=True):
        owner.spaces.append(community)
    joins: list[Request] = []
    for rank, community in enumerate(communities, start=1):
        size = max(3, int(len(employees) * 0.3 / rank**0.9))
        for person in rng.sample(employees, min(size, len(employees))):
            if community in person.spaces:
                continue
            person.spaces.append(community)
            joins.append((person.token, "POST", f"/v1/communities/{community}/join", None))
    await _gather_bounded(api, joins, 16)
    print(f"  pinholes ({scale.pinholes}) granted to partner orgs", flush=True)
    pinholes: dict[str, str] = {}
    for i in range(scale.pinholes):
        community = communities[i % len(communities)]
        owner = owners[i % len(owners)]
        made_pinhole = await api.call(
            owner.token,
            "POST",
            f"/v1/communities/{community}/pinholes",
            {"title": f"Pinhole {i}", "purpose": "Work with a supplier"},
        )
        pinhole = made_pinhole["pinhole"]["pinhole_id"]
        await api.call(owner.token, "POST", f"/v1/pinholes/{pinhole}/open")
        org = orgs[i % len(orgs)]
        await api.call(
            owner.token, "PUT", f"/v1/pinholes/{pinhole}/grants/{org}", {"level": "contributor"}
        )
        pinholes[pinhole] = org
        owner.spaces.append(pinhole)
        for p in partners:
            if p.org_id == org:
                p.spaces.append(pinhole)
    print(f"  posts ({scale.posts}: discussions and questions, tags and mentions)", flush=True)
    authors = [p for p in employees + partners if p.spaces]
    jobs: list[Request] = []
    plan: list[tuple[str, bool]] = []
    for n in range(scale.posts):
        author = rng.choice(authors)
        space = rng.choice(author.spaces)
        question = n % 4 == 0
        text, tags = _body(rng, employees, n)
        plan.append((space, question))
        jobs.append(
            (
                author.token,
                "POST",
                f"/v1/spaces/{space}/posts",
                {
                    "type": "question" if question else "discussion",
                    "title": f"{'How do we' if question else 'Notes on'} step {n}",
                    "body": text,
                    "tags": tags,
                },
            )
        )
    written = await _gather_bounded(api, jobs, 16)
    posts = [(w["post"]["post_id"], s) for w, (s, _) in zip(written, plan, strict=True)]
    questions = [(w["post"]["post_id"], s) for w, (s, q) in zip(written, plan, strict=True) if q]
    return Seed(
        scale.name,
        employees + partners,
        communities,
        pinholes,
        questions,
        posts,
        time.perf_counter() - started,
    )


async def bulk_seed(scale: Scale) -> Seed:
    """The enterprise of a bulk scale, written into the databases (:mod:`bench.bulk`)."""
    got = await bulk.seed(bulk.BULK_SCALES[scale.name], MONGO, tags=TAGS, home=HOME)
    print(f"  {got.summary}", flush=True)
    people = [Person(p.person_id, p.org_id, p.partner, spaces=p.spaces) for p in got.people]
    return Seed(
        scale.name,
        people,
        got.communities,
        got.pinholes,
        got.questions,
        got.posts,
        got.seconds,
        got.summary,
    )


def _seed_file(scale: Scale) -> Path:
    return LOCAL / "bench" / f"seed-{scale.name}.json"


async def seeded(scale: Scale, api: Api) -> Seed:
    """The seed of this scale: reused when its file exists and the database still has it."""
    path = _seed_file(scale)
    if path.exists():
        raw = json.loads(path.read_text())
        found = Seed(
            raw["scale"],
            [Person(**p) for p in raw["people"]],
            raw["communities"],
            raw["pinholes"],
            [(q[0], q[1]) for q in raw["questions"]],
            [(p[0], p[1]) for p in raw["posts"]],
            raw["seconds"],
            raw.get("summary", ""),
        )
        space = found.posts[0][1]
        probe = next(p for p in found.people if space in p.spaces)
        kind = PrincipalKind.PARTNER if probe.partner else PrincipalKind.EMPLOYEE
        reply = await api.http.get(
            f"/v1/spaces/{space}/posts?page_size=1",
            headers={"authorization": f"Bearer {token(probe.person_id, kind, probe.org_id)}"},
        )
        if reply.status_code == 200 and reply.json().get("posts"):
            print(f"  reusing the {scale.name} seed ({path.relative_to(ROOT)})")
            return found
        print("  the saved seed is not in the database any more; seeding again")
    made = await (bulk_seed(scale) if scale.bulk else seed(scale, api))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(made)))
    print(f"  seeded in {made.seconds:.0f} s ({api.sent} requests)")
    return made


# --- the mix -------------------------------------------------------------------------


def _target(person: Person, method: str, path: str, body: Any = None) -> dict[str, Any]:
    target: dict[str, Any] = {
        "method": method,
        "url": f"{GATEWAY}{path}",
        "header": {"Authorization": [f"Bearer {person.token}"]},
    }
    if body is not None:
        target["body"] = base64.b64encode(json.dumps(body).encode()).decode()
        target["header"]["Content-Type"] = ["application/json"]
    return target


def mix_targets(s: Seed, count: int, rng: random.Random) -> list[tuple[str, dict[str, Any]]]:
    """``count`` requests of the mix, each with its type: 60 % home feed, 30 % space feed,
    10 % writes; employees and partners drawn from the seeded population."""
    readers = [p for p in s.people if p.spaces]
    questions_by_space: dict[str, list[str]] = {}
    for question, space in s.questions:
        questions_by_space.setdefault(space, []).append(question)
    posts_by_space: dict[str, list[str]] = {}
    for post, space in s.posts:
        posts_by_space.setdefault(space, []).append(post)
    employees = [p for p in s.people if not p.partner]
    out: list[tuple[str, dict[str, Any]]] = []
    for n in range(count):
        person = rng.choice(readers)
        space = rng.choice(person.spaces)
        roll = rng.random()
        if roll < 0.6:
            out.append(("home feed", _target(person, "GET", "/v1/feed?page_size=10")))
        elif roll < 0.9:
            out.append(
                ("space feed", _target(person, "GET", f"/v1/spaces/{space}/posts?page_size=10"))
            )
        else:
            text, tags = _body(rng, employees, n)
            kind = rng.random()
            if kind < 0.4 or not posts_by_space.get(space):
                body = {"type": "discussion", "title": f"Load {n}", "body": text, "tags": tags}
                out.append(
                    ("write: post", _target(person, "POST", f"/v1/spaces/{space}/posts", body))
                )
            elif kind < 0.6:
                body = {
                    "type": "question",
                    "title": f"Load question {n}",
                    "body": text,
                    "tags": tags,
                }
                out.append(
                    ("write: question", _target(person, "POST", f"/v1/spaces/{space}/posts", body))
                )
            elif kind < 0.8 and questions_by_space.get(space):
                question = rng.choice(questions_by_space[space])
                out.append(
                    (
                        "write: answer",
                        _target(
                            person, "POST", f"/v1/questions/{question}/answers", {"body": text}
                        ),
                    )
                )
            else:
                post = rng.choice(posts_by_space[space])
                out.append(
                    (
                        "write: comment",
                        _target(person, "POST", f"/v1/posts/{post}/comments", {"body": text[:200]}),
                    )
                )
    return out


def vegeta() -> str:
    found = os.environ.get("GUILDHALL_VEGETA") or shutil.which("vegeta")
    if not found:
        raise SystemExit("vegeta is not installed: `make bench` builds it into .local/bin")
    return found


@dataclass
class Step:
    rate: int
    seconds: float
    sent: int
    ok: int
    errors: dict[str, int]
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    throughput: float
    by_type: dict[str, dict[str, float]]

    @property
    def passed(self) -> bool:
        return self.ok == self.sent and self.p99_ms <= P99_TARGET_MS


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def attack(
    targets: list[tuple[str, dict[str, Any]]], rate: int, seconds: float, workdir: Path
) -> Step:
    """One open-loop step at ``rate`` requests/s for ``seconds``, through vegeta."""
    count = int(rate * seconds)
    chosen = targets[:count]
    lines = "\n".join(json.dumps(t) for _, t in chosen) + "\n"
    results = workdir / f"step-{rate}.bin"
    subprocess.run(  # noqa: S603 - our own pinned tool and arguments
        [
            vegeta(),
            "attack",
            "-format=json",
            f"-rate={rate}/s",
            f"-duration={seconds}s",
            "-timeout=10s",
            "-keepalive=true",
            f"-output={results}",
        ],
        input=lines.encode(),
        check=True,
    )
    decoded = subprocess.run(  # noqa: S603
        [vegeta(), "encode", "--to=json", str(results)], capture_output=True, check=True
    ).stdout.decode()
    latencies: list[float] = []
    by_kind: dict[str, list[float]] = {}
    errors: dict[str, int] = {}
    ok = 0
    first = last = None
    for raw in decoded.splitlines():
        row = json.loads(raw)
        ms = row["latency"] / 1e6
        latencies.append(ms)
        kind = _kind_of(row)
        by_kind.setdefault(kind, []).append(ms)
        stamp = datetime.fromisoformat(row["timestamp"].replace("Z", "+00:00")).timestamp()
        first = stamp if first is None else min(first, stamp)
        last = stamp + ms / 1000 if last is None else max(last, stamp + ms / 1000)
        if 200 <= row["code"] < 300:
            ok += 1
        else:
            key = str(row["code"]) if row["code"] else (row.get("error") or "error")[:60]
            errors[key] = errors.get(key, 0) + 1
    span = (last - first) if first is not None and last is not None else seconds
    return Step(
        rate=rate,
        seconds=seconds,
        sent=len(latencies),
        ok=ok,
        errors=errors,
        p50_ms=_pct(latencies, 0.5),
        p90_ms=_pct(latencies, 0.9),
        p99_ms=_pct(latencies, 0.99),
        max_ms=max(latencies, default=float("nan")),
        throughput=ok / span if span > 0 else 0.0,
        by_type={
            k: {"n": len(v), "p50_ms": _pct(v, 0.5), "p99_ms": _pct(v, 0.99)}
            for k, v in sorted(by_kind.items())
        },
    )


def _kind_of(row: dict[str, Any]) -> str:
    url = row.get("url", "")
    if row.get("method") == "GET":
        return "home feed" if url.endswith("/v1/feed?page_size=10") else "space feed"
    if "/answers" in url:
        return "write: answer"
    if "/comments" in url:
        return "write: comment"
    return "write: post or question"


def step_up(
    make_targets: Callable[[int], list[tuple[str, dict[str, Any]]]],
    rates: list[int],
    seconds: float,
    workdir: Path,
    label: str,
    *,
    min_requests: int = 0,
) -> list[Step]:
    """Run the steps in order and stop after the first one that misses the target; if
    that was the first, halve the rate until one passes (down to 2/s), so the sustained
    rate is a figure even far below the steps planned. A step lasts ``seconds``, or long
    enough to send ``min_requests`` (a p99 of 45 requests is their slowest one)."""

    def run(rate: int) -> Step:
        span = max(seconds, math.ceil(min_requests / rate))
        step = attack(make_targets(int(rate * span)), rate, span, workdir)
        errors = ", ".join(f"{k}: {v}" for k, v in step.errors.items()) or "none"
        print(
            f"    {label} {rate:>5}/s: served {step.throughput:7.1f}/s  p50 {step.p50_ms:7.1f} ms"
            f"  p99 {step.p99_ms:8.1f} ms  errors {errors}  {'ok' if step.passed else 'MISSED'}",
            flush=True,
        )
        return step

    steps = []
    for rate in rates:
        steps.append(run(rate))
        if not steps[-1].passed:
            break
    lower = rates[0] // 2
    while not any(st.passed for st in steps) and lower >= 2:
        steps.insert(0, run(lower))
        lower //= 2
    return steps


def warm_up(s: Seed, workdir: Path) -> Step:
    """Each seeded person's home feed and first space feed, once, at a gentle rate: what
    a running platform has in its cache, so the steps measure it warm, not its start."""
    targets = [
        t
        for p in s.people
        if p.spaces
        for t in (
            ("home feed", _target(p, "GET", "/v1/feed?page_size=10")),
            ("space feed", _target(p, "GET", f"/v1/spaces/{p.spaces[0]}/posts?page_size=10")),
        )
    ]
    rate = 40
    return attack(targets, rate, len(targets) / rate, workdir)


def sustained(steps: list[Step]) -> int:
    return max((s.rate for s in steps if s.passed), default=0)


# --- the stack, round trips and profiles ---------------------------------------------

BENCH_ENV = {
    "GUILDHALL_EXPOSE_TRIPS": "1",
    # Capacity, not the limiter, is measured: the gateway's buckets are opened wide.
    "GUILDHALL_RATE_EMPLOYEE_PER_SECOND": "100000",
    "GUILDHALL_RATE_EMPLOYEE_BURST": "1000000",
    "GUILDHALL_RATE_PARTNER_ORG_PER_SECOND": "100000",
    "GUILDHALL_RATE_PARTNER_ORG_BURST": "1000000",
}


def restart_stack() -> None:
    """The services of ``make run``, restarted with the benchmark's settings."""
    env = {**os.environ, **BENCH_ENV}
    py = sys.executable
    for command in ("down", "up"):
        done = subprocess.run(  # noqa: S603 - our own module
            [py, "-m", "guildhall_kit.devstack", command],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"devstack {command} failed:\n{done.stdout}\n{done.stderr}")


def service_pid(name: str) -> int | None:
    try:
        return int((LOCAL / "run" / f"svc-{name}.pid").read_text().strip())
    except (OSError, ValueError):
        return None


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stack_pids() -> dict[str, int]:
    """The services' and the local infra's pids (from their pid files)."""
    names = [f"svc-{n}" for n in ("gateway", "post", "community", "profile", "notification")]
    found = {}
    for name in [*names, "ferretdb", "kafka", "redis"]:
        try:
            found[name] = int((LOCAL / "run" / f"{name}.pid").read_text().strip())
        except (OSError, ValueError):
            continue
    return found


async def quiesce(most_s: float = 600.0, busy_below: float = 0.15) -> float:
    """Wait until the stack has worked off what seeding set off (relays, consumers, the
    search index): less than ``busy_below`` of one core over two seconds. Seconds waited."""
    pids = stack_pids()
    began = time.monotonic()
    while time.monotonic() - began < most_s:
        before = sum(_cpu_seconds(p) for p in pids.values())
        await asyncio.sleep(2.0)
        busy = (sum(_cpu_seconds(p) for p in pids.values()) - before) / 2.0
        print(f"\r    the stack is {busy:4.0%} busy", end="", flush=True)
        if busy < busy_below:
            break
    print(flush=True)
    return time.monotonic() - began


async def trips(s: Seed, http: httpx2.AsyncClient) -> dict[str, dict[str, int]]:
    """The round trips of each request type, from the Guildhall-Trips header (reads warm)."""
    rng = random.Random(5)
    out: dict[str, dict[str, int]] = {}
    for kind, target in mix_targets(s, 400, rng):
        label = f"{kind} ({'partner' if _is_partner(s, target) else 'employee'})"
        if label in out:
            continue
        body = base64.b64decode(target["body"]) if "body" in target else None
        # A read is sent twice and the second counted: the warm path, as the mix meets it.
        for _ in range(1 if body is not None else 2):
            reply = await http.request(
                target["method"],
                target["url"],
                headers={k: v[0] for k, v in target["header"].items()},
                content=body,
            )
        header = reply.headers.get("guildhall-trips", "")
        counts = dict(part.split("=") for part in header.split(",") if "=" in part)
        out[label] = {k: int(v) for k, v in counts.items()} | {"status": reply.status_code}
    return dict(sorted(out.items()))


def _is_partner(s: Seed, target: dict[str, Any]) -> bool:
    bearer = target["header"]["Authorization"][0].removeprefix("Bearer ")
    return any(p.partner and p.token == bearer for p in s.people)


def profile(seconds: float, workdir: Path) -> dict[str, list[tuple[str, float]]]:
    """py-spy samples of the gateway and the post service for ``seconds``: the functions
    with the most time on their own (top 12), by process. Empty when py-spy is missing."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        return {}
    procs = {}
    for name in ("gateway", "post"):
        pid = service_pid(name)
        if pid is None:
            continue
        out = workdir / f"profile-{name}.txt"
        procs[name] = (
            subprocess.Popen(  # noqa: S603
                [
                    spy,
                    "record",
                    "--pid",
                    str(pid),
                    "--duration",
                    str(int(seconds)),
                    "--format",
                    "raw",
                    "--output",
                    str(out),
                    "--nonblocking",
                    "--rate",
                    "50",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            ),
            out,
        )
    report: dict[str, list[tuple[str, float]]] = {}
    for name, (proc, out) in procs.items():
        proc.wait(seconds + 30)
        if out.exists():
            report[name] = _top_self(out.read_text(), 12)
    return report


def _top_self(collapsed: str, n: int) -> list[tuple[str, float]]:
    """Collapsed stacks -> the leaf functions with the largest share of samples."""
    leaf: dict[str, int] = {}
    total = 0
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        frame = stack.split(";")[-1]
        leaf[frame] = leaf.get(frame, 0) + int(count)
        total += int(count)
    ranked = sorted(leaf.items(), key=lambda kv: -kv[1])[:n]
    return [(frame, 100.0 * c / max(total, 1)) for frame, c in ranked]


# --- event -> notification on a live stream, under the mix --------------------------


async def notification_latency(
    s: Seed, http: httpx2.AsyncClient, posts: int, interval_s: float
) -> dict[str, float]:
    """A watcher holds ``GET /v1/events`` open on a space; another member posts into it
    every ``interval_s``; each latency is from the post's 201 to its notification on the
    stream. Runs while the caller keeps the mix going."""
    space = s.communities[0]
    members = [p for p in s.people if not p.partner and space in p.spaces]
    watcher, author = members[0], members[1]
    auth = {"authorization": f"Bearer {watcher.token}"}
    await http.put(f"/v1/spaces/{space}/subscription", headers=auth, json={"level": "watching"})
    created: dict[str, float] = {}
    arrived: dict[str, float] = {}

    async def listen() -> None:
        async with http.stream("GET", "/v1/events", headers=auth, timeout=None) as stream:
            async for line in stream.aiter_lines():
                if line.startswith("data:"):
                    now = time.perf_counter()
                    for post_id in created:
                        if post_id not in arrived and post_id in line:
                            arrived[post_id] = now

    listener = asyncio.create_task(listen())
    try:
        await asyncio.sleep(1.0)
        for n in range(posts):
            reply = await http.post(
                f"/v1/spaces/{space}/posts",
                headers={"authorization": f"Bearer {author.token}"},
                json={"type": "discussion", "title": f"Watched {n}", "body": "Live."},
            )
            if reply.status_code < 300:
                created[reply.json()["post"]["post_id"]] = time.perf_counter()
            await asyncio.sleep(interval_s)
        deadline = time.perf_counter() + 10
        while len(arrived) < len(created) and time.perf_counter() < deadline:  # noqa: ASYNC110 - a bounded wait in a benchmark
            await asyncio.sleep(0.1)
    finally:
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)
    latencies = [(arrived[p] - at) * 1000 for p, at in created.items() if p in arrived]
    return {
        "posts": len(created),
        "delivered": len(latencies),
        "p50_ms": _pct(latencies, 0.5),
        "p99_ms": _pct(latencies, 0.99),
    }


# --- the report -------------------------------------------------------------------------


def _fmt(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:,.1f}"


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"# Platform benchmark — {result['date']}, scale `{result['scale']}`",
        "",
        f"Machine: {result['machine']}. Seed: {result['seed']}.",
        "",
        "## Figures against ceilings and targets",
        "",
        "| figure | measured | ceiling (same run) | ratio | target |",
        "|---|---|---|---|---|",
    ]
    for row in result["table"]:
        lines.append(
            f"| {row['figure']} | {row['measured']} | {row['ceiling']} | {row['ratio']} "
            f"| {row['target']} |"
        )
    lines += ["", "## Ceilings", "", "| component | ops/s | p50 ms | p99 ms |", "|---|---|---|---|"]
    for name, c in result["ceilings"].items():
        lines.append(
            f"| {name} | {_fmt(c.get('ops_per_s', float('nan')))} | "
            f"{_fmt(c.get('p50_ms', float('nan')))} | {_fmt(c.get('p99_ms', float('nan')))} |"
        )
    lines += [
        "",
        "## The mix, step by step",
        "",
        "| rate/s | requests | served/s | p50 ms | p90 ms | p99 ms | errors "
        "| p99 ≤ 50 ms, no errors |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for st in result["mix_steps"]:
        errors = ", ".join(f"{k}: {v}" for k, v in st["errors"].items()) or "0"
        ok = st["ok"] == st["sent"] and st["p99_ms"] <= P99_TARGET_MS
        lines.append(
            f"| {st['rate']} | {st['sent']} | {_fmt(st['throughput'])} | {_fmt(st['p50_ms'])} | "
            f"{_fmt(st['p90_ms'])} | {_fmt(st['p99_ms'])} | {errors} | {'yes' if ok else 'no'} |"
        )
    last = result["mix_steps"][-1] if result["mix_steps"] else None
    if last:
        lines += [
            "",
            f"By request type at {last['rate']}/s:",
            "",
            "| type | requests | p50 ms | p99 ms |",
            "|---|---|---|---|",
        ]
        for kind, v in last["by_type"].items():
            lines.append(f"| {kind} | {v['n']} | {_fmt(v['p50_ms'])} | {_fmt(v['p99_ms'])} |")
    lines += [
        "",
        "## Round trips per request (the whole tree: gateway and services)",
        "",
        "| request | db | cache | rpc | status |",
        "|---|---|---|---|---|",
    ]
    for kind, t in result["trips"].items():
        lines.append(
            f"| {kind} | {t.get('db', '-')} | {t.get('cache', '-')} | {t.get('rpc', '-')} "
            f"| {t.get('status', '-')} |"
        )
    tenfold = result.get("tenfold") or {}
    if tenfold:
        base, big = tenfold["base"], tenfold["step"]
        lines += [
            "",
            f"## Ten times the data: `{tenfold['scale']}`, the mix at {tenfold['rate']}/s",
            "",
            f"Seed: {tenfold['seed']}. Same rate, same mix, people drawn from the larger "
            "population; the step at this scale is the one of the table above.",
            "",
            f"| type | p50 ms, `{result['scale']}` | p99 ms, `{result['scale']}` "
            f"| p50 ms, `{tenfold['scale']}` | p99 ms, `{tenfold['scale']}` | p99 ratio |",
            "|---|---|---|---|---|---|",
            f"| all | {_fmt(base['p50_ms'])} | {_fmt(base['p99_ms'])} | {_fmt(big['p50_ms'])} "
            f"| {_fmt(big['p99_ms'])} | {tenfold['p99_ratio']:.2f} |",
        ]
        for kind, v in big["by_type"].items():
            b = base["by_type"].get(kind, {})
            p99 = b.get("p99_ms", float("nan"))
            ratio = v["p99_ms"] / p99 if p99 and not math.isnan(p99) else float("nan")
            lines.append(
                f"| {kind} | {_fmt(b.get('p50_ms', float('nan')))} | {_fmt(p99)} "
                f"| {_fmt(v['p50_ms'])} | {_fmt(v['p99_ms'])} | {_fmt(ratio)} |"
            )
        errors = ", ".join(f"{k}: {v}" for k, v in big["errors"].items()) or "none"
        lines.append(f"\nErrors at ten times the data: {errors}.")
    if result.get("profile"):
        lines += ["", f"## Profile at {result['profile_rate']}/s (py-spy, own time)", ""]
        for name, rows in result["profile"].items():
            lines += [f"**{name}**", "", "| function | % of samples |", "|---|---|"]
            lines += [f"| `{frame[:110]}` | {share:.1f} |" for frame, share in rows]
            lines.append("")
    return "\n".join(lines) + "\n"


def table(result: dict[str, Any]) -> list[dict[str, str]]:
    mix = result["mix_sustained"]
    echo = result["http_echo_sustained"]
    rows = [
        {
            "figure": "mix sustained (p99 ≤ 50 ms, no errors), requests/s",
            "measured": str(mix),
            "ceiling": f"{echo} (HTTP echo, same criterion)",
            "ratio": f"{mix / echo:.2f}" if echo else "-",
            "target": "≥ 1,000; ≥ 0.5 of the ceiling",
        }
    ]
    notify = result.get("notification") or {}
    kafka = result["ceilings"].get("kafka produce -> consume", {})
    if notify:
        rows.append(
            {
                "figure": f"event → notification on a live stream, p99 ms (at {mix}/s)",
                "measured": _fmt(notify["p99_ms"]),
                "ceiling": f"{_fmt(kafka.get('p99_ms', float('nan')))} (Kafka produce → consume)",
                "ratio": "-",
                "target": "≤ 250",
            }
        )
    tenfold = result.get("tenfold") or {}
    if tenfold:
        rows.append(
            {
                "figure": (
                    f"p99 at ten times the data (`{tenfold['scale']}`) over p99 at this scale, "
                    f"mix at {tenfold['rate']}/s"
                ),
                "measured": f"{tenfold['p99_ratio']:.2f} ({_fmt(tenfold['step']['p99_ms'])} ms "
                f"against {_fmt(tenfold['base']['p99_ms'])} ms)",
                "ceiling": "-",
                "ratio": "-",
                "target": "≤ 1.5",
            }
        )
    for kind in ("home feed", "space feed"):
        best = [s for s in result["mix_steps"] if kind in s["by_type"]]
        if best:
            first = best[0]
            db = result["ceilings"].get("db find by _id", {})
            rows.append(
                {
                    "figure": f"{kind} p50 ms at {first['rate']}/s",
                    "measured": _fmt(first["by_type"][kind]["p50_ms"]),
                    "ceiling": f"{_fmt(db.get('p50_ms', float('nan')))} (one find by _id)",
                    "ratio": "-",
                    "target": "p99 ≤ 50 in the mix",
                }
            )
    return rows


async def measure_ceilings(scale: Scale, seconds: float, workdir: Path) -> dict[str, Any]:
    """Every ceiling, the HTTP echo stepped up by vegeta like the mix."""
    ceil: dict[str, Any] = await ceilings.measure(1.5 if scale.name == "quick" else 3.0)
    for name, c in ceil.items():
        ops, p50 = c.get("ops_per_s", 0.0), c.get("p50_ms", float("nan"))
        print(f"    {name:<26} {ops:9.0f} ops/s  p50 {p50:6.2f} ms")

    def echo_steps(url: str, echo_rates: list[int]) -> dict[str, Any]:
        steps = step_up(
            lambda n: [("echo", {"method": "GET", "url": url}) for _ in range(n)],
            echo_rates,
            min(seconds, 5.0),
            workdir,
            "http echo",
        )
        return {"steps": [asdict(x) for x in steps], "sustained": sustained(steps)}

    echo_rates = [250, 500, 1000] if scale.name == "quick" else [500, 1000, 2000, 3000, 4000]
    echo = ceilings.http_echo(echo_steps, echo_rates)
    ceil["http echo"] = {"ops_per_s": float(echo["sustained"])}
    return {
        "ceilings": ceil,
        "http_echo_steps": echo["steps"],
        "http_echo_sustained": echo["sustained"],
    }


async def profile_failing(
    s: Seed, failing: Step, seconds: float, workdir: Path, rng: random.Random
) -> dict[str, list[tuple[str, float]]]:
    """py-spy on the gateway and the post service while the mix runs at ``failing``'s rate."""
    print(f"==> profiling gateway and post at {failing.rate}/s", flush=True)
    span = min(seconds, 10.0)
    loop = asyncio.get_running_loop()
    profiling = loop.run_in_executor(None, profile, span, workdir)
    await asyncio.sleep(0.5)
    targets = mix_targets(s, int(failing.rate * span), rng)
    await loop.run_in_executor(None, attack, targets, failing.rate, span, workdir)
    return await profiling


async def notify_under_load(
    s: Seed, http: httpx2.AsyncClient, rate: int, *, quick: bool, workdir: Path, rng: random.Random
) -> dict[str, float]:
    """Event -> notification on a live stream while the mix runs at ``rate``."""
    print(f"==> event -> notification on a live stream, the mix at {rate}/s", flush=True)
    posts = 20 if quick else 40
    span = posts * 0.25 + 6
    loop = asyncio.get_running_loop()
    targets = mix_targets(s, int(rate * span), rng)
    background = loop.run_in_executor(None, attack, targets, rate, span, workdir)
    notify = await notification_latency(s, http, posts, 0.25)
    await background
    print(f"    {notify}")
    return notify


def describe(s: Seed) -> str:
    if s.summary:
        return s.summary
    employees = sum(not p.partner for p in s.people)
    return (
        f"{employees:,} employees, {len(s.people) - employees:,} partner staff, "
        f"{len(s.communities):,} communities, {len(s.pinholes)} pinholes, "
        f"{len(s.posts):,} posts before the run"
    )


async def at_tenfold(
    big: Scale,
    http: httpx2.AsyncClient,
    steps: list[Step],
    best: int,
    *,
    workdir: Path,
    rng: random.Random,
) -> dict[str, Any]:
    """The mix at the sustained rate (or the lowest rate stepped) again, at ten times the
    data: ``big`` seeded (or reused), quiet and warm."""
    rate = best or min(st.rate for st in steps)
    base = next(st for st in steps if st.rate == rate)
    print(f"==> ten times the data ({big.name}): seed, then the mix at {rate}/s", flush=True)
    t = await seeded(big, Api(http))
    for p in t.people:
        kind = PrincipalKind.PARTNER if p.partner else PrincipalKind.EMPLOYEE
        p.token = token(p.person_id, kind, p.org_id)
    await quiesce()
    warm_up(t, workdir)
    step = attack(mix_targets(t, int(rate * base.seconds), rng), rate, base.seconds, workdir)
    ratio = step.p99_ms / base.p99_ms if base.p99_ms else float("nan")
    print(
        f"    {big.name} at {rate}/s: p50 {step.p50_ms:.1f} ms, p99 {step.p99_ms:.1f} ms "
        f"({ratio:.2f} of {base.p99_ms:.1f} ms), errors {step.errors or 'none'}",
        flush=True,
    )
    return {
        "scale": big.name,
        "seed": describe(t),
        "rate": rate,
        "base": asdict(base),
        "step": asdict(step),
        "p99_ratio": ratio,
    }


async def run(args: argparse.Namespace) -> int:
    scale = SCALES["full" if args.full else args.scale]
    rates = [int(r) for r in args.rates.split(",")] if args.rates else list(scale.rates)
    seconds = args.seconds or scale.seconds
    workdir = LOCAL / "bench" / "work"
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    print("==> the services of `make run`, restarted with the benchmark's settings", flush=True)
    restart_stack()
    limits = httpx2.Limits(max_connections=64, max_keepalive_connections=64)
    result: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "scale": scale.name,
        "machine": f"{os.cpu_count()} cores, Python {sys.version.split()[0]}, the whole stack",
    }
    async with httpx2.AsyncClient(base_url=GATEWAY, timeout=30, limits=limits) as http:
        print(f"==> seed ({scale.name})", flush=True)
        s = await seeded(scale, Api(http))
        for p in s.people:  # tokens are minted per run: a saved one may have expired
            kind = PrincipalKind.PARTNER if p.partner else PrincipalKind.EMPLOYEE
            p.token = token(p.person_id, kind, p.org_id)
        result["seed"] = describe(s)
        print("==> waiting for the stack to go quiet (relays, consumers, search)", flush=True)
        result["quiesce_seconds"] = await quiesce()
        print("==> ceilings", flush=True)
        result |= await measure_ceilings(scale, seconds, workdir)
        rng = random.Random(99)
        print("==> warm-up: every seeded person reads their feeds once (not measured)", flush=True)
        result["warmup"] = asdict(warm_up(s, workdir))
        print(f"==> the mix through the gateway, {seconds:.0f} s per step", flush=True)
        steps = step_up(
            lambda n: mix_targets(s, n, rng),
            rates,
            seconds,
            workdir,
            "mix",
            min_requests=0 if scale.name == "quick" else MIN_REQUESTS,
        )
        best = sustained(steps)
        failing = next((st for st in steps if not st.passed), None)
        result["profile"] = (
            await profile_failing(s, failing, seconds, workdir, rng)
            if failing is not None and scale.name != "quick"
            else {}
        )
        result["profile_rate"] = failing.rate if failing else None
        print("==> round trips per request type", flush=True)
        result["trips"] = await trips(s, http)
        for kind_name, t in result["trips"].items():
            print(f"    {kind_name:<34} {t}")
        result["notification"] = (
            await notify_under_load(
                s, http, best, quick=scale.name == "quick", workdir=workdir, rng=rng
            )
            if best
            else {}
        )
        tenfold = TENFOLD.get(scale.name) if args.tenfold is not False else None
        if tenfold and (args.tenfold or scale.name == "default"):
            result["tenfold"] = await at_tenfold(
                SCALES[tenfold], http, steps, best, workdir=workdir, rng=rng
            )
    result["mix_steps"] = [asdict(x) for x in steps]
    result["mix_sustained"] = best
    result["seconds"] = time.perf_counter() - started
    result["table"] = table(result)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = RESULTS / f"{datetime.now(UTC):%Y-%m-%d}-{scale.name}"
    stem.with_suffix(".json").write_text(json.dumps(result, indent=1, default=str) + "\n")
    stem.with_suffix(".md").write_text(markdown(result))
    print(markdown(result))
    print(f"wrote {stem.relative_to(ROOT)}.json and .md ({result['seconds']:.0f} s in all)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--scale", choices=sorted(SCALES), default="default")
    parser.add_argument(
        "--full", action="store_true", help="the reference deployment's scale (--scale full)"
    )
    parser.add_argument("--seconds", type=float, default=0.0, help="seconds per step")
    parser.add_argument("--rates", default="", help="comma-separated rates to step through")
    parser.add_argument(
        "--tenfold",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="repeat the mix at the sustained rate at ten times the data "
        "(default scale -> full, small -> 10x; on by default for the default scale)",
    )
    return asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
