"""MongoDB: the audit trail's records and chain heads.

``audit_records`` holds one document per record, ``_id`` = ``<chain>#<seq>``
(the sequence zero-padded, so a chain's records are one ``_id`` range in
order, and the unique ``_id`` is what keeps concurrent writers from forking a
chain). Each document carries its ``PartnerAccessAudited`` event in the
transactional outbox fields, written by the same single-document insert, so a
record is never published without being stored nor stored without being
published. Records are only ever inserted.

``audit_heads`` holds one document per chain: the sequence and hash of its
last record, moved forward after each insert (a head that lags after a crash
is caught up by the next writer, and by ``verify``).
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any, Final

from google.protobuf.timestamp_pb2 import Timestamp
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from guildhall.gateway.v1 import events_pb2
from guildhall_gateway.domain.audit import GENESIS, AuditEntry, AuditRecord
from guildhall_kit.mongo import Document, IndexSpec
from guildhall_kit.outbox import Outbox

RECORDS: Final = "audit_records"
HEADS: Final = "audit_heads"

_OUTCOMES: Final = {
    "allowed": events_pb2.ACCESS_OUTCOME_ALLOWED,
    "denied": events_pb2.ACCESS_OUTCOME_DENIED,
    "rate_limited": events_pb2.ACCESS_OUTCOME_RATE_LIMITED,
    "unauthenticated": events_pb2.ACCESS_OUTCOME_UNAUTHENTICATED,
    "failed": events_pb2.ACCESS_OUTCOME_FAILED,
}


def record_id(chain: str, seq: int) -> str:
    return f"{chain}#{seq:012d}"


def indexes() -> list[IndexSpec]:
    """The partner org admin reads their org's slice newest first."""
    return [IndexSpec(collection=RECORDS, keys=[("org_id", 1), ("_id", 1)], name="by_org")]


def event_of(record: AuditRecord) -> events_pb2.PartnerAccessAudited:
    """The event published for a record."""
    e = record.entry
    received = Timestamp()
    received.FromDatetime(e.received_at)
    return events_pb2.PartnerAccessAudited(
        audit_id=e.audit_id,
        person_id=e.person_id,
        org_id=e.org_id,
        method=e.method,
        route=e.route,
        space_id=e.pinhole_id,
        outcome=_OUTCOMES.get(e.outcome, events_pb2.ACCESS_OUTCOME_UNSPECIFIED),
        http_status=e.http_status,
        request_id=e.request_id,
        trace_id=e.trace_id,
        client_address=e.client_address,
        received_at=received,
        duration_ms=e.duration_ms,
        client_id=e.client_id,
        object_ids=list(e.object_ids),
        pinhole_id=e.pinhole_id,
        bytes_returned=e.bytes_returned,
        chain=record.chain,
        sequence=record.seq,
        prev_hash=record.prev_hash,
        hash=record.hash,
    )


def to_document(record: AuditRecord) -> Document:
    return {"_id": record_id(record.chain, record.seq), **record.fields()}


def from_document(doc: Document) -> AuditRecord:
    received: datetime = doc["received_at"]
    if received.tzinfo is None:
        received = received.replace(tzinfo=UTC)
    entry = AuditEntry(
        audit_id=str(doc["audit_id"]),
        person_id=str(doc["person_id"]),
        org_id=str(doc["org_id"]),
        client_id=str(doc["client_id"]),
        method=str(doc["method"]),
        route=str(doc["route"]),
        object_ids=tuple(str(v) for v in doc["object_ids"]),
        pinhole_id=str(doc["pinhole_id"]),
        outcome=str(doc["outcome"]),
        http_status=int(doc["http_status"]),
        bytes_returned=int(doc["bytes_returned"]),
        request_id=str(doc["request_id"]),
        trace_id=str(doc["trace_id"]),
        client_address=str(doc["client_address"]),
        received_at=received,
        duration_ms=int(doc["duration_ms"]),
    )
    return AuditRecord(
        entry=entry,
        chain=str(doc["chain"]),
        seq=int(doc["seq"]),
        prev_hash=str(doc["prev_hash"]),
        hash=str(doc["hash"]),
    )


class MongoAuditStore:
    """The audit store on the gateway's own database (see the module docstring)."""

    def __init__(
        self,
        db: AsyncDatabase[Document],
        *,
        writer: AsyncDatabase[Document] | None = None,
        outbox: Outbox | None = None,
        on_written: Any = None,
    ) -> None:
        self._db = db
        self._writer = writer if writer is not None else db
        self._outbox = outbox
        self._on_written = on_written

    async def head(self, chain: str) -> tuple[int, str]:
        doc = await self._db[HEADS].find_one({"_id": chain})
        if doc is None:
            return 0, GENESIS
        return int(doc["seq"]), str(doc["hash"])

    async def get(self, chain: str, seq: int) -> AuditRecord | None:
        doc = await self._db[RECORDS].find_one({"_id": record_id(chain, seq)})
        return from_document(doc) if doc is not None else None

    async def insert(self, record: AuditRecord) -> bool:
        document = to_document(record)
        if self._outbox is not None:
            event = self._outbox.event(
                event_of(record), key=record.entry.org_id, subject=record.entry.org_id
            )
            document.update(self._outbox.fields(event))
        try:
            await self._writer[RECORDS].insert_one(document)
        except DuplicateKeyError:
            return False
        if self._on_written is not None:
            self._on_written(RECORDS, document["_id"])
        return True

    async def advance(self, chain: str, seq: int, hash_: str) -> None:
        # A duplicate key means the head is already at or past seq (another writer).
        with contextlib.suppress(DuplicateKeyError):
            await self._writer[HEADS].update_one(
                {"_id": chain, "seq": {"$lt": seq}},
                {"$set": {"seq": seq, "hash": hash_}},
                upsert=True,
            )

    async def chains(self) -> list[tuple[str, int]]:
        return [
            (str(doc["_id"]), int(doc["seq"]))
            async for doc in self._db[HEADS].find({}).sort("_id", 1)
        ]

    async def records(self, chain: str, after_seq: int, limit: int) -> list[AuditRecord]:
        cursor = (
            self._db[RECORDS]
            .find({"_id": {"$gt": record_id(chain, after_seq), "$lt": f"{chain}#~"}})
            .sort("_id", 1)
            .limit(limit)
        )
        return [from_document(doc) async for doc in cursor]

    async def by_org(self, org_id: str, after_id: str, limit: int) -> list[AuditRecord]:
        """Records of one org's requests, in ``_id`` order (chain, then seq)."""
        query: dict[str, Any] = {"org_id": org_id}
        if after_id:
            query["_id"] = {"$gt": after_id}
        cursor = self._db[RECORDS].find(query).sort("_id", 1).limit(limit)
        return [from_document(doc) async for doc in cursor]
