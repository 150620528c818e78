"""The patched FerretDB answers exactly as the unpatched one (docs/adr/0018).

deploy/local/ferretdb/0002-*.patch pushes filters and sorts on secondary index
fields down to SQLite. These tests start both builds of the same version
(``make infra-up`` builds them: .local/bin/ferretdb and ferretdb-upstream) on
scratch directories, load the same documents - every BSON type the services
could meet in one field, missing fields, arrays of strings and of mixed values,
nested documents, strings that JSON escapes - and require:

- the same answers to a few hundred generated queries (equality, $eq, $in,
  ranges, $ne, $nin, $exists, compound filters, sorts both ways, skips and
  limits; collections with and without the indexes, with mixed-type ids), and
  to count, update and delete;
- from the patched build, SQLite plans that search an index for every shape
  the patch pushes down (and still scan for the others), and a sorted plan only
  where its probe proves it exact.

Answers are compared the way MongoDB defines them: documents with equal sort
keys may come in any order (FerretDB sorts with an unstable sort), and without
a sort the order is not part of the answer; so each answer must have the sort
key sequence of the reference answer and hold only documents the full
reference answer has under the same key, without duplicates.
"""

from __future__ import annotations

import random
import string
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bson
import pytest
from bson import ObjectId
from pymongo import MongoClient
from pymongo.database import Database

from guildhall_testsupport.ferretdb import scratch_ferretdb

pytestmark = pytest.mark.integration

Doc = dict[str, Any]

SEED = 20261203


def seeded(tag: str) -> random.Random:
    """A generator of reproducible test data for one part of the test."""
    return random.Random(f"{SEED}-{tag}")  # noqa: S311 - reproducible test data, not security


OID_A = ObjectId("65a1b2c3d4e5f60718293a4b")
OID_B = ObjectId("65a1b2c3d4e5f60718293a4c")

# Strings JSON escapes (quote, backslash, control characters, HTML characters,
# U+2028/2029), NUL, non-ASCII, prefixes of each other, and the hex of an
# ObjectID (stored as the same JSON string as the ObjectID).
STRINGS = [
    "",
    "a",
    "a ",
    "a!",
    'a"',
    "a\\",
    "a<b",
    "a>b",
    "a&b",
    "a\x00b",
    "a\x01",
    "a\n",
    "a\u2028",
    "a\u2029z",
    "ab",
    "abc",
    "b",
    "B",
    "é",
    "\U0001f600",
    str(OID_A),
]

OTHERS: list[Any] = [
    1,
    2.5,
    -3,
    0,
    True,
    False,
    None,
    datetime(2024, 1, 1, tzinfo=UTC),
    {"x": "a"},
    {"x": 1},
    OID_A,
    OID_B,
]

ARRAYS: list[Any] = [
    ["a", "b"],
    ["a", 1],
    ["a", {"x": ["a"]}],
    [],
    [OID_A],
    ["b", OID_B],
    [{"x": "a"}],
    [None],
    ["a", "a"],
    ["abc", "zz"],
    ["a\x00b", "é"],
    ["a<b", "a\u2028"],
]

ULID_ALPHABET = string.digits + string.ascii_lowercase


def ulid(rng: random.Random, n: int) -> str:
    """A lowercase ULID-shaped id: 10 time characters rising with n, 16 random ones."""
    head = ""
    t = 1_700_000_000_000 + n * 7_919
    for _ in range(10):
        t, r = divmod(t, 32)
        head = ULID_ALPHABET[r] + head
    return head + "".join(rng.choice(ULID_ALPHABET) for _ in range(16))


MISSING = object()


def value(rng: random.Random, mix: float) -> Any:
    """A field value: usually a string; with probability ``mix`` another type or an array.

    A missing field is represented by the module's MISSING sentinel.
    """
    roll = rng.random()
    if roll < mix / 3:
        return rng.choice(OTHERS)
    if roll < 2 * mix / 3:
        return rng.choice(ARRAYS)
    if roll < mix:
        return MISSING
    return rng.choice(STRINGS[:10]) if rng.random() < 0.5 else rng.choice(STRINGS)


