"""MongoDB access with PyMongo's native asyncio API.

Each service owns one database and declares its indexes in code as
:class:`IndexSpec` values; :func:`ensure_indexes` creates them at start-up
(idempotently). Only features that both MongoDB 7+ and FerretDB 1.x support are
used: no multi-document transactions, no change streams, no ``$text``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

Document = dict[str, Any]


@dataclass(frozen=True, slots=True)
class IndexSpec:
    """One index on one collection.

    ``keys`` is a sequence of ``(field, direction)`` pairs (1 or -1).
    """

    collection: str
    keys: Sequence[tuple[str, int]]
    name: str
    unique: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)


def make_client(uri: str, *, app_name: str, timeout_ms: int = 5000) -> AsyncMongoClient[Document]:
    """A client with bounded server selection and socket timeouts.

    Does not connect: the first operation does. ``timeout_ms`` bounds server
    selection, connect and each socket operation so no call blocks forever.
    """
    return AsyncMongoClient(
        uri,
        appname=app_name,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        socketTimeoutMS=max(timeout_ms, 10_000),
        tz_aware=True,
        retryWrites=False,  # FerretDB 1.x does not implement retryable writes
    )


async def ping(db: AsyncDatabase[Document]) -> None:
    """Round trip to the server; raises a PyMongo error when unreachable."""
    await db.command("ping")


async def ensure_indexes(db: AsyncDatabase[Document], specs: Iterable[IndexSpec]) -> None:
    """Create every declared index; existing ones with the same name are left as they are."""
    for spec in specs:
        options: dict[str, Any] = {"name": spec.name, **spec.extra}
        if spec.unique:
            options["unique"] = True
        await db[spec.collection].create_index(list(spec.keys), **options)
