"""Benchmark of the local FerretDB's secondary index pushdown: patched vs unpatched build.

Run: ``.venv/bin/python -m bench.ferretdb_pushdown [--docs N] [--reps N]``

Starts both builds ``make infra-up`` made (.local/bin/ferretdb, with
deploy/local/ferretdb/*.patch, and .local/bin/ferretdb-upstream, without) on
scratch directories, loads the same ``--docs`` documents (default 200,000)
into a collection with the index shapes the services declare, and prints for
each query shape the median latency on each build, the ratio, and whether the
patched build pushed the filter and the sort down (its ``explain``):

- ``{community_id: X}`` limit 20, X a small community and the largest (45 % of
  documents, where the unpatched scan finds 20 at once);
- the same sorted by a string key (``name``, index ``{community_id, name}``);
- a keyset page: ``{community_id, state, _id: {$gt: cursor}}`` sort ``_id``, limit 21;
- the first page of the same without a cursor, and the same sorted by an
  unindexed field (the handler must then read and sort every match);
- a feed: ``{space_id: {$in: 50 ids}, _id: {$lt: cursor}}`` sort ``_id`` desc, limit 20;
- equality on an array field (``tags``), limit 20 and all matches of a rarer tag;
- ``{person_id: P}`` (a handful of matches).

It also reports the load time of each build (the patched one maintains typed
index keys and the multikey table of each leading field) and the size of the
database files. Latencies are medians of ``--reps`` runs on the patched
build and of ``--upstream-reps`` (default one) on the unpatched build, whose
scans take seconds each; beside them is the server's own CPU time per query,
which the machine's other load disturbs less. Each query is also run once
before it is timed, and the two builds' answers must be the same size.
"""

from __future__ import annotations

import argparse
import functools
import random
import statistics
import string
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pymongo import ASCENDING, DESCENDING, MongoClient
from pymongo.collection import Collection

from guildhall_testsupport.ferretdb import Build, scratch_ferretdb

Doc = dict[str, Any]

ALPHABET = string.digits + string.ascii_lowercase
BATCH = 5_000


def ulid(n: int, rng: random.Random) -> str:
    """A lowercase ULID-shaped id that rises with n (26 characters of [0-9a-z])."""
    t = 1_700_000_000_000 + n * 1_000
    head = ""
    for _ in range(10):
        t, r = divmod(t, 32)
        head = ALPHABET[r] + head
    return head + "".join(rng.choice(ALPHABET) for _ in range(16))


def documents(count: int, seed: int = 8) -> list[Doc]:
    """Membership-like documents: one community holds 45 %, the rest spread over 2,000."""
    rng = random.Random(seed)
    docs = []
    for n in range(count):
        community = "c-big" if rng.random() < 0.45 else f"c{rng.randrange(2_000):04d}"
        docs.append(
            {
                "_id": ulid(n, rng),
                "community_id": community,
                "state": "active" if rng.random() < 0.9 else "left",
                "person_id": f"p{rng.randrange(40_000):05d}",
                "space_id": f"s{rng.randrange(4_000):04d}",
                "name": "".join(rng.choice(string.ascii_lowercase) for _ in range(8)),
                "tags": rng.sample([f"t{i:03d}" for i in range(300)], 3),
                "n": n,
            }
        )
    return docs


INDEXES: list[list[tuple[str, int]]] = [
    [("community_id", ASCENDING), ("state", ASCENDING), ("_id", ASCENDING)],
    [("community_id", ASCENDING), ("name", ASCENDING)],
    [("space_id", ASCENDING), ("_id", DESCENDING)],
    [("tags", ASCENDING)],
    [("person_id", ASCENDING)],
]


@dataclass(frozen=True)
class Shape:
    name: str
    filter: Doc
    sort: list[tuple[str, int]]
    limit: int


