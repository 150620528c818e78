"""The audit store on the real FerretDB: concurrent writers keep one chain."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from guildhall_gateway.adapters.repository import RECORDS, MongoAuditStore, indexes
from guildhall_gateway.application.audit import AuditTrail
from guildhall_gateway.domain.audit import AuditEntry, link
from guildhall_kit.clock import new_id, now_ms
from guildhall_kit.mongo import ensure_indexes, make_client

pytestmark = [pytest.mark.integration]


def _entry(n: int) -> AuditEntry:
    return AuditEntry(
        audit_id=new_id(),
        person_id="vera",
        org_id="acme",
        client_id="",
        method="GET",
        route="/v1/pinholes/{pinhole_id}",
        object_ids=("p1",),
        pinhole_id="p1",
        outcome="allowed",
        http_status=200,
        bytes_returned=n,
        request_id=new_id(),
        trace_id="",
        client_address="127.0.0.1",
        received_at=now_ms(),
        duration_ms=1,
    )


@pytest.fixture
async def database(infra: Any, unique: str) -> AsyncIterator[Any]:
    client: Any = make_client(infra.mongo_uri, app_name="test-gateway-audit")
    db = client[f"gateway_audit_{unique}"]
    await ensure_indexes(db, indexes())
    try:
        yield db
    finally:
        await client.drop_database(f"gateway_audit_{unique}")
        await client.close()


async def test_two_replicas_appending_at_once_keep_one_unbroken_chain(database: Any) -> None:
    # Two trails over the same database stand for two gateway replicas: their
    # in-process locks do not see each other, only the store's unique ids do.
    replicas = [AuditTrail(MongoAuditStore(database)) for _ in range(2)]
    chain = "pinhole:p1"
    records = await asyncio.gather(*(replicas[n % 2].append(_entry(n), chain) for n in range(40)))
    assert sorted(r.seq for r in records) == list(range(1, 41))
    assert await database[RECORDS].count_documents({"chain": chain}) == 40
    assert await replicas[0].verify(chain) == []
    # Each record links to the one before it.
    by_seq = {r.seq: r for r in records}
    assert all(by_seq[s].prev_hash == by_seq[s - 1].hash for s in range(2, 41))


async def test_a_head_left_behind_by_a_crash_is_caught_up(database: Any) -> None:
    store = MongoAuditStore(database)
    trail = AuditTrail(store)
    first = await trail.append(_entry(1), "org:acme")
    # A writer that inserted record 2 and died before moving the head.
    orphan = link(_entry(2), "org:acme", first)
    assert await store.insert(orphan)
    third = await trail.append(_entry(3), "org:acme")
    assert third.seq == 3
    assert third.prev_hash == orphan.hash
    assert await trail.verify("org:acme") == []