def make_docs(rng: random.Random, count: int, mix: float, mixed_ids: bool) -> list[Doc]:
    docs = []
    for n in range(count):
        doc: Doc = {"_id": ulid(rng, n)}
        if mixed_ids and n % 5 == 0:
            doc["_id"] = rng.choice([n, float(n) + 0.5, ObjectId(), f"x{n}", {"k": n}])
        for field in ("a", "b", "c"):
            v = value(rng, mix)
            if v is not MISSING:
                doc[field] = v
        if rng.random() < mix / 3:
            # An array in the second field of a compound index, beside a common first value.
            doc["a"] = rng.choice(STRINGS[:3])
            doc["b"] = [rng.choice(STRINGS[:3]), "zz"]
        if rng.random() < 0.8:
            doc["tags"] = rng.sample(STRINGS[:8], rng.randint(0, 3)) + (
                [rng.choice(OTHERS)] if rng.random() < 0.2 else []
            )
        elif rng.random() < 0.5:
            doc["tags"] = rng.choice(STRINGS)
        if rng.random() < 0.95:
            # Strings only: sorted plans on these are probed clean.
            doc["g"] = f"g{rng.randrange(10)}"
        doc["h"] = rng.choice(STRINGS)
        doc["n"] = rng.randint(0, 20)
        if rng.random() < 0.3:
            doc["u"] = f"u{n}"
        doc["sub"] = {"x": rng.choice(STRINGS[:4])}
        docs.append(doc)
    return docs


INDEXES: list[tuple[list[tuple[str, int]], bool]] = [
    ([("a", 1)], False),
    ([("a", 1), ("b", 1), ("_id", 1)], False),
    ([("b", 1), ("_id", -1)], False),
    ([("c", -1), ("a", 1)], False),
    ([("tags", 1)], False),
    ([("g", 1), ("h", 1)], False),
    ([("u", 1)], True),
    ([("sub.x", 1)], False),
]


@dataclass(frozen=True)
class Collection:
    name: str
    docs: list[Doc]
    indexed: bool
    indexes_first: bool


def collections() -> list[Collection]:
    rng = seeded("collections")
    return [
        # Mostly strings: the probes allow sorted plans for most values.
        Collection("mostly", make_docs(rng, 200, 0.08, False), True, True),
        # Every type everywhere; indexes built over existing documents.
        Collection("mixed", make_docs(rng, 200, 0.45, False), True, False),
        Collection("mixedid", make_docs(rng, 150, 0.3, True), True, True),
        Collection("noindex", make_docs(rng, 150, 0.3, False), False, True),
    ]


def load(db: Database[Doc], coll: Collection) -> None:
    c = db[coll.name]
    if coll.indexed and coll.indexes_first:
        for keys, unique in INDEXES:
            c.create_index(keys, unique=unique)
    c.insert_many([dict(d) for d in coll.docs])
    if coll.indexed and not coll.indexes_first:
        for keys, unique in INDEXES:
            c.create_index(keys, unique=unique)


@dataclass
class Servers:
    patched: Database[Doc]
    upstream: Database[Doc]


@pytest.fixture(scope="module")
def servers() -> Iterator[Servers]:
    with (
        scratch_ferretdb("patched") as patched,
        scratch_ferretdb("upstream") as upstream,
    ):
        clients: list[MongoClient[Doc]] = [
            MongoClient(server.uri, serverSelectionTimeoutMS=10_000)
            for server in (patched, upstream)
        ]
        try:
            dbs = [client["pushdown"] for client in clients]
            for coll in collections():
                for db in dbs:
                    load(db, coll)
            yield Servers(patched=dbs[0], upstream=dbs[1])
        finally:
            for client in clients:
                client.close()


# --- comparing answers -----------------------------------------------------------

TYPE_ORDER = {
    type(None): 1,
    int: 2,
    float: 2,
    str: 3,
    dict: 4,
    list: 5,
    bytes: 6,
    ObjectId: 7,
    bool: 8,
    datetime: 9,
}


SCALAR_KEYS: dict[int, Callable[[Any], Any]] = {
    2: float,
    3: lambda v: v.encode(),
    4: lambda v: tuple((k, bson_key(x)) for k, x in v.items()),
    5: lambda v: tuple(bson_key(x) for x in v),
    7: lambda v: v.binary,
    9: lambda v: v.replace(tzinfo=None).isoformat(),
}


