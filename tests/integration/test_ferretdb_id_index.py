"""The local FerretDB answers ``_id`` conditions from its ``_id`` index (docs/adr/0010).

The Makefile builds FerretDB with deploy/local/ferretdb/*.patch applied. These tests
prove the running server is that build: a top-level ``_id`` equality, ``$eq`` or
``$in`` of strings is a SQLite index search, alone or beside other conditions; and the
answers stay exactly MongoDB's, because the server still filters every document it
reads with the whole filter.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from pymongo import MongoClient
from pymongo.database import Database

pytestmark = pytest.mark.integration

DOCS = 2_000


@pytest.fixture(scope="module")
def db(infra: Any) -> Iterator[Database[dict[str, Any]]]:
    client: MongoClient[dict[str, Any]] = MongoClient(
        infra.mongo_uri, serverSelectionTimeoutMS=5000
    )
    info = client.admin.command("buildInfo")
    if "ferretdbVersion" not in info:
        client.close()
        pytest.skip(f"the server is not FerretDB ({info.get('version')}): the patch is FerretDB's")
    database = client[f"id_index_{secrets.token_hex(4)}"]
    database.docs.insert_many(
        [{"_id": f"doc{i:05d}", "n": i, "tags": [f"t{i % 7}"]} for i in range(DOCS)]
    )
    # Ids of other types, which a string condition must never match.
    database.docs.insert_many([{"_id": 17, "n": -1}, {"_id": {"doc00001": 1}, "n": -2}])
    try:
        yield database
    finally:
        client.drop_database(database.name)
        client.close()


def plan(db: Database[dict[str, Any]], flt: dict[str, Any]) -> str:
    explained = db.command("explain", {"find": "docs", "filter": flt})
    return " ".join(explained["queryPlanner"]["Plan"])


@pytest.mark.parametrize(
    "flt",
    [
        {"_id": "doc00042"},
        {"_id": {"$eq": "doc00042"}},
        {"_id": "doc00042", "n": 42},
        {"_id": {"$in": ["doc00042", "doc01999", "missing"]}},
        {"_id": {"$in": ["doc00042"]}, "tags": "t0"},
    ],
    ids=["equality", "$eq", "with-other-fields", "$in", "$in-with-other-fields"],
)
def test_id_conditions_search_the_id_index(
    db: Database[dict[str, Any]], flt: dict[str, Any]
) -> None:
    assert "USING INDEX" in plan(db, flt), plan(db, flt)


@pytest.mark.parametrize(
    "flt",
    [
        {"n": 42},
        {"_id": {"$gt": "doc01990"}},
        {"_id": {"$in": ["doc00042", 17]}},
        {"$or": [{"_id": "doc00042"}, {"n": 5}]},
    ],
    ids=["no-id", "range", "$in-of-mixed-types", "$or"],
)
def test_other_conditions_still_scan(db: Database[dict[str, Any]], flt: dict[str, Any]) -> None:
    assert "SCAN" in plan(db, flt), plan(db, flt)


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ({"_id": "doc00042"}, [42]),
        ({"_id": "doc00042", "n": 42}, [42]),
        ({"_id": "doc00042", "n": 43}, []),
        ({"_id": {"$eq": "doc00007"}, "tags": "t0"}, [7]),
        ({"_id": {"$eq": "doc00008"}, "tags": "t0"}, []),
        ({"_id": {"$in": ["doc00003", "doc01999", "missing"]}}, [3, 1999]),
        ({"_id": {"$in": ["doc00003", "doc00004"]}, "n": {"$gt": 3}}, [4]),
        ({"_id": {"$in": ["doc00001", 17]}}, [-1, 1]),
        ({"_id": "missing"}, []),
        ({"_id": {"$in": []}}, []),
    ],
)
def test_answers_are_exact(
    db: Database[dict[str, Any]], flt: dict[str, Any], expected: list[int]
) -> None:
    assert sorted(doc["n"] for doc in db.docs.find(flt)) == expected


def test_updates_and_deletes_by_id_touch_only_their_document(db: Database[dict[str, Any]]) -> None:
    result = db.docs.update_one({"_id": "doc00100", "n": 100}, {"$set": {"n": 10_100}})
    assert (result.matched_count, result.modified_count) == (1, 1)
    stale = db.docs.update_one({"_id": "doc00100", "n": 100}, {"$set": {"n": 0}})
    assert stale.matched_count == 0
    assert db.docs.find_one({"_id": "doc00100"}) == {"_id": "doc00100", "n": 10_100, "tags": ["t2"]}
    assert db.docs.delete_one({"_id": "doc00101", "n": 0}).deleted_count == 0
    assert db.docs.delete_one({"_id": "doc00101"}).deleted_count == 1
    assert db.docs.count_documents({}) == DOCS + 2 - 1
