"""Round trips per request: database commands, cache calls and outgoing RPCs.

A request's cost on a busy platform is mostly the round trips it makes, so every
request counts them. :func:`request_scope` opens a tally for the running task (the
gRPC interceptor and the gateway's middleware open one per request); the adapters
count into it:

- ``db``: every command the MongoDB driver sends (a PyMongo command listener,
  :class:`MongoTripListener`, installed by :func:`guildhall_kit.mongo.make_client`);
- ``cache``: every Redis command or pipeline (:mod:`guildhall_kit.cache`);
- ``rpc``: every outgoing unary gRPC call, made through :func:`unary` (a client
  interceptor would do the same, but grpc.aio runs every intercepted call as an extra
  task, a cost the hot paths should not pay).

A served RPC reports its tally in the trailing metadata ``guildhall-trips``
(``db=2,cache=1,rpc=0``) when :data:`EXPOSE` is on, and the calling side adds the
callee's tally to its own, so the gateway's ``Guildhall-Trips`` response header
tells the whole tree of one HTTP request. The header is for benchmarks and local
diagnosis (``GUILDHALL_EXPOSE_TRIPS=1``), off by default: it tells a client
nothing it may act on. Every tally is also recorded as a histogram,
``guildhall.request.trips`` by kind and operation, whatever the setting.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Final

from opentelemetry import metrics
from pymongo import monitoring

KINDS: Final = ("db", "cache", "rpc")
TRAILER: Final = "guildhall-trips"
HEADER: Final = "guildhall-trips"

EXPOSE: bool = os.environ.get("GUILDHALL_EXPOSE_TRIPS", "").strip().lower() in ("1", "true", "yes")
"""Whether tallies travel in trailing metadata and response headers (see module docstring)."""

_meter = metrics.get_meter("guildhall_kit.roundtrips")
_trips = _meter.create_histogram(
    "guildhall.request.trips",
    unit="{trip}",
    description="Round trips one request made (its own, not its callees'), by kind and operation",
)


@dataclass(slots=True)
class Tally:
    """Round trips of one request: its own and, added from trailers, its callees'."""

    db: int = 0
    cache: int = 0
    rpc: int = 0
    operation: str = ""

    def add(self, kind: str, n: int = 1) -> None:
        if kind == "db":
            self.db += n
        elif kind == "cache":
            self.cache += n
        elif kind == "rpc":
            self.rpc += n

    def encode(self) -> str:
        return f"db={self.db},cache={self.cache},rpc={self.rpc}"

    def merge(self, encoded: str) -> None:
        """Add a callee's tally as :meth:`encode` wrote it; anything malformed is ignored."""
        for part in encoded.split(","):
            kind, _, value = part.partition("=")
            if kind in KINDS and value.isdigit() and len(value) < 7:
                self.add(kind, int(value))

    @classmethod
    def decode(cls, encoded: str) -> Tally:
        tally = cls()
        tally.merge(encoded)
        return tally


_current: ContextVar[Tally | None] = ContextVar("guildhall_trips", default=None)


def count(kind: str, n: int = 1) -> None:
    """Count ``n`` round trips of ``kind`` against the running request, if any."""
    tally = _current.get()
    if tally is not None:
        tally.add(kind, n)


def current() -> Tally | None:
    """The running request's tally (None outside a request)."""
    return _current.get()


@contextmanager
def request_scope(operation: str) -> Iterator[Tally]:
    """A fresh tally for the request running in this task; recorded when it ends
    (under ``tally.operation``, which the caller may refine meanwhile)."""
    tally = Tally(operation=operation)
    token = _current.set(tally)
    try:
        yield tally
    finally:
        _current.reset(token)
        for kind in KINDS:
            _trips.record(getattr(tally, kind), {"kind": kind, "operation": tally.operation})


def headers() -> list[tuple[bytes, bytes]]:
    """The HTTP response header carrying the running request's tally, when exposed."""
    tally = _current.get()
    if not EXPOSE or tally is None:
        return []
    return [(HEADER.encode(), tally.encode().encode())]


def merge_trailer(metadata: Sequence[tuple[str, str | bytes]] | None) -> None:
    """Add the callee's tally found in its trailing metadata to the running request's."""
    tally = _current.get()
    if tally is None or not metadata:
        return
    for key, value in metadata:
        if key == TRAILER:
            tally.merge(value if isinstance(value, str) else value.decode("ascii", "replace"))


async def unary(call: Any) -> Any:
    """Await a unary gRPC call (a ``grpc.aio.UnaryUnaryCall``) as one RPC round trip,
    adding the callee's tally to the running request's."""
    count("rpc")
    reply = await call
    if EXPOSE and _current.get() is not None:
        merge_trailer(await call.trailing_metadata())
    return reply


class MongoTripListener(monitoring.CommandListener):
    """Counts each command the driver sends as one database round trip.

    PyMongo calls listeners inline in the task that runs the operation, so the
    count lands in that request's tally.
    """

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        count("db")

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        return None

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        return None