def bson_key(v: Any) -> tuple[Any, ...]:
    """A Python key that orders and equates values the way BSON sorts them."""
    rank = 8 if isinstance(v, bool) else TYPE_ORDER[type(v)]
    if rank == 1:
        return (rank,)
    return (rank, SCALAR_KEYS.get(rank, lambda x: x)(v))


def sort_key(doc: Doc, sort: list[tuple[str, int]]) -> tuple[Any, ...]:
    """The tuple documents are sorted by: an array counts by its least (greatest) element."""
    key: list[Any] = []
    for field, direction in sort:
        v = doc.get(field)
        if isinstance(v, list):
            if not v:
                key.append(("empty array",))
                continue
            pick = min if direction == 1 else max
            v = pick(v, key=bson_key)
        key.append(bson_key(v))
    return tuple(key)


def canonical(doc: Doc) -> bytes:
    return bson.encode(doc)


@dataclass(frozen=True)
class Query:
    filter: Doc
    sort: list[tuple[str, int]]
    skip: int
    limit: int

    def explain(self, db: Database[Doc], coll: str) -> Doc:
        cmd: Doc = {"find": coll, "filter": self.filter}
        if self.sort:
            cmd["sort"] = dict(self.sort)
        explained: Doc = db.command("explain", cmd)
        return explained

    def run(self, db: Database[Doc], coll: str, *, whole: bool = False) -> list[Doc]:
        cursor = db[coll].find(self.filter)
        if self.sort:
            cursor = cursor.sort(self.sort)
        if not whole:
            cursor = cursor.skip(self.skip).limit(self.limit)
        return list(cursor)


def check_answer(query: Query, whole: list[Doc], answer: list[Doc], label: str) -> None:
    """``answer`` is a right answer to ``query`` given ``whole``, the reference's unlimited one."""
    window = whole[query.skip :]
    if query.limit:
        window = window[: query.limit]
    assert [sort_key(d, query.sort) for d in answer] == [sort_key(d, query.sort) for d in window], (
        f"{label}: sort keys differ for {query}"
    )
    by_key: dict[tuple[Any, ...], Counter[bytes]] = {}
    for d in whole:
        by_key.setdefault(sort_key(d, query.sort), Counter())[canonical(d)] += 1
    seen: Counter[bytes] = Counter(canonical(d) for d in answer)
    assert all(n == 1 for n in seen.values()), f"{label}: duplicate documents for {query}"
    for d in answer:
        assert canonical(d) in by_key[sort_key(d, query.sort)], (
            f"{label}: {d} does not answer {query}"
        )


# --- generated queries -------------------------------------------------------------

FIELDS = ["a", "b", "c", "tags", "_id", "u", "g", "h"]
SORTS: list[list[tuple[str, int]]] = [
    [("_id", 1)],
    [("_id", -1)],
    [("a", 1)],
    [("a", -1)],
    [("b", 1)],
    [("b", -1)],
    [("c", -1)],
    [("c", 1)],
    [("a", 1), ("_id", 1)],
    [("b", -1), ("_id", -1)],
    [("a", 1), ("b", 1)],
    [("tags", 1)],
]


def any_value(rng: random.Random, ids: list[Any]) -> Any:
    roll = rng.random()
    if roll < 0.55:
        return rng.choice(STRINGS)
    if roll < 0.7:
        return rng.choice(ids)
    if roll < 0.85:
        return rng.choice(OTHERS)
    return rng.choice(ARRAYS)


def string_bound(rng: random.Random, ids: list[Any]) -> Any:
    roll = rng.random()
    if roll < 0.4:
        s = rng.choice([i for i in ids if isinstance(i, str)] or ["m"])
        return s[: rng.randint(0, len(s))]
    if roll < 0.9:
        return rng.choice(STRINGS)
    return rng.choice([5, OID_A, None])


