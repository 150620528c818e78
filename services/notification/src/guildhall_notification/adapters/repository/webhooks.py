"""Webhooks and their delivery log.

- ``webhooks``            {_id: ULID, org_id, url, event_types, description, enabled,
                          disabled_reason, consecutive_failures, created_by, created_at,
                          updated_at, secret_set_at, secret_hint, secrets: [{sealed, set_at}]}
                          (current secret first, then the previous one, sealed by SecretBox)
                          index {org_id, _id desc}
- ``webhook_deliveries``  {_id: ULID, webhook_id, org_id, event_type, source_event_id,
                          space_id, data, occurred_at, check_access, state, attempts,
                          last_status_code, last_error, created_at, last_attempt_at,
                          next_attempt_at}; unique {webhook_id, source_event_id};
                          {webhook_id, _id desc} (the log); {state, next_attempt_at} (due)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from bson import Binary
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from guildhall_kit.mongo import Document, IndexSpec
from guildhall_notification.adapters.secrets import SecretBox
from guildhall_notification.application.webhooks import PENDING, Delivery, Webhook

WEBHOOKS = "webhooks"
DELIVERIES = "webhook_deliveries"


def indexes() -> list[IndexSpec]:
    return [
        IndexSpec(WEBHOOKS, [("org_id", 1), ("_id", -1)], "by_org"),
        IndexSpec(DELIVERIES, [("webhook_id", 1), ("source_event_id", 1)], "by_event", unique=True),
        IndexSpec(DELIVERIES, [("webhook_id", 1), ("_id", -1)], "log"),
        IndexSpec(DELIVERIES, [("state", 1), ("next_attempt_at", 1)], "due"),
    ]


def _webhook(d: Document) -> Webhook:
    return Webhook(
        webhook_id=str(d["_id"]),
        org_id=str(d["org_id"]),
        url=str(d["url"]),
        event_types=tuple(d.get("event_types") or ()),
        description=str(d.get("description") or ""),
        enabled=bool(d.get("enabled")),
        disabled_reason=str(d.get("disabled_reason") or ""),
        consecutive_failures=int(d.get("consecutive_failures") or 0),
        created_by=str(d.get("created_by") or ""),
        created_at=d["created_at"],
        updated_at=d["updated_at"],
        secret_set_at=d["secret_set_at"],
        secret_hint=str(d.get("secret_hint") or ""),
    )


def _delivery(d: Document) -> Delivery:
    return Delivery(
        delivery_id=str(d["_id"]),
        webhook_id=str(d["webhook_id"]),
        org_id=str(d["org_id"]),
        event_type=str(d["event_type"]),
        source_event_id=str(d["source_event_id"]),
        space_id=str(d.get("space_id") or ""),
        data=dict(d.get("data") or {}),
        occurred_at=d["occurred_at"],
        check_access=bool(d.get("check_access", True)),
        state=str(d["state"]),
        attempts=int(d.get("attempts") or 0),
        last_status_code=int(d.get("last_status_code") or 0),
        last_error=str(d.get("last_error") or ""),
        created_at=d["created_at"],
        last_attempt_at=d.get("last_attempt_at"),
        next_attempt_at=d.get("next_attempt_at"),
    )


class WebhookRepository:
    def __init__(
        self, db: AsyncDatabase[Document], *, writer: AsyncDatabase[Document], box: SecretBox
    ) -> None:
        self._db = db
        self._w = writer
        self._box = box

    async def insert(self, webhook: Webhook, secret: str) -> None:
        await self._w[WEBHOOKS].insert_one(
            {
                "_id": webhook.webhook_id,
                "org_id": webhook.org_id,
                "url": webhook.url,
                "event_types": list(webhook.event_types),
                "description": webhook.description,
                "enabled": webhook.enabled,
                "disabled_reason": webhook.disabled_reason,
                "consecutive_failures": 0,
                "created_by": webhook.created_by,
                "created_at": webhook.created_at,
                "updated_at": webhook.updated_at,
                "secret_set_at": webhook.secret_set_at,
                "secret_hint": webhook.secret_hint,
                "secrets": [
                    {
                        "sealed": Binary(self._box.seal(secret, webhook.webhook_id)),
                        "set_at": webhook.secret_set_at,
                    }
                ],
            }
        )

    async def get(self, org_id: str, webhook_id: str) -> Webhook | None:
        found = await self._db[WEBHOOKS].find_one({"_id": webhook_id, "org_id": org_id})
        return _webhook(found) if found else None

    async def by_id(self, webhook_id: str) -> Webhook | None:
        found = await self._db[WEBHOOKS].find_one({"_id": webhook_id})
        return _webhook(found) if found else None

    async def page(self, org_id: str, *, before: str | None, limit: int) -> list[Webhook]:
        query: dict[str, Any] = {"org_id": org_id}
        if before is not None:
            query["_id"] = {"$lt": before}
        found = await self._db[WEBHOOKS].find(query).sort("_id", -1).limit(limit).to_list(limit)
        return [_webhook(d) for d in found]

    async def secrets(self, webhook_id: str, now: datetime, grace: timedelta) -> list[str]:
        """The secrets that sign now: the current one, and the previous one within its grace."""
        found = await self._db[WEBHOOKS].find_one({"_id": webhook_id}, projection={"secrets": 1})
        stored = list((found or {}).get("secrets") or ())
        out: list[str] = []
        for position, entry in enumerate(stored[:2]):
            if position == 1 and now - stored[0]["set_at"] > grace:
                break
            out.append(self._box.open(bytes(entry["sealed"]), webhook_id))
        return out

    async def rotate(self, webhook_id: str, secret: str, at: datetime) -> None:
        found = await self._db[WEBHOOKS].find_one({"_id": webhook_id}, projection={"secrets": 1})
        previous = list((found or {}).get("secrets") or ())[:1]
        entry = {"sealed": Binary(self._box.seal(secret, webhook_id)), "set_at": at}
        await self._w[WEBHOOKS].update_one(
            {"_id": webhook_id},
            {
                "$set": {
                    "secrets": [entry, *previous],
                    "secret_set_at": at,
                    "secret_hint": secret[-4:],
                    "updated_at": at,
                }
            },
        )

    async def set_enabled(
        self, webhook_id: str, enabled: bool, reason: str, at: datetime, *, only_if_enabled: bool
    ) -> bool:
        query: dict[str, Any] = {"_id": webhook_id}
        if only_if_enabled:
            query["enabled"] = True
        fields: dict[str, Any] = {"enabled": enabled, "disabled_reason": reason, "updated_at": at}
        if enabled:
            fields["consecutive_failures"] = 0
        result = await self._w[WEBHOOKS].update_one(query, {"$set": fields})
        return bool(result.modified_count)

    async def delete(self, webhook_id: str) -> None:
        await self._w[WEBHOOKS].delete_one({"_id": webhook_id})

    async def subscribed(self, org_ids: Sequence[str], event_type: str) -> list[Webhook]:
        found = (
            await self._db[WEBHOOKS]
            .find({"org_id": {"$in": list(org_ids)}, "enabled": True})
            .to_list(None)
        )
        return [w for w in map(_webhook, found) if event_type in w.event_types]

    async def record_result(self, webhook_id: str, ok: bool) -> int:
        """Count a failure (or reset the count on success); the count after.

        Two writes-and-read rather than findAndModify with a projection, which FerretDB
        1.x does not implement; the count only decides when to disable, and the
        disabling write is itself a compare-and-set."""
        update: dict[str, Any] = (
            {"$set": {"consecutive_failures": 0}} if ok else {"$inc": {"consecutive_failures": 1}}
        )
        await self._w[WEBHOOKS].update_one({"_id": webhook_id}, update)
        found = await self._w[WEBHOOKS].find_one(
            {"_id": webhook_id}, projection={"consecutive_failures": 1}
        )
        return int((found or {}).get("consecutive_failures") or 0)

    # -------------------------------------------------------------- deliveries

    async def queue(self, deliveries: Sequence[Delivery]) -> None:
        documents = [
            {
                "_id": d.delivery_id,
                "webhook_id": d.webhook_id,
                "org_id": d.org_id,
                "event_type": d.event_type,
                "source_event_id": d.source_event_id,
                "space_id": d.space_id,
                "data": dict(d.data),
                "occurred_at": d.occurred_at,
                "check_access": d.check_access,
                "state": d.state,
                "attempts": d.attempts,
                "last_status_code": d.last_status_code,
                "last_error": d.last_error,
                "created_at": d.created_at,
                "last_attempt_at": d.last_attempt_at,
                "next_attempt_at": d.next_attempt_at,
            }
            for d in deliveries
        ]
        try:
            await self._w[DELIVERIES].insert_many(documents, ordered=False)
        except BulkWriteError as exc:
            if any(int(e.get("code", 0)) != 11000 for e in exc.details.get("writeErrors", [])):
                raise

    async def due(self, now: datetime, limit: int) -> list[Delivery]:
        found = (
            await self._db[DELIVERIES]
            .find({"state": PENDING, "next_attempt_at": {"$lte": now}})
            .sort("next_attempt_at", 1)
            .limit(limit)
            .to_list(limit)
        )
        return [_delivery(d) for d in found]

    async def claim(self, delivery: Delivery, until: datetime) -> bool:
        result = await self._w[DELIVERIES].update_one(
            {
                "_id": delivery.delivery_id,
                "state": PENDING,
                "next_attempt_at": delivery.next_attempt_at,
            },
            {"$set": {"next_attempt_at": until}},
        )
        return bool(result.modified_count)

    async def finish_attempt(self, delivery: Delivery) -> None:
        """Record an attempt's outcome. A retry ("pending") is recorded only if nothing
        cancelled the delivery meanwhile (its webhook disabled while it was in flight)."""
        query: dict[str, Any] = {"_id": delivery.delivery_id}
        if delivery.state == PENDING:
            query["state"] = PENDING
        await self._w[DELIVERIES].update_one(
            query,
            {
                "$set": {
                    "state": delivery.state,
                    "attempts": delivery.attempts,
                    "last_status_code": delivery.last_status_code,
                    "last_error": delivery.last_error,
                    "last_attempt_at": delivery.last_attempt_at,
                    "next_attempt_at": delivery.next_attempt_at,
                }
            },
        )

    async def cancel_pending(self, webhook_id: str) -> None:
        await self._w[DELIVERIES].update_many(
            {"webhook_id": webhook_id, "state": PENDING},
            {"$set": {"state": "cancelled", "next_attempt_at": None}},
        )

    async def delete_deliveries(self, webhook_id: str) -> None:
        await self._w[DELIVERIES].delete_many({"webhook_id": webhook_id})

    async def deliveries(
        self, webhook_id: str, *, before: str | None, limit: int
    ) -> list[Delivery]:
        query: dict[str, Any] = {"webhook_id": webhook_id}
        if before is not None:
            query["_id"] = {"$lt": before}
        found = await self._db[DELIVERIES].find(query).sort("_id", -1).limit(limit).to_list(limit)
        return [_delivery(d) for d in found]
