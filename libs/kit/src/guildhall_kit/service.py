"""The one way a Guildhall service process boots.

``python -m guildhall_<name>`` calls :func:`main` with the service's settings
class and its ``build`` function. In order:

1. settings are loaded; a missing or invalid variable exits with status 2 and
   a message naming it, before anything else happens;
2. logging and telemetry are configured;
3. the Mongo client is created and the service's declared indexes are ensured;
4. ``build`` wires the domain to its adapters and returns :class:`ServiceParts`;
5. the gRPC server starts; readiness turns SERVING once MongoDB (and anything
   ``build`` added) answers; SIGTERM drains and stops.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import grpc
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from guildhall_kit.grpc.server import Background, GrpcApp, ReadinessCheck
from guildhall_kit.logging import configure_logging, get_logger
from guildhall_kit.mongo import Document, IndexSpec, ensure_indexes, make_client, ping
from guildhall_kit.settings import ConfigError, ServiceSettings, load_settings
from guildhall_kit.telemetry import setup_telemetry

S = TypeVar("S", bound=ServiceSettings)

_log = get_logger(__name__)


@dataclass
class ServiceContext(Generic[S]):
    """What ``build`` receives: settings and the service's own database."""

    settings: S
    mongo: AsyncMongoClient[Document]
    db: AsyncDatabase[Document]


@dataclass
class ServiceParts:
    """What ``build`` returns: how to register servicers, and what runs beside them."""

    register: Callable[[grpc.aio.Server], Sequence[str]]
    indexes: Sequence[IndexSpec] = ()
    readiness: Sequence[ReadinessCheck] = ()
    background: Sequence[Background] = ()
    on_stop: Sequence[Callable[[], Awaitable[None]]] = field(default_factory=list)


Build = Callable[[ServiceContext[S]], Awaitable[ServiceParts]]


async def start_service(settings: S, build: Build[S]) -> tuple[GrpcApp, ServiceParts]:
    """Connect, ensure indexes, build and start; returns the running app (tests use this)."""
    mongo: AsyncMongoClient[Document] = make_client(
        settings.mongo_uri, app_name=f"guildhall-{settings.service_name}"
    )
    db = mongo[settings.database_name]
    ctx = ServiceContext(settings=settings, mongo=mongo, db=db)
    parts = await build(ctx)
    await ensure_indexes(db, parts.indexes)

    async def mongo_ready() -> None:
        await ping(db)

    async def close_mongo() -> None:
        await mongo.close()

    parts.on_stop = [*parts.on_stop, close_mongo]
    app = GrpcApp(
        settings,
        register=parts.register,
        readiness=[mongo_ready, *parts.readiness],
        background=parts.background,
    )
    await app.start()
    return app, parts


async def stop_service(app: GrpcApp, parts: ServiceParts, drain_s: float | None = None) -> None:
    """Drain the server, stop background tasks, then run the ``on_stop`` hooks."""
    await app.stop(drain_s)
    for hook in parts.on_stop:
        try:
            await hook()
        except Exception:  # noqa: BLE001 - shutdown continues past a failing hook
            _log.exception("stop hook failed")


async def _serve(settings: S, build: Build[S]) -> None:
    app, parts = await start_service(settings, build)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    _log.info("signal received; draining")
    await stop_service(app, parts)


def main(settings_cls: type[S], build: Build[S]) -> None:
    """Process entry point of a service. Exits 2 on a configuration error."""
    try:
        settings = load_settings(settings_cls)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        sys.exit(2)
    configure_logging(settings.service_name, settings.log_level)
    telemetry = setup_telemetry(settings.service_name, settings.otlp_endpoint)
    try:
        asyncio.run(_serve(settings, build))
    finally:
        telemetry.shutdown()