def condition(rng: random.Random, ids: list[Any]) -> Any:
    kind = rng.choice(["eq", "eq", "$eq", "$in", "$in", "range", "range", "other"])
    if kind == "eq":
        return any_value(rng, ids)
    if kind == "$eq":
        return {"$eq": any_value(rng, ids)}
    if kind == "$in":
        values = [any_value(rng, ids) for _ in range(rng.randint(1, 5))]
        if rng.random() < 0.5:
            values = [rng.choice(STRINGS + ids[:5]) for _ in range(rng.randint(1, 6))]
        return {"$in": values}
    if kind == "range":
        ops = rng.sample(["$gt", "$gte", "$lt", "$lte"], rng.randint(1, 2))
        cond = {op: string_bound(rng, ids) for op in ops}
        if rng.random() < 0.2:
            cond["$ne"] = rng.choice(STRINGS)
        return cond
    return rng.choice(
        [
            {"$ne": any_value(rng, ids)},
            {"$nin": [any_value(rng, ids), rng.choice(STRINGS)]},
            {"$exists": rng.random() < 0.5},
            {"$in": [rng.choice(STRINGS), None]},
            {"$eq": rng.choice(STRINGS), "$exists": True},
        ]
    )


def service_shape(rng: random.Random, ids: list[str]) -> Query:
    """The shapes the services send: equality prefix, keyset range on _id, sort, limit."""
    cursor = rng.choice(ids)
    shapes: list[Callable[[], Query]] = [
        lambda: Query({"a": rng.choice(STRINGS)}, [], 0, rng.choice([0, 5, 20])),
        lambda: Query(
            {"a": rng.choice(STRINGS[:10]), "b": rng.choice(STRINGS[:10]), "_id": {"$gt": cursor}},
            [("_id", 1)],
            0,
            rng.choice([5, 21]),
        ),
        lambda: Query(
            {"b": {"$in": rng.sample(STRINGS, rng.randint(2, 8))}, "_id": {"$lt": cursor}},
            [("_id", -1)],
            0,
            rng.choice([5, 21]),
        ),
        lambda: Query({"b": rng.choice(STRINGS)}, [("_id", -1)], 0, 5),
        lambda: Query({"tags": rng.choice(STRINGS)}, [], 0, 0),
        lambda: Query({"c": {"$gte": rng.choice(STRINGS)}}, [("c", -1)], 0, rng.choice([0, 7])),
        lambda: Query({"a": {"$in": rng.sample(STRINGS, 3)}}, [("a", 1)], rng.choice([0, 2]), 10),
        lambda: Query({}, [("c", rng.choice([1, -1]))], 0, 10),
        lambda: Query({"u": rng.choice(["u3", "u10", "nope"])}, [], 0, 0),
        lambda: Query(
            {"a": rng.choice(STRINGS[:3]), "b": {"$in": rng.sample(STRINGS[:3], 2)}},
            rng.choice([[], [("_id", 1)]]),
            0,
            rng.choice([0, 4]),
        ),
        lambda: Query({"c": rng.choice(STRINGS[:3]), "a": rng.choice(STRINGS[:3])}, [], 0, 0),
        # A directory page: a range on the first key of a two-key sort.
        lambda: Query(
            {"b": {"$gt": rng.choice(STRINGS)}, "n": {"$lt": 15}},
            [("b", 1), ("_id", -1)],
            0,
            rng.choice([3, 10]),
        ),
        lambda: Query({"a": rng.choice(STRINGS[:3])}, [("a", 1), ("b", -1), ("n", 1)], 1, 6),
        lambda: Query({"g": {"$gte": "g3"}}, [("g", 1), ("_id", -1)], 0, rng.choice([5, 30])),
        lambda: Query({"g": f"g{rng.randrange(10)}"}, [("h", -1), ("_id", 1)], 0, 5),
        lambda: Query(
            {"g": {"$in": ["g1", "g4", "g7"]}},
            [("g", 1), ("h", 1), ("n", 1)],
            2,
            rng.choice([0, 8]),
        ),
    ]
    return rng.choice(shapes)()


def random_query(rng: random.Random, ids: list[Any]) -> Query:
    string_ids = [i for i in ids if isinstance(i, str)]
    if rng.random() < 0.5 and string_ids:
        return service_shape(rng, string_ids)
    flt: Doc = {}
    for field in rng.sample(FIELDS, rng.randint(1, 3)):
        flt[field] = condition(rng, ids)
    if rng.random() < 0.3:
        flt["n"] = rng.choice([{"$gt": 10}, 3, {"$lte": 5}])
    if rng.random() < 0.1:
        flt["sub.x"] = rng.choice(STRINGS[:4])
    sort = rng.choice(SORTS) if rng.random() < 0.6 else []
    skip = rng.choice([0, 0, 0, 1, 3])
    limit = rng.choice([0, 0, 1, 3, 5, 20])
    return Query(flt, sort, skip, limit)


