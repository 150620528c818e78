"""Effects that happen once per event id, although messages arrive at least once.

Kafka redelivers a message whose offset was not committed (a consumer died
after the effect, before the commit; a rebalance; an outbox relay re-publishing
after a crash). Two tools make the effect happen once anyway, both keyed by the
CloudEvents ``id`` and both a single-document write (no transactions needed):

- :class:`ProcessedEvents`: a collection whose ``_id`` is ``<group>:<event id>``.
  Inserting the marker *is* the once-only step: :meth:`ProcessedEvents.record`
  returns ``False`` for an id already recorded. Given to a :class:`Consumer`, it
  skips events its group already finished. A handler whose whole effect is "store
  a record of this event" can use it as its effect store directly (extra fields).
- :func:`apply_once`: an update applied to one aggregate's document unless that
  document already lists the event id among its recently applied ones; the
  effect and the "seen" mark are one atomic write, so no crash window exists.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from guildhall_kit.mongo import Document, IndexSpec

APPLIED_FIELD: Final = "_applied_events"
"""Field of an aggregate document listing the event ids :func:`apply_once` applied."""

DEFAULT_REMEMBER: Final = 64
"""How many applied event ids a document keeps. Redeliveries come from the recent
past (uncommitted offsets), so a short window is enough."""


class ProcessedEvents:
    """The events a consumer group has finished, in a collection of the consumer's database.

    Documents: ``{_id: "<group>:<event id>", group, event_id, at, **extra}``.
    """

    def __init__(self, collection: AsyncCollection[Document], *, group: str) -> None:
        if not group:
            raise ValueError("group must not be empty")
        self._collection = collection
        self._group = group

    @property
    def group(self) -> str:
        """The logical consumer group whose progress this records."""
        return self._group

    @staticmethod
    def indexes(collection: str = "processed_events") -> list[IndexSpec]:
        """Indexes to declare for the collection: ``at``, for pruning old markers."""
        return [IndexSpec(collection=collection, keys=[("at", 1)], name="at")]

    def _id(self, event_id: str) -> str:
        return f"{self._group}:{event_id}"

    async def seen(self, event_id: str) -> bool:
        """Whether this group already recorded ``event_id``. One indexed read.

        Raises:
            pymongo.errors.PyMongoError: database unreachable (bounded by the client's timeouts).
        """
        found = await self._collection.find_one({"_id": self._id(event_id)}, projection={"_id": 1})
        return found is not None

    async def record(self, event_id: str, **extra: Any) -> bool:
        """Record ``event_id`` for this group; ``True`` the first time, ``False`` after that.

        ``extra`` fields are stored with the marker on the first call only, so a
        handler whose effect is a record of the event makes it exactly once.

        Raises:
            pymongo.errors.PyMongoError: other than a duplicate key (bounded by client timeouts).
        """
        document: Document = {
            **extra,
            "_id": self._id(event_id),
            "group": self._group,
            "event_id": event_id,
            "at": datetime.now(UTC),
        }
        try:
            await self._collection.insert_one(document)
        except DuplicateKeyError:
            return False
        return True

    async def prune(self, older_than: datetime) -> int:
        """Delete this group's markers recorded before ``older_than``; return how many.

        Keep markers longer than the topics' retention plus the longest outage
        you want to survive; after that a redelivery cannot happen any more.
        """
        result = await self._collection.delete_many(
            {"group": self._group, "at": {"$lt": older_than}}
        )
        return int(result.deleted_count)


def apply_once_update(
    update: Mapping[str, Any], event_id: str, *, remember: int = DEFAULT_REMEMBER
) -> dict[str, Any]:
    """``update`` plus the step that records ``event_id`` in :data:`APPLIED_FIELD`.

    Pure; see :func:`apply_once`. Raises ``ValueError`` when ``update`` already
    writes :data:`APPLIED_FIELD` or is not an operator update.
    """
    if not update or not all(op.startswith("$") for op in update):
        raise ValueError("update must be an operator update such as {'$set': {...}}")
    for op_fields in update.values():
        if isinstance(op_fields, Mapping) and any(
            str(name).split(".")[0] == APPLIED_FIELD for name in op_fields
        ):
            raise ValueError(f"update must not touch {APPLIED_FIELD}")
    if remember < 1:
        raise ValueError("remember must be at least 1")
    merged: dict[str, Any] = {op: dict(fields) for op, fields in update.items()}
    merged.setdefault("$push", {})[APPLIED_FIELD] = {"$each": [event_id], "$slice": -remember}
    return merged


async def apply_once(
    collection: AsyncCollection[Document],
    document_id: Any,
    update: Mapping[str, Any],
    *,
    event_id: str,
    upsert: bool = False,
    remember: int = DEFAULT_REMEMBER,
) -> bool:
    """Apply ``update`` to document ``document_id`` once per ``event_id``; ``True`` if applied now.

    The filter excludes documents that already list ``event_id``, and the update
    pushes it (keeping the last ``remember``), so effect and mark are one atomic
    single-document write. ``False`` means it was applied before, or (without
    ``upsert``) that the document does not exist. With ``upsert`` a missing
    document is created; the duplicate-key error an already-applied upsert
    raises is the "applied before" answer.

    Raises:
        ValueError: ``update`` is not an operator update or touches the applied list.
        pymongo.errors.PyMongoError: other than that duplicate key.
    """
    full = apply_once_update(update, event_id, remember=remember)
    try:
        result = await collection.update_one(
            {"_id": document_id, APPLIED_FIELD: {"$ne": event_id}}, full, upsert=upsert
        )
    except DuplicateKeyError:
        return False
    return bool(result.modified_count or result.upserted_id is not None)
