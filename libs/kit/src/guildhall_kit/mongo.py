"""MongoDB access with PyMongo's native asyncio API.

Each service owns one database and declares its indexes in code as
:class:`IndexSpec` values; :func:`ensure_indexes` creates them at start-up
(idempotently). Only features that both MongoDB 7+ and FerretDB 1.x support are
used: no multi-document transactions, no change streams, no ``$text``.

FerretDB 1.x applies an update by reading the document and writing it back
without isolation: two concurrent updates of one document can lose one
(measured: 200 concurrent ``$inc`` kept 11). MongoDB applies each update
atomically. So every write of a service, its outbox relay's clears included,
goes through a *writer* handle: on MongoDB the service's own database, on
FerretDB a client with a single connection, which FerretDB serves one
operation at a time (see :func:`guildhall_kit.service.start_service`). Other
FerretDB 1.x limits seen: ``$pull`` with a condition removes nothing (use
``$pullAll`` of exact values), ``$elemMatch`` in a filter matches nothing, no
TTL indexes, an index serves only ``_id`` conditions and, on the fields of a
declared index, equality and ``$in`` on strings and ObjectIDs, string ranges
and sorts on string keys (the patched local build, docs/adr/0010 and 0018;
other filters, dates and numbers included, scan), and one ``update`` command of
100 or more updates that match existing documents never returns (each keeps
one of the database's 100 SQLite connections until the command ends; send bulk
updates in batches of 50).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pymongo
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from guildhall_kit.roundtrips import MongoTripListener

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
        event_listeners=[MongoTripListener()],
    )


async def ping(db: AsyncDatabase[Document]) -> None:
    """Round trip to the server; raises a PyMongo error when unreachable."""
    await db.command("ping")


async def ensure_indexes(
    db: AsyncDatabase[Document], specs: Iterable[IndexSpec], *, timeout_s: float = 600.0
) -> None:
    """Create every declared index; existing ones with the same name are left as they are.

    Building an index on a large collection takes far longer than the client's
    socket timeout, so each build runs under its own operation timeout
    (``timeout_s``); an existing index returns at once.
    """
    for spec in specs:
        options: dict[str, Any] = {"name": spec.name, **spec.extra}
        if spec.unique:
            options["unique"] = True
        with pymongo.timeout(timeout_s):
            await db[spec.collection].create_index(list(spec.keys), **options)


async def is_ferretdb(client: AsyncMongoClient[Document]) -> bool:
    """Whether the server is FerretDB (its ``buildInfo`` names its own version)."""
    info = await client.admin.command("buildInfo")
    return "ferretdbVersion" in info


def single_connection_uri(uri: str) -> str:
    """``uri`` with a connection pool of one (``maxPoolSize=1``)."""
    parts = urlsplit(uri)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k.lower() != "maxpoolsize"]
    query.append(("maxPoolSize", "1"))
    return urlunsplit(parts._replace(query=urlencode(query)))