QUERIES_PER_COLLECTION = 80


@pytest.mark.parametrize("coll", collections(), ids=lambda c: c.name)
def test_generated_queries_answer_as_upstream(servers: Servers, coll: Collection) -> None:
    rng = seeded(coll.name)
    ids = [d["_id"] for d in coll.docs]
    pushed = Counter[str]()
    for i in range(QUERIES_PER_COLLECTION):
        query = random_query(rng, ids)
        whole = query.run(servers.upstream, coll.name, whole=True)
        if (query.skip or query.limit) and i % 3 == 0:
            # The comparison's own check: the reference's answer passes it.
            check_answer(query, whole, query.run(servers.upstream, coll.name), "upstream")
        check_answer(query, whole, query.run(servers.patched, coll.name), "patched")
        if i % 4 == 0:
            assert servers.patched[coll.name].count_documents(query.filter) == len(whole), query
        explained = query.explain(servers.patched, coll.name)
        pushed["filter"] += bool(explained["filterPushdown"])
        pushed["sort"] += bool(explained["sortPushdown"])
        pushed["sort prefix"] += explained["queryPlanner"].get("OrderedKeys", 0) > 0
    # The answers above went through the pushdown, not around it.
    if coll.indexed:
        assert pushed["filter"] >= QUERIES_PER_COLLECTION // 4, pushed
        assert pushed["sort"] >= 1, pushed
        assert pushed["sort prefix"] >= pushed["sort"] + 3, pushed
    else:
        assert pushed["sort"] == 0, pushed


WRITES = 24


def test_writes_through_pushed_filters_touch_the_same_documents(servers: Servers) -> None:
    rng = seeded("writes")
    source = collections()[1]
    coll = Collection("writes", source.docs, True, True)
    for db in (servers.patched, servers.upstream):
        load(db, coll)
    ids = [d["_id"] for d in coll.docs]
    probe = Query({"a": "a"}, [("_id", 1)], 0, 0)
    for step in range(WRITES):
        flt = random_query(rng, ids).filter
        new_a = rng.choice(STRINGS + ARRAYS)
        kind = step % 4
        for db in (servers.patched, servers.upstream):
            c = db["writes"]
            if kind == 0:
                c.update_many(flt, {"$set": {"a": new_a, "w": step}})
            elif kind == 1:
                c.update_many(flt, {"$set": {"b": ["a", "b", f"s{step}"]}})
            elif kind == 2:
                # Not update_one: which of several matches it takes is unspecified
                # (the patched build finds them in index order).
                c.update_many(flt, {"$set": {"a": "a", "tags": "a"}})
            else:
                c.delete_many(flt)
        patched = sorted(canonical(d) for d in servers.patched["writes"].find())
        upstream = sorted(canonical(d) for d in servers.upstream["writes"].find())
        assert patched == upstream, f"after write {step} with {flt}"
        whole = probe.run(servers.upstream, "writes", whole=True)
        check_answer(probe, whole, probe.run(servers.patched, "writes"), f"patched after {step}")


# --- query plans -----------------------------------------------------------------

PLAN_DOCS = 3_000


@pytest.fixture(scope="module")
def plans(servers: Servers) -> Database[Doc]:
    """The patched server with the services' index shapes over a few thousand documents.

    Community c7 has one member document whose community_id is an array, c8 one
    whose state is; nothing else holds an array in those fields.
    """
    db = servers.patched
    rng = seeded("plans")
    docs: list[Doc] = [
        {
            "_id": ulid(rng, n),
            "community_id": f"c{n % 20}",
            "state": "active" if n % 3 else "left",
            "space_id": f"s{n % 60}",
            "tags": [f"t{n % 7}", f"t{n % 11}"],
            "person_id": f"p{n % 300}",
            "n": n,
        }
        for n in range(PLAN_DOCS)
    ]
    docs[7]["community_id"] = ["c7", "cx"]
    docs[8]["state"] = ["active", "left"]
    c = db["plans"]
    c.create_index([("community_id", 1), ("state", 1), ("_id", 1)])
    c.create_index([("space_id", 1), ("_id", -1)])
    c.create_index([("tags", 1)])
    c.create_index([("person_id", 1)])
    c.insert_many(docs)
    return db


