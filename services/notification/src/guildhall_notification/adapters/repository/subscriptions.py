"""Subscriptions and community defaults.

- ``subscriptions``       {_id: "<person>|<space|item>|<target>", person_id, target_kind,
                          target_id, space_id, level, source, updated_at, set_id}
                          indexes {target_id, level} (who watches or tracks a space or
                          an item) and {person_id, set_id desc} (a person's own, newest first)
- ``community_defaults``  {_id: community_id, level, updated_by, updated_at}
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from guildhall_kit.mongo import Document, IndexSpec
from guildhall_notification.application.ports import StoredDefault, StoredSubscription, TargetKind
from guildhall_notification.domain.model import Level, Source

SUBSCRIPTIONS = "subscriptions"
DEFAULTS = "community_defaults"


def indexes() -> list[IndexSpec]:
    return [
        IndexSpec(SUBSCRIPTIONS, [("target_id", 1), ("level", 1), ("person_id", 1)], "holders"),
        IndexSpec(SUBSCRIPTIONS, [("person_id", 1), ("set_id", -1)], "by_person"),
    ]


def _key(person_id: str, kind: TargetKind, target_id: str) -> str:
    return f"{person_id}|{kind}|{target_id}"


def _sub(document: Document) -> StoredSubscription:
    return StoredSubscription(
        person_id=str(document["person_id"]),
        target_kind=document["target_kind"],
        target_id=str(document["target_id"]),
        space_id=str(document.get("space_id") or ""),
        level=Level(document["level"]),
        source=Source(document["source"]),
        updated_at=document["updated_at"],
        set_id=str(document["set_id"]),
    )


class SubscriptionStore:
    def __init__(self, db: AsyncDatabase[Document], *, writer: AsyncDatabase[Document]) -> None:
        self._read = db[SUBSCRIPTIONS]
        self._write = writer[SUBSCRIPTIONS]
        self._defaults_read = db[DEFAULTS]
        self._defaults_write = writer[DEFAULTS]

    async def put(
        self,
        person_id: str,
        kind: TargetKind,
        target_id: str,
        *,
        space_id: str,
        level: Level,
        source: Source,
        at: datetime,
        set_id: str,
        only_if_absent: bool = False,
    ) -> bool:
        """Set a subscription; with ``only_if_absent`` (authors, participants) an existing
        one is kept. True when this call stored it."""
        fields = {
            "person_id": person_id,
            "target_kind": kind,
            "target_id": target_id,
            "space_id": space_id,
            "level": level.value,
            "source": source.value,
            "updated_at": at,
            "set_id": set_id,
        }
        key = _key(person_id, kind, target_id)
        if only_if_absent:
            try:
                result = await self._write.update_one(
                    {"_id": key}, {"$setOnInsert": fields}, upsert=True
                )
            except DuplicateKeyError:
                return False
            return result.upserted_id is not None
        await self._write.update_one({"_id": key}, {"$set": fields}, upsert=True)
        return True

    async def delete(self, person_id: str, kind: TargetKind, target_id: str) -> None:
        await self._write.delete_one({"_id": _key(person_id, kind, target_id)})

    async def get(
        self, person_id: str, kind: TargetKind, target_id: str
    ) -> StoredSubscription | None:
        document = await self._read.find_one({"_id": _key(person_id, kind, target_id)})
        return _sub(document) if document else None

    async def levels(
        self, person_ids: Iterable[str], kind: TargetKind, target_id: str
    ) -> dict[str, tuple[Level, Source]]:
        """Each person's own subscription to the target, where they have one."""
        keys = [_key(p, kind, target_id) for p in sorted(set(person_ids))]
        found: dict[str, tuple[Level, Source]] = {}
        for start in range(0, len(keys), 1000):
            async for document in self._read.find(
                {"_id": {"$in": keys[start : start + 1000]}},
                projection={"person_id": 1, "level": 1, "source": 1},
            ):
                found[str(document["person_id"])] = (
                    Level(document["level"]),
                    Source(document["source"]),
                )
        return found

    async def holders(
        self, target_id: str, levels: Sequence[Level]
    ) -> AsyncIterator[list[tuple[str, Level]]]:
        """Everyone subscribed to ``target_id`` at one of ``levels``, in batches of 1,000."""
        # In person order, so a retried fan-out meets the same batches in the same order.
        cursor = self._read.find(
            {"target_id": target_id, "level": {"$in": [lv.value for lv in levels]}},
            projection={"person_id": 1, "level": 1},
            batch_size=1000,
        ).sort("person_id", 1)
        batch: list[tuple[str, Level]] = []
        async for document in cursor:
            batch.append((str(document["person_id"]), Level(document["level"])))
            if len(batch) >= 1000:
                yield batch
                batch = []
        if batch:
            yield batch

    async def page(
        self, person_id: str, *, before: str | None, limit: int
    ) -> list[StoredSubscription]:
        query: dict[str, Any] = {"person_id": person_id}
        if before is not None:
            query["set_id"] = {"$lt": before}
        found = await self._read.find(query).sort("set_id", -1).limit(limit).to_list(limit)
        return [_sub(d) for d in found]

    async def put_many(self, documents: Sequence[Document]) -> None:
        """Bulk-insert prepared subscription documents (seeding); existing ones are kept."""
        from pymongo.errors import BulkWriteError

        for start in range(0, len(documents), 1000):
            try:
                await self._write.insert_many(documents[start : start + 1000], ordered=False)
            except BulkWriteError as exc:
                if any(int(e.get("code", 0)) != 11000 for e in exc.details.get("writeErrors", [])):
                    raise

    # ------------------------------------------------------------ defaults

    async def default_level(self, community_id: str) -> Level | None:
        stored = await self.default(community_id)
        return stored.level if stored else None

    async def default(self, community_id: str) -> StoredDefault | None:
        document = await self._defaults_read.find_one({"_id": community_id})
        if document is None:
            return None
        return StoredDefault(
            community_id=community_id,
            level=Level(document["level"]),
            updated_by=str(document.get("updated_by") or ""),
            updated_at=document["updated_at"],
        )

    async def put_default(
        self, community_id: str, level: Level, *, updated_by: str, at: datetime
    ) -> StoredDefault:
        await self._defaults_write.update_one(
            {"_id": community_id},
            {"$set": {"level": level.value, "updated_by": updated_by, "updated_at": at}},
            upsert=True,
        )
        return StoredDefault(community_id, level, updated_by, at)


def subscription_document(
    person_id: str,
    kind: TargetKind,
    target_id: str,
    *,
    space_id: str,
    level: Level,
    source: Source,
    at: datetime,
    set_id: str,
) -> Document:
    """A subscription document as :meth:`SubscriptionStore.put` stores it (seeding, benchmarks)."""
    return {
        "_id": _key(person_id, kind, target_id),
        "person_id": person_id,
        "target_kind": kind,
        "target_id": target_id,
        "space_id": space_id,
        "level": level.value,
        "source": source.value,
        "updated_at": at,
        "set_id": set_id,
    }
