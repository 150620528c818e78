"""Routing of questions: the chains (with their outbox), routed entries, policies.

- ``routings``         {_id: question_id, space_id, community_id, title, tags, asker_id,
                       step, due_at, state, asked: [person], _outbox...}
                       index {state, due_at} (the timers: due open chains)
- ``routed``           {_id: ULID, question_id, person_id, space_id, title, tags, step,
                       reason, state, routed_at}; unique {question_id, person_id};
                       {person_id, _id desc} (a person's list); {person_id, state}
                       (an expert's open load); {question_id} via the unique index
- ``routing_policies`` {_id: space_id, sla_seconds, updated_by, updated_at}
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from guildhall.notification.v1 import events_pb2 as nev
from guildhall_kit.mongo import Document, IndexSpec
from guildhall_kit.outbox import Outbox
from guildhall_notification.adapters import convert
from guildhall_notification.application.routing import Policy, RoutedEntry
from guildhall_notification.domain.model import Reason
from guildhall_notification.domain.routing import Chain, ChainState

ROUTINGS = "routings"
ROUTED = "routed"
POLICIES = "routing_policies"


def indexes() -> list[IndexSpec]:
    return [
        IndexSpec(ROUTINGS, [("state", 1), ("due_at", 1)], "due"),
        IndexSpec(ROUTED, [("question_id", 1), ("person_id", 1)], "by_question", unique=True),
        IndexSpec(ROUTED, [("person_id", 1), ("_id", -1)], "by_person"),
        IndexSpec(ROUTED, [("person_id", 1), ("state", 1)], "load"),
    ]


def _chain(d: Document) -> Chain:
    return Chain(
        question_id=str(d["_id"]),
        space_id=str(d["space_id"]),
        community_id=str(d.get("community_id") or ""),
        title=str(d.get("title") or ""),
        tags=tuple(d.get("tags") or ()),
        asker_id=str(d.get("asker_id") or ""),
        step=int(d["step"]),
        due_at=d["due_at"],
        state=ChainState(d["state"]),
        asked=tuple(d.get("asked") or ()),
    )


def _entry(d: Document) -> RoutedEntry:
    return RoutedEntry(
        entry_id=str(d["_id"]),
        question_id=str(d["question_id"]),
        person_id=str(d["person_id"]),
        space_id=str(d["space_id"]),
        title=str(d.get("title") or ""),
        tags=tuple(d.get("tags") or ()),
        step=int(d.get("step") or 0),
        reason=Reason(d.get("reason") or Reason.EXPERTISE),
        state=ChainState(d["state"]),
        routed_at=d["routed_at"],
    )


class RoutingRepository:
    def __init__(
        self,
        db: AsyncDatabase[Document],
        *,
        writer: AsyncDatabase[Document],
        outbox: Outbox,
        hint: Callable[[str, Any], None],
        wake: Callable[[], None] | None = None,
    ) -> None:
        self._db = db
        self._w = writer
        self._outbox = outbox
        self._hint = hint
        self._wake = wake

    async def create(self, chain: Chain) -> bool:
        try:
            await self._w[ROUTINGS].insert_one(
                {
                    "_id": chain.question_id,
                    "space_id": chain.space_id,
                    "community_id": chain.community_id,
                    "title": chain.title,
                    "tags": list(chain.tags),
                    "asker_id": chain.asker_id,
                    "step": chain.step,
                    "due_at": chain.due_at,
                    "state": chain.state.value,
                    "asked": list(chain.asked),
                }
            )
        except DuplicateKeyError:
            return False
        return True

    async def get(self, question_id: str) -> Chain | None:
        found = await self._db[ROUTINGS].find_one({"_id": question_id})
        return _chain(found) if found else None

    async def due(self, now: datetime, limit: int) -> list[Chain]:
        found = (
            await self._db[ROUTINGS]
            .find({"state": ChainState.OPEN.value, "due_at": {"$lte": now}})
            .sort("due_at", 1)
            .limit(limit)
            .to_list(limit)
        )
        return [_chain(d) for d in found]

    async def record_step(self, question_id: str, step: int, asked: Sequence[str]) -> None:
        if asked:
            await self._w[ROUTINGS].update_one(
                {"_id": question_id, "step": step}, {"$addToSet": {"asked": {"$each": list(asked)}}}
            )

    async def advance(
        self, chain: Chain, *, to_step: int, due_at: datetime, asked: Sequence[str], at: datetime
    ) -> bool:
        """Move the chain from its step to ``to_step`` if nobody did (and no answer came);
        the same write carries QuestionEscalated."""
        message = nev.QuestionEscalated(
            question_id=chain.question_id,
            space_id=chain.space_id,
            tags=list(chain.tags),
            level=to_step,
            notified_person_ids=list(asked),
        )
        stamp = convert.ts(at)
        if stamp is not None:
            message.escalated_at.CopyFrom(stamp)
        event = self._outbox.event(message, key=chain.question_id, time=at)
        update = self._outbox.update(
            {
                "$set": {"step": to_step, "due_at": due_at},
                "$push": {"asked": {"$each": list(asked)}},
            },
            event,
        )
        result = await self._w[ROUTINGS].update_one(
            {"_id": chain.question_id, "step": chain.step, "state": ChainState.OPEN.value}, update
        )
        if result.modified_count:
            self._hint(ROUTINGS, chain.question_id)
            # Escalations are rare and the collection small: a scan as well, so an event
            # is published even if the hinted read came before the write was visible.
            if self._wake is not None:
                self._wake()
            return True
        return False

    async def finish(self, question_id: str, state: ChainState, *, from_open: bool) -> bool:
        query: dict[str, Any] = {"_id": question_id}
        if from_open:
            query["state"] = ChainState.OPEN.value
        result = await self._w[ROUTINGS].update_one(query, {"$set": {"state": state.value}})
        return bool(result.modified_count)

    async def add_routed(self, entries: Sequence[RoutedEntry]) -> None:
        documents = [
            {
                "_id": e.entry_id,
                "question_id": e.question_id,
                "person_id": e.person_id,
                "space_id": e.space_id,
                "title": e.title,
                "tags": list(e.tags),
                "step": e.step,
                "reason": e.reason.value,
                "state": e.state.value,
                "routed_at": e.routed_at,
            }
            for e in entries
        ]
        try:
            await self._w[ROUTED].insert_many(documents, ordered=False)
        except BulkWriteError as exc:
            if any(int(e.get("code", 0)) != 11000 for e in exc.details.get("writeErrors", [])):
                raise

    async def close_routed(self, question_id: str, state: ChainState) -> None:
        await self._w[ROUTED].update_many(
            {"question_id": question_id, "state": ChainState.OPEN.value},
            {"$set": {"state": state.value}},
        )

    async def open_load(self, person_ids: Sequence[str]) -> dict[str, int]:
        load: dict[str, int] = {}
        if not person_ids:
            return load
        async for d in self._db[ROUTED].find(
            {"person_id": {"$in": list(person_ids)}, "state": ChainState.OPEN.value},
            projection={"person_id": 1},
        ):
            person = str(d["person_id"])
            load[person] = load.get(person, 0) + 1
        return load

    async def routed_page(
        self, person_id: str, *, state: ChainState | None, before: str | None, limit: int
    ) -> list[RoutedEntry]:
        query: dict[str, Any] = {"person_id": person_id}
        if state is not None:
            query["state"] = state.value
        if before is not None:
            query["_id"] = {"$lt": before}
        found = await self._db[ROUTED].find(query).sort("_id", -1).limit(limit).to_list(limit)
        return [_entry(d) for d in found]

    async def policy(self, space_id: str) -> Policy | None:
        found = await self._db[POLICIES].find_one({"_id": space_id})
        if found is None:
            return None
        return Policy(
            space_id,
            timedelta(seconds=float(found["sla_seconds"])),
            str(found.get("updated_by") or ""),
            found.get("updated_at"),
        )

    async def put_policy(self, policy: Policy) -> None:
        await self._w[POLICIES].update_one(
            {"_id": policy.space_id},
            {
                "$set": {
                    "sla_seconds": policy.answer_sla.total_seconds(),
                    "updated_by": policy.updated_by,
                    "updated_at": policy.updated_at,
                }
            },
            upsert=True,
        )