def explain(db: Database[Doc], flt: Doc, sort: Doc | None = None) -> Doc:
    cmd: Doc = {"find": "plans", "filter": flt}
    if sort:
        cmd["sort"] = sort
    explained: Doc = db.command("explain", cmd)
    return explained


def lines(explained: Doc) -> list[str]:
    planner = explained["queryPlanner"]
    return [str(line) for key in ("Plan", "Probe") for line in planner.get(key, [])]


def scans(explained: Doc) -> list[str]:
    """The plan lines that read a whole table or index (a probe's constant row is not one)."""
    return [
        line for line in lines(explained) if "detail=SCAN " in line and "CONSTANT ROW" not in line
    ]


CURSOR = "01hf7zzzzzzzzzzzzzzzzzzzzz"
SPACES = [f"s{i}" for i in range(0, 60, 2)] + [f"missing{i}" for i in range(20)]

PUSHED: list[tuple[str, Doc, Doc | None, bool]] = [
    ("equality", {"person_id": "p1"}, None, False),
    ("$eq", {"person_id": {"$eq": "p1"}}, None, False),
    ("$in", {"person_id": {"$in": ["p1", "p2", OID_A]}}, None, False),
    ("range", {"person_id": {"$gte": "p1", "$lt": "p2"}}, None, False),
    ("array field", {"tags": "t3"}, None, False),
    ("compound", {"community_id": "c1", "state": "active"}, None, False),
    (
        "keyset page",
        {"community_id": "c1", "state": "active", "_id": {"$gt": CURSOR}},
        {"_id": 1},
        True,
    ),
    ("first page", {"community_id": "c2", "state": "left"}, {"_id": -1}, True),
    ("feed", {"space_id": {"$in": SPACES}, "_id": {"$lt": CURSOR}}, {"_id": -1}, True),
    ("sort on fixed field", {"community_id": "c3"}, {"community_id": 1}, True),
    ("array in leading field", {"community_id": "c7", "state": "active"}, {"_id": 1}, False),
    ("array in second field", {"community_id": "c8", "state": "active"}, {"_id": 1}, False),
    ("other conditions beside", {"person_id": "p1", "n": {"$gt": 5}, "x": None}, None, False),
]


@pytest.mark.parametrize(
    ("flt", "sort", "sorted_"), [p[1:] for p in PUSHED], ids=[p[0] for p in PUSHED]
)
def test_pushed_shapes_search_indexes(
    plans: Database[Doc], flt: Doc, sort: Doc | None, sorted_: bool
) -> None:
    explained = explain(plans, flt, sort)
    assert explained["filterPushdown"] is True, lines(explained)
    assert not scans(explained), lines(explained)
    assert any("USING INDEX" in line for line in lines(explained)), lines(explained)
    assert explained["sortPushdown"] is sorted_, lines(explained)
    if sorted_:
        assert not any("TEMP B-TREE" in line for line in lines(explained)), lines(explained)


def test_the_array_arm_searches_the_multikey_table(plans: Database[Doc]) -> None:
    plan = lines(explain(plans, {"tags": "t3"}))
    assert any("_ferretdb_mk_" in line and "PRIMARY KEY (k=?)" in line for line in plan), plan
    assert any("__id_ (<expr>=?)" in line for line in plan), plan


def test_merged_feed_reads_each_space_in_index_order(plans: Database[Doc]) -> None:
    plan = lines(explain(plans, {"space_id": {"$in": SPACES[:5]}}, {"_id": -1}))
    assert any("MERGE (UNION ALL)" in line for line in plan), plan


