"""Routing reads a question's best experts from per-tag rows, not every expert of its tags.

``ReadModels.top_experts`` must give the same first ``want`` as ranking everyone with
expertise in the tags (``ReadModels.experts``, which reads them all); the rows must
follow every change of a person's expertise, and expertise stored before the rows
existed is backfilled once. Against the real FerretDB.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from guildhall_kit.mongo import Document, ensure_indexes, make_client
from guildhall_notification.adapters.repository.readmodels import (
    EXPERT_ROWS_MIGRATION,
    EXPERT_TAGS,
    EXPERTS,
    MIGRATIONS,
    TOP_EXPERTS_DEPTH,
    ReadModels,
    expert_rows,
    indexes,
)
from guildhall_notification.domain.routing import Expertise, rank

pytestmark = pytest.mark.integration

TAGS = ["sap", "abap", "python", "tax"]


@pytest.fixture
async def db(infra: Any, unique: str) -> AsyncIterator[AsyncDatabase[Document]]:
    client = make_client(infra.mongo_uri, app_name="test-expert-rows")
    database = client[f"t{unique}_expert_rows"]
    await ensure_indexes(database, indexes())
    try:
        yield database
    finally:
        await client.drop_database(database.name)
        await client.close()


async def _declare(models: ReadModels, person: str, detail: dict[str, Expertise], n: int) -> None:
    await models.change_expertise(person, lambda _old: dict(detail), event_id=f"e{n}")


async def test_top_experts_ranks_as_reading_everyone_does(db: AsyncDatabase[Document]) -> None:
    models = ReadModels(db, writer=db)
    rng = random.Random(3)  # noqa: S311 - test data
    for n in range(120):
        detail = {
            t: Expertise(declared=rng.random() < 0.7, earned=rng.choice((0, 0, 0, 1, 2, 5)))
            for t in rng.sample(TAGS, rng.randint(1, 3))
        }
        detail = {t: e for t, e in detail.items() if e.declared or e.earned}
        if detail:
            await _declare(models, f"p{n:03d}", detail, n)

    for tags in (["sap"], ["sap", "abap"], ["python", "tax", "sap"], ["nobody"]):
        everyone = rank(tags, await models.experts(tags))
        for want in (1, 3, 30, 500):
            top = await models.top_experts(tags, want)
            assert rank(tags, top)[:want] == everyone[:want], (tags, want)
    # One tag: its first rows are the ranking itself, and nothing more is read.
    assert len(await models.top_experts(["sap"], 3)) == 3
    assert len(await models.experts(["sap"])) > 30


async def test_a_question_reads_a_bounded_number_of_rows_per_tag(
    db: AsyncDatabase[Document],
) -> None:
    models = ReadModels(db, writer=db)
    people = 2 * TOP_EXPERTS_DEPTH + 200
    tag = ["sap", "abap"]  # each person declares one of the two: everyone scores 1
    experts = [
        {
            "_id": f"p{n:04d}",
            "tags": [tag[n % 2]],
            "detail": [{"tag": tag[n % 2], "declared": True}],
            "version": 1,
        }
        for n in range(people)
    ]
    await db[EXPERTS].insert_many(experts)
    await db[EXPERT_TAGS].insert_many([r for e in experts for r in expert_rows(str(e["_id"]), e)])
    # Flat scores: the threshold never settles it (an unread person could tie the
    # 33rd with a smaller id only in the other tag's tail), the depth does.
    found = await models.top_experts(["sap", "abap"], 33)
    assert len(found) == 2 * TOP_EXPERTS_DEPTH
    assert rank(["sap", "abap"], found)[:33] == [f"p{n:04d}" for n in range(33)]


async def test_rows_follow_every_change_of_expertise(db: AsyncDatabase[Document]) -> None:
    models = ReadModels(db, writer=db)
    await _declare(models, "ann", {"sap": Expertise(True, 0), "tax": Expertise(True, 0)}, 1)
    await _declare(models, "bob", {"sap": Expertise(True, 3)}, 2)
    assert rank(["sap"], await models.top_experts(["sap"], 1))[:1] == ["bob"]

    # Ann earns answers; Bob drops the tag.
    await _declare(models, "ann", {"sap": Expertise(True, 9)}, 3)
    await _declare(models, "bob", {"abap": Expertise(True, 0)}, 4)
    rows = {d["_id"]: d["score"] async for d in db[EXPERT_TAGS].find({})}
    assert rows == {"sap:ann": 19, "abap:bob": 1}
    assert rank(["sap"], await models.top_experts(["sap"], 5)) == ["ann"]

    # A redelivered event writes the rows again (a crash after the expertise write).
    await db[EXPERT_TAGS].delete_many({"person_id": "ann"})
    await _declare(models, "ann", {"sap": Expertise(True, 9)}, 3)
    assert await db[EXPERT_TAGS].find_one({"_id": "sap:ann"}) is not None


async def test_expertise_stored_before_the_rows_is_backfilled_once(
    db: AsyncDatabase[Document],
) -> None:
    models = ReadModels(db, writer=db)
    await _declare(models, "cy", {"tax": Expertise(True, 1)}, 1)
    await db[EXPERT_TAGS].delete_many({})  # as stored before the rows existed
    assert await models.top_experts(["tax"], 3) == {}

    await models.backfill_expert_rows()
    assert rank(["tax"], await models.top_experts(["tax"], 3)) == ["cy"]
    assert await db[MIGRATIONS].find_one({"_id": EXPERT_ROWS_MIGRATION}) is not None

    await db[EXPERTS].insert_one(
        {"_id": "dee", "tags": ["tax"], "detail": [{"tag": "tax", "declared": True}]}
    )
    await models.backfill_expert_rows()  # done once: not again
    assert await db[EXPERT_TAGS].find_one({"person_id": "dee"}) is None
