"""Delivery preferences and the digest queue.

- ``preferences``  {_id: person_id, digest_frequency, last_digest_at, updated_at}
- ``digest_queue`` {_id: person_id, due_at}: people who got something since their
  last digest; the inbox writer adds them (an insert that is a no-op when they are
  queued already), the digest pass takes due ones (a compare-and-set on due_at
  claims one for a lease) and removes them once handled. Index {due_at}.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from guildhall_kit.mongo import Document, IndexSpec
from guildhall_notification.domain.digest import Frequency

PREFERENCES = "preferences"
QUEUE = "digest_queue"


def indexes() -> list[IndexSpec]:
    return [IndexSpec(QUEUE, [("due_at", 1)], "due")]


class PreferenceStore:
    def __init__(self, db: AsyncDatabase[Document], *, writer: AsyncDatabase[Document]) -> None:
        self._db = db
        self._w = writer

    async def get(self, person_id: str) -> tuple[Frequency, datetime | None] | None:
        document = await self._db[PREFERENCES].find_one({"_id": person_id})
        if document is None:
            return None
        return Frequency(document["digest_frequency"]), document.get("last_digest_at")

    async def put_frequency(self, person_id: str, frequency: Frequency, at: datetime) -> None:
        await self._w[PREFERENCES].update_one(
            {"_id": person_id},
            {"$set": {"digest_frequency": frequency.value, "updated_at": at}},
            upsert=True,
        )

    async def digest_sent(self, person_id: str, at: datetime, default: Frequency) -> None:
        await self._w[PREFERENCES].update_one(
            {"_id": person_id},
            {"$set": {"last_digest_at": at}, "$setOnInsert": {"digest_frequency": default.value}},
            upsert=True,
        )

    # -------------------------------------------------------------- digest queue

    async def enqueue(self, person_ids: Sequence[str], due_at: datetime) -> None:
        """Queue these people for a digest check; those already queued keep their place."""
        if not person_ids:
            return
        documents = [{"_id": p, "due_at": due_at} for p in person_ids]
        try:
            await self._w[QUEUE].insert_many(documents, ordered=False)
        except BulkWriteError as exc:
            if any(int(e.get("code", 0)) != 11000 for e in exc.details.get("writeErrors", [])):
                raise

    async def due(self, now: datetime, limit: int) -> list[tuple[str, datetime]]:
        found = (
            await self._db[QUEUE]
            .find({"due_at": {"$lte": now}})
            .sort("due_at", 1)
            .limit(limit)
            .to_list(limit)
        )
        return [(str(d["_id"]), d["due_at"]) for d in found]

    async def claim(self, person_id: str, due_at: datetime, until: datetime) -> bool:
        """Take a queued person for a lease (another replica's claim wins if it came first)."""
        result = await self._w[QUEUE].update_one(
            {"_id": person_id, "due_at": due_at}, {"$set": {"due_at": until}}
        )
        return bool(result.modified_count)

    async def reschedule(self, person_id: str, due_at: datetime) -> None:
        await self._w[QUEUE].update_one({"_id": person_id}, {"$set": {"due_at": due_at}})

    async def dequeue(self, person_id: str) -> None:
        await self._w[QUEUE].delete_one({"_id": person_id})
