"""MongoDB storage of OAuth clients, in the gateway's own database.

One document per client in ``oauth_clients``, ``_id`` the client id; reads are
by ``_id`` (every authenticated request of a partner system and every token
request) or by org (the admin's list, bounded by the per-org limit plus the
revoked ones, newest first). Writes go through the writer handle
(guildhall_kit.mongo) and change one document each; rotation is a
compare-and-set on ``generation``, so two concurrent rotations cannot both
hand out a secret that works.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from guildhall_gateway.auth.clients import OAuthClient
from guildhall_kit.clock import aware
from guildhall_kit.mongo import Document, IndexSpec

COLLECTION = "oauth_clients"
LIST_LIMIT = 200
"""Clients listed per org at most (active ones are capped far lower by the settings)."""


def indexes() -> Sequence[IndexSpec]:
    """The collection's declared indexes: clients of an org, newest first."""
    return [IndexSpec(COLLECTION, [("org_id", 1), ("_id", -1)], name="org_clients")]


def to_document(client: OAuthClient) -> Document:
    return {
        "_id": client.client_id,
        "org_id": client.org_id,
        "name": client.name,
        "scopes": list(client.scopes),
        "secret_hash": client.secret_hash,
        "generation": client.generation,
        "created_by": client.created_by,
        "created_at": client.created_at,
        "rotated_at": client.rotated_at,
        "revoked_at": client.revoked_at,
        "revoked_by": client.revoked_by,
    }


def from_document(doc: Document) -> OAuthClient:
    created = aware(doc["created_at"])
    assert created is not None  # written by to_document, never null
    return OAuthClient(
        client_id=str(doc["_id"]),
        org_id=str(doc["org_id"]),
        name=str(doc["name"]),
        scopes=tuple(doc["scopes"]),
        secret_hash=str(doc["secret_hash"]),
        generation=int(doc["generation"]),
        created_by=str(doc["created_by"]),
        created_at=created,
        rotated_at=aware(doc.get("rotated_at")),
        revoked_at=aware(doc.get("revoked_at")),
        revoked_by=doc.get("revoked_by"),
    )


class ClientStore:
    """The ``oauth_clients`` collection."""

    def __init__(self, db: AsyncDatabase[Document], writer: AsyncDatabase[Document]) -> None:
        self._read = db[COLLECTION]
        self._write = writer[COLLECTION]

    async def insert(self, client: OAuthClient) -> None:
        """Store a new client (its id is fresh, so it never collides)."""
        await self._write.insert_one(to_document(client))

    async def get(self, client_id: str) -> OAuthClient | None:
        """The client with ``client_id``, revoked or not; None if there is none."""
        doc = await self._read.find_one({"_id": client_id})
        return from_document(doc) if doc is not None else None

    async def list_for_org(self, org_id: str) -> list[OAuthClient]:
        """The org's clients, newest first (at most :data:`LIST_LIMIT`)."""
        cursor = self._read.find({"org_id": org_id}).sort("_id", -1).limit(LIST_LIMIT)
        return [from_document(doc) async for doc in cursor]

    async def count_active(self, org_id: str) -> int:
        """How many of the org's clients are not revoked."""
        return await self._read.count_documents({"org_id": org_id, "revoked_at": None})

    async def rotate(
        self, client_id: str, *, generation: int, secret_hash: str, at: datetime
    ) -> OAuthClient | None:
        """Replace the secret if the client is active and still at ``generation``.

        Returns the updated client, or None when it was revoked or rotated meanwhile.
        """
        doc = await self._write.find_one_and_update(
            {"_id": client_id, "generation": generation, "revoked_at": None},
            {
                "$set": {"secret_hash": secret_hash, "rotated_at": at},
                "$inc": {"generation": 1},
            },
            return_document=ReturnDocument.AFTER,
        )
        return from_document(doc) if doc is not None else None

    async def revoke(self, client_id: str, *, by: str, at: datetime) -> OAuthClient | None:
        """Mark the client revoked (kept for the audit); revoking twice keeps the first.

        Returns the client as stored afterwards, or None if there is no such client.
        """
        update: dict[str, Any] = {"$set": {"revoked_at": at, "revoked_by": by}}
        await self._write.update_one({"_id": client_id, "revoked_at": None}, update)
        return await self.get(client_id)