def shapes(docs: list[Doc]) -> list[Shape]:
    ids = sorted(d["_id"] for d in docs)
    middle = ids[len(ids) // 2]
    spaces = sorted({d["space_id"] for d in docs})[:50]
    rare_tag = "t299"
    person = docs[len(docs) // 3]["person_id"]
    big = {"community_id": "c-big"}
    return [
        Shape(
            "{community_id: X} limit 20, X small (~55 members)", {"community_id": "c0042"}, [], 20
        ),
        Shape("{community_id: X} limit 20, X the largest (45 %)", big, [], 20),
        Shape("same, sort name (string key) limit 20", big, [("name", 1)], 20),
        Shape(
            "keyset page {community_id, state, _id > cursor} sort _id limit 21",
            {**big, "state": "active", "_id": {"$gt": middle}},
            [("_id", 1)],
            21,
        ),
        Shape(
            "first page {community_id, state} sort _id limit 21",
            {**big, "state": "active"},
            [("_id", 1)],
            21,
        ),
        Shape("same, sort n (unindexed) limit 21", {**big, "state": "active"}, [("n", 1)], 21),
        Shape(
            "feed {space_id $in 50, _id < cursor} sort _id desc limit 20",
            {"space_id": {"$in": spaces}, "_id": {"$lt": middle}},
            [("_id", -1)],
            20,
        ),
        Shape("array field {tags: T} limit 20", {"tags": "t017"}, [], 20),
        Shape("array field {tags: rare T}, all matches", {"tags": rare_tag}, [], 0),
        Shape("{person_id: P}", {"person_id": person}, [], 0),
    ]


def load(coll: Collection[Doc], docs: list[Doc]) -> float:
    started = time.perf_counter()
    for keys in INDEXES:
        coll.create_index(keys)
    for i in range(0, len(docs), BATCH):
        coll.insert_many(docs[i : i + BATCH], ordered=False)
    return time.perf_counter() - started


def run(coll: Collection[Doc], shape: Shape) -> list[Doc]:
    cursor = coll.find(shape.filter)
    if shape.sort:
        cursor = cursor.sort(shape.sort)
    if shape.limit:
        cursor = cursor.limit(shape.limit)
    return list(cursor)


def median_ms(f: Callable[[], object], reps: int) -> float:
    times = []
    for _ in range(reps):
        started = time.perf_counter()
        f()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--docs", type=int, default=200_000, help="documents (default 200,000)")
    parser.add_argument("--reps", type=int, default=15, help="runs per query on the patched build")
    parser.add_argument(
        "--upstream-reps", type=int, default=1, help="timed runs per query on the unpatched build"
    )
    args = parser.parse_args(argv)

    docs = documents(args.docs)
    print(f"{args.docs:,} documents; indexes: {', '.join(str(dict(k)) for k in INDEXES)}")
    results: dict[str, dict[str, float]] = {}
    cpu_ms: dict[str, dict[str, float]] = {}
    answers: dict[str, dict[str, list[Doc]]] = {}
    pushdown: dict[str, str] = {}

    with tempfile.TemporaryDirectory(prefix="bench-pushdown-") as scratch:
        builds: tuple[Build, ...] = ("upstream", "patched")
        for build in builds:
            data = Path(scratch) / build
            with scratch_ferretdb(build, data=data) as server:
                client: MongoClient[Doc] = MongoClient(server.uri)
                coll = client["bench"]["members"]
                cpu = server.cpu_seconds()
                seconds = load(coll, docs)
                cpu = server.cpu_seconds() - cpu
                print(
                    f"  {build:>8}: loaded in {seconds:6.1f} s ({args.docs / seconds:,.0f} docs/s, "
                    f"server CPU {cpu:.1f} s = {cpu / args.docs * 1e6:.0f} us/doc), "
                    f"database {dir_size(data) / 1e6:,.0f} MB"
                )
                reps = args.reps if build == "patched" else args.upstream_reps
                for shape in shapes(docs):
                    answers.setdefault(shape.name, {})[build] = run(coll, shape)
                    cpu = server.cpu_seconds()
                    results.setdefault(shape.name, {})[build] = median_ms(
                        functools.partial(run, coll, shape), reps
                    )
                    cpu_ms.setdefault(shape.name, {})[build] = (
                        (server.cpu_seconds() - cpu) / reps * 1000
                    )
                    if build == "patched":
                        cmd: Doc = {"find": "members", "filter": shape.filter}
                        if shape.sort:
                            cmd["sort"] = dict(shape.sort)
                        e = client["bench"].command("explain", cmd)
                        pushdown[shape.name] = (
                            f"filter {'yes' if e['filterPushdown'] else 'no'}, "
                            f"sort {'yes' if e['sortPushdown'] else 'no'}"
                        )
                client.close()

    print()
    print("median latency (ms), and the server's CPU time per query (ms), each build:")
    print(
        f"{'query':<68} {'unpatched':>10} {'patched':>9} {'ratio':>7}"
        f" {'cpu unp.':>9} {'cpu pat.':>9}  pushdown"
    )
    mismatched = []
    for name, by_build in results.items():
        up, pa = by_build["upstream"], by_build["patched"]
        cup, cpa = cpu_ms[name]["upstream"], cpu_ms[name]["patched"]
        print(
            f"{name:<68} {up:10.1f} {pa:9.1f} {up / pa:6.0f}x {cup:9.1f} {cpa:9.1f}"
            f"  {pushdown[name]}"
        )
        a = answers[name]
        if len(a["upstream"]) != len(a["patched"]):
            mismatched.append(name)
    if mismatched:
        print(f"answers differ in size: {', '.join(mismatched)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