NOT_PUSHED: list[tuple[str, Doc, Doc | None]] = [
    ("unindexed field", {"n": 5}, None),
    ("second index field alone", {"state": "active"}, None),
    ("number", {"person_id": 5}, None),
    ("null", {"person_id": None}, None),
    ("$ne", {"person_id": {"$ne": "p1"}}, None),
    ("$nin", {"person_id": {"$nin": ["p1"]}}, None),
    ("$exists", {"person_id": {"$exists": True}}, None),
    ("$in of mixed types", {"person_id": {"$in": ["p1", 5]}}, None),
    ("number range", {"person_id": {"$gt": 5}}, None),
    ("ObjectID range", {"person_id": {"$gt": OID_A}}, None),
    ("$or", {"$or": [{"person_id": "p1"}, {"n": 5}]}, None),
    ("nested path", {"person_id.x": "p1"}, None),
    ("sort on an unindexed field", {}, {"n": 1}),
]


@pytest.mark.parametrize(
    ("flt", "sort"), [p[1:] for p in NOT_PUSHED], ids=[p[0] for p in NOT_PUSHED]
)
def test_other_shapes_still_scan(plans: Database[Doc], flt: Doc, sort: Doc | None) -> None:
    explained = explain(plans, flt, sort)
    assert scans(explained), lines(explained)
    assert explained["sortPushdown"] is False, lines(explained)


def test_sort_on_an_indexed_field_reads_in_index_order(plans: Database[Doc]) -> None:
    explained = explain(plans, {}, {"person_id": -1})
    assert explained["sortPushdown"] is True, lines(explained)
    assert not scans(explained), lines(explained)


def test_a_two_key_sort_is_read_in_order_of_its_first_key(plans: Database[Doc]) -> None:
    """The directory page: ties on the first key are sorted by the handler, run by run."""
    explained = explain(
        plans, {"person_id": {"$gt": "p2"}, "n": {"$gt": 5}}, {"person_id": 1, "_id": 1}
    )
    assert explained["sortPushdown"] is False, lines(explained)
    assert explained["queryPlanner"]["OrderedKeys"] == 1, lines(explained)
    assert not scans(explained), lines(explained)
    assert not any("TEMP B-TREE" in line for line in lines(explained)), lines(explained)


# --- databases built by another build ---------------------------------------------


def test_indexes_built_by_either_build_serve_the_other(tmp_path: Path) -> None:
    """An index upstream built is rebuilt for the pushdown; the patched build's tables stay
    readable and writable by upstream, whose writes keep the multikey table in step."""
    rng = seeded("upgrade")
    docs = make_docs(rng, 150, 0.4, False)
    queries = [Query({"a": s}, [("_id", 1)], 0, 0) for s in STRINGS[:8]] + [
        Query({"a": {"$in": ["a", "b"]}, "b": "a"}, [], 0, 0),
        Query({"tags": "a"}, [("_id", -1)], 0, 0),
    ]

    def answers(uri: str) -> list[list[Doc]]:
        client: MongoClient[Doc] = MongoClient(uri)
        try:
            return [q.run(client["up"], "c", whole=True) for q in queries]
        finally:
            client.close()

    def write(uri: str, batch: list[Doc], indexes: bool) -> None:
        client: MongoClient[Doc] = MongoClient(uri)
        try:
            if indexes:
                for keys, unique in INDEXES:
                    client["up"]["c"].create_index(keys, unique=unique)
            client["up"]["c"].insert_many(batch)
            client["up"]["c"].update_many({"n": {"$lt": 5}}, {"$set": {"a": ["a", "zz"]}})
        finally:
            client.close()

    with scratch_ferretdb("upstream", data=tmp_path) as server:
        write(server.uri, docs[:50], indexes=True)
        expected = answers(server.uri)
    with scratch_ferretdb("patched", data=tmp_path) as server:
        client: MongoClient[Doc] = MongoClient(server.uri)
        plan = client["up"].command("explain", {"find": "c", "filter": {"a": "a"}})
        client.close()
        assert not [line for line in plan["queryPlanner"]["Plan"] if "SCAN" in line], plan
        got = answers(server.uri)
        write(server.uri, docs[50:100], indexes=False)
    for q, want, have in zip(queries, expected, got, strict=True):
        check_answer(q, want, have, "patched on upstream's database")
    with scratch_ferretdb("upstream", data=tmp_path) as server:
        write(server.uri, docs[100:], indexes=False)
        expected = answers(server.uri)
    with scratch_ferretdb("patched", data=tmp_path) as server:
        got = answers(server.uri)
    for q, want, have in zip(queries, expected, got, strict=True):
        check_answer(q, want, have, "patched after upstream wrote")
