"""The inbox: one document per notification, and the shards' high-water marks.

``notifications``::

    {_id: <lowercase ULID>, person_id, kind, reason, title, space_id, community_id,
     post_id, comment_id, answer_id, actor_id, actor_display_name, excerpt,
     webhook_id, source_event_id, subject, created_at, read: bool, read_at}

Indexes: ``inbox`` {person_id, _id desc} (pages, the stream), ``unread``
{person_id, read, _id} (unread pages and counts), and two unique ones that make
writing idempotent: ``by_event`` {source_event_id, person_id} (a redelivered
event creates nothing twice) and ``by_subject`` {person_id, subject} (one
notification per person and subject, e.g. per comment).

``shards``: ``{_id: "shard-<n>", last_id}``, the highest id written for a
shard, so whichever process owns the shard next mints ids above it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from guildhall_kit.bus.tracing import current_trace_headers
from guildhall_kit.mongo import Document, IndexSpec
from guildhall_notification.domain.model import Kind, Notification, Reason, Template

NOTIFICATIONS = "notifications"
SHARDS = "shards"

_TEMPLATE_FIELDS = (
    "title",
    "space_id",
    "community_id",
    "post_id",
    "comment_id",
    "answer_id",
    "actor_id",
    "actor_display_name",
    "excerpt",
    "webhook_id",
)


def indexes() -> list[IndexSpec]:
    return [
        IndexSpec(NOTIFICATIONS, [("person_id", 1), ("_id", -1)], "inbox"),
        IndexSpec(NOTIFICATIONS, [("person_id", 1), ("read", 1), ("_id", 1)], "unread"),
        IndexSpec(
            NOTIFICATIONS, [("source_event_id", 1), ("person_id", 1)], "by_event", unique=True
        ),
        IndexSpec(NOTIFICATIONS, [("person_id", 1), ("subject", 1)], "by_subject", unique=True),
    ]


def to_document(notification: Notification) -> Document:
    template = notification.template
    document: Document = {
        "_id": notification.notification_id,
        "person_id": notification.person_id,
        "kind": template.kind.value,
        "reason": template.reason.value,
        "source_event_id": notification.source_event_id,
        "subject": notification.subject,
        "created_at": notification.created_at,
        "read": notification.read_at is not None,
        "read_at": notification.read_at,
        # The trace of the handler writing it, so the live delivery continues that trace.
        "traceparent": notification.traceparent or (current_trace_headers()[0] or ""),
    }
    for name in _TEMPLATE_FIELDS:
        document[name] = getattr(template, name)
    return document


def from_document(document: Document) -> Notification:
    template = Template(
        kind=Kind(document["kind"]),
        reason=Reason(document["reason"]),
        **{name: str(document.get(name) or "") for name in _TEMPLATE_FIELDS},
    )
    return Notification(
        notification_id=str(document["_id"]),
        person_id=str(document["person_id"]),
        template=template,
        source_event_id=str(document["source_event_id"]),
        subject=str(document["subject"]),
        created_at=document["created_at"],
        read_at=document.get("read_at"),
        traceparent=str(document.get("traceparent") or ""),
    )


class NotificationStore:
    """Reads through the pooled handle, writes through the writer handle."""

    def __init__(self, db: AsyncDatabase[Document], *, writer: AsyncDatabase[Document]) -> None:
        self._read = db[NOTIFICATIONS]
        self._write = writer[NOTIFICATIONS]
        self._shards_read = db[SHARDS]
        self._shards_write = writer[SHARDS]

    # ----------------------------------------------------------------- writing

    async def already_notified(
        self, source_event_id: str, person_ids: Sequence[str]
    ) -> dict[str, str]:
        """Those of ``person_ids`` who already have a notification from that event, with its id."""
        found = await self._read.find(
            {"source_event_id": source_event_id, "person_id": {"$in": list(person_ids)}},
            projection={"person_id": 1},
        ).to_list(None)
        return {str(d["person_id"]): str(d["_id"]) for d in found}

    async def insert(self, notifications: Sequence[Notification]) -> list[Notification]:
        """Insert in order; return those stored now. A notification whose event or subject
        the person already has is not stored (that is the idempotence, not an error)."""
        if not notifications:
            return []
        documents = [to_document(n) for n in notifications]
        try:
            await self._write.insert_many(documents, ordered=False)
        except BulkWriteError as exc:
            failed = {int(e["index"]) for e in exc.details.get("writeErrors", [])}
            others = [
                e for e in exc.details.get("writeErrors", []) if int(e.get("code", 0)) != 11000
            ]
            if others:
                raise
            return [n for i, n in enumerate(notifications) if i not in failed]
        return list(notifications)

    async def shard_floor(self, shard: int) -> str:
        """The highest id any process wrote for ``shard`` (empty when none)."""
        found = await self._shards_read.find_one({"_id": f"shard-{shard}"})
        return str(found["last_id"]) if found else ""

    async def raise_shard_floor(self, shard: int, last_id: str) -> None:
        await self._shards_write.update_one(
            {"_id": f"shard-{shard}"}, {"$max": {"last_id": last_id}}, upsert=True
        )

    # ----------------------------------------------------------------- reading

    async def page(
        self, person_id: str, *, before: str | None, unread_only: bool, limit: int
    ) -> list[Notification]:
        """The person's notifications with ids below ``before`` (all when None), newest first."""
        query: dict[str, Any] = {"person_id": person_id}
        if unread_only:
            query["read"] = False
        if before is not None:
            query["_id"] = {"$lt": before}
        found = await self._read.find(query).sort("_id", -1).limit(limit).to_list(limit)
        return [from_document(d) for d in found]

    async def after(self, person_id: str, after: str, limit: int) -> list[Notification]:
        """The person's notifications with ids above ``after``, oldest first."""
        query: dict[str, Any] = {"person_id": person_id, "_id": {"$gt": after}}
        found = await self._read.find(query).sort("_id", 1).limit(limit).to_list(limit)
        return [from_document(d) for d in found]

    async def newest_id(self, person_id: str) -> str:
        """The id of the person's newest notification; empty when they have none."""
        found = (
            await self._read.find({"person_id": person_id}, projection={"_id": 1})
            .sort("_id", -1)
            .limit(1)
            .to_list(1)
        )
        return str(found[0]["_id"]) if found else ""

    async def get(self, person_id: str, notification_id: str) -> Notification | None:
        found = await self._read.find_one({"_id": notification_id, "person_id": person_id})
        return from_document(found) if found else None

    async def unread_count(self, person_id: str) -> int:
        return int(await self._read.count_documents({"person_id": person_id, "read": False}))

    async def unread_since(self, person_id: str, since_id: str, limit: int) -> list[Notification]:
        """Unread notifications with ids above ``since_id``, newest first."""
        query: dict[str, Any] = {"person_id": person_id, "read": False, "_id": {"$gt": since_id}}
        found = await self._read.find(query).sort("_id", -1).limit(limit).to_list(limit)
        return [from_document(d) for d in found]

    async def mark_read(self, person_id: str, ids: Sequence[str], at: datetime) -> int:
        result = await self._write.update_many(
            {"person_id": person_id, "_id": {"$in": list(ids)}, "read": False},
            {"$set": {"read": True, "read_at": at}},
        )
        return int(result.modified_count)

    async def mark_all_read(self, person_id: str, up_to: str | None, at: datetime) -> int:
        query: dict[str, Any] = {"person_id": person_id, "read": False}
        if up_to is not None:
            query["_id"] = {"$lte": up_to}
        result = await self._write.update_many(query, {"$set": {"read": True, "read_at": at}})
        return int(result.modified_count)
