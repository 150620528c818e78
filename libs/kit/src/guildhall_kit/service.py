"""The one way a Guildhall service process boots.

``python -m guildhall_<name>`` calls :func:`main` with the service's settings
class and its ``build`` function. In order:

1. settings are loaded; a missing or invalid variable exits with status 2 and
   a message naming it, before anything else happens;
2. logging and telemetry are configured;
3. the Mongo client, the topic registry and the (not yet started) producer
   are created and handed to ``build``, which wires the domain to its adapters
   and returns :class:`ServiceParts`;
4. the declared indexes are ensured and the gRPC server starts, reporting
   NOT_SERVING;
5. in the background the Kafka side comes up (topics ensured, producer
   started, retried until the broker answers), then the outbox relay and the
   consumers start; readiness turns SERVING once MongoDB answers and, for a
   service with consumers, the Kafka side is up (a service that only writes
   through its outbox does not wait for Kafka). Liveness never waits for either;
6. SIGTERM drains and stops: server first, then consumers, relay, producer
   and the Mongo client.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import grpc
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from guildhall_kit.bus import (
    BusConfig,
    Consumer,
    Handler,
    ProcessedEvents,
    Producer,
    Registry,
    RetryPolicy,
    ensure_dlq_topics,
    ensure_topics,
    load_registry,
    source_for,
)
from guildhall_kit.grpc.server import Background, GrpcApp, ReadinessCheck
from guildhall_kit.logging import configure_logging, get_logger
from guildhall_kit.mongo import (
    Document,
    IndexSpec,
    ensure_indexes,
    is_ferretdb,
    make_client,
    ping,
    single_connection_uri,
)
from guildhall_kit.outbox import Outbox, OutboxRelay, outbox_indexes, watch_backlog
from guildhall_kit.settings import ConfigError, ServiceSettings, load_settings
from guildhall_kit.telemetry import setup_telemetry

S = TypeVar("S", bound=ServiceSettings)

_log = get_logger(__name__)

PROCESSED_COLLECTION = "processed_events"


@dataclass(frozen=True)
class ConsumerSpec:
    """One consumer group of this service: which topics, which handler.

    The group name is logical (the topic prefix is added). Events the group
    finished are recorded in ``processed_events`` so a redelivered event is not
    handled twice; handlers should still make their effect idempotent by event
    id (``apply_once``), because a crash between effect and record redelivers.
    """

    group: str
    topics: Sequence[str]
    handler: Handler
    retry: RetryPolicy | None = None
    dedupe: bool = True
    """False for a handler whose effect is naturally idempotent (it re-reads the truth):
    its events are then not recorded, which saves a database write per event."""


class ServiceContext(Generic[S]):
    """What ``build`` receives: settings, the service's own database, and the bus."""

    def __init__(
        self,
        settings: S,
        mongo: AsyncMongoClient[Document],
        registry: Registry,
        bus: BusConfig,
        producer: Producer,
        *,
        writer: AsyncMongoClient[Document] | None = None,
    ) -> None:
        self.settings = settings
        self.mongo = mongo
        self.db: AsyncDatabase[Document] = mongo[settings.database_name]
        self.writer_client = writer
        self.writer_db: AsyncDatabase[Document] = (
            writer[settings.database_name] if writer is not None else self.db
        )
        """The handle every write goes through (the relay's clears too): ``db`` on
        MongoDB, a single-connection client on FerretDB 1.x (see guildhall_kit.mongo)."""
        self.registry = registry
        self.bus = bus
        self.producer = producer
        self.relay: OutboxRelay | None = None
        self._readiness: Callable[[], bool] = lambda: False

    @property
    def own_topic(self) -> str:
        """The service's own topic, ``guildhall.<service>.v1`` (logical name)."""
        return f"guildhall.{self.settings.service_name}.v1"

    def outbox(self, topic: str | None = None) -> Outbox:
        """An outbox writer for ``topic`` (default: the service's own topic)."""
        return Outbox(
            self.registry,
            topic=topic or self.own_topic,
            source=source_for(self.settings.service_name),
        )

    def is_ready(self) -> bool:
        """Whether the service currently reports SERVING (False until it has started)."""
        return self._readiness()

    def wake_relay(self) -> None:
        """Ask the outbox relay for a full scan now."""
        if self.relay is not None:
            self.relay.wake()

    def hint_relay(self, collection: str, document_id: object) -> None:
        """That document just got outbox events: publish them now (call after the write).

        Before the Kafka side is up this does nothing; the relay's first scan
        publishes what was written meanwhile.
        """
        if self.relay is not None:
            self.relay.hint(collection, document_id)


@dataclass
class ServiceParts:
    """What ``build`` returns: servicers, indexes, and what runs beside them."""

    register: Callable[[grpc.aio.Server], Sequence[str]]
    indexes: Sequence[IndexSpec] = ()
    outbox_collections: Sequence[str] = ()
    """Collections whose documents carry outbox entries; a relay publishes them."""
    consumers: Sequence[ConsumerSpec] = ()
    readiness: Sequence[ReadinessCheck] = ()
    background: Sequence[Background] = ()
    on_stop: Sequence[Callable[[], Awaitable[None]]] = field(default_factory=list)


Build = Callable[[ServiceContext[S]], Awaitable[ServiceParts]]


_BUS_SETTLE_SECONDS = 3.0
"""On stop, how long to let a Kafka bring-up in progress finish before cancelling it."""


class RunningService(Generic[S]):
    """A started service: its gRPC app plus the Kafka side (tests drive this directly)."""

    def __init__(self, ctx: ServiceContext[S], parts: ServiceParts) -> None:
        self.ctx = ctx
        self.parts = parts
        self.consumers: list[Consumer] = []
        self.bus_ready = asyncio.Event()
        self.app = GrpcApp(
            ctx.settings,
            register=parts.register,
            # Per role (docs/operations.md, "Readiness"): a service with consumers is
            # ready once its Kafka side came up (topics checked, groups joined); one
            # that only writes through its outbox is ready on MongoDB alone, since
            # the outbox holds its events until Kafka takes them.
            readiness=[
                self._mongo_ready,
                *([self._bus_ready] if parts.consumers else []),
                *parts.readiness,
            ],
            background=parts.background,
        )
        self._bus_task: asyncio.Task[None] | None = None
        self._backlog_task: asyncio.Task[None] | None = None
        ctx._readiness = lambda: self.app.ready

    @property
    def port(self) -> int:
        return self.app.port

    async def _mongo_ready(self) -> None:
        await ping(self.ctx.db)

    async def _bus_ready(self) -> None:
        if not self.bus_ready.is_set():
            raise RuntimeError("kafka side not up yet")

    async def _bring_up_bus(self) -> None:
        """Ensure topics and start the producer (retrying), then run relay and consumers."""
        ctx, parts = self.ctx, self.parts
        delay = 0.5
        while True:
            try:
                await ensure_topics(ctx.bus, ctx.registry)
                for spec in parts.consumers:
                    await ensure_dlq_topics(ctx.bus, spec.topics, spec.group)
                await ctx.producer.start()
                break
            except Exception as exc:  # noqa: BLE001 - any failure: Kafka not ready; retry
                _log.warning("kafka not ready; retrying", error=repr(exc), retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
        loops: list[Awaitable[None]] = []
        if parts.outbox_collections:
            relay = OutboxRelay(
                ctx.writer_db,
                parts.outbox_collections,
                ctx.producer,
                poll_seconds=ctx.settings.outbox_poll_seconds,
                reader=ctx.db,
            )
            ctx.relay = relay
            loops.append(_keep_running("outbox-relay", relay.run))
            self._backlog_task = asyncio.create_task(
                watch_backlog(ctx.db, list(parts.outbox_collections)), name="outbox-backlog"
            )
        for spec in parts.consumers:
            consumer = Consumer(
                ctx.bus,
                group=spec.group,
                topics=spec.topics,
                handler=spec.handler,
                registry=ctx.registry,
                retry=spec.retry,
                processed=(
                    ProcessedEvents(ctx.db[PROCESSED_COLLECTION], group=spec.group)
                    if spec.dedupe
                    else None
                ),
                dead_letter_producer=ctx.producer,
            )
            self.consumers.append(consumer)
            loops.append(_keep_running(f"consumer {spec.group}", consumer.run))
        self.bus_ready.set()
        _log.info(
            "kafka side up",
            relay=bool(parts.outbox_collections),
            consumers=[c.group for c in self.consumers],
        )
        await asyncio.gather(*loops)

    async def wait_consumers_assigned(self, within: float = 30.0) -> None:
        """Block until the bus is up and every consumer has its partitions (tests)."""
        async with asyncio.timeout(within):
            await self.bus_ready.wait()
        for consumer in self.consumers:
            await consumer.wait_assigned(within)

    async def start(self) -> None:
        """Start serving; the Kafka side comes up in the background."""
        await self.app.start()
        self._bus_task = asyncio.create_task(self._bring_up_bus(), name="kafka-side")

    async def stop(self, drain_s: float | None = None) -> None:
        """Drain the server, then stop consumers and relay (waiting for them to commit,
        publish and leave their groups), flush the producer, close Mongo. Blocks up to
        about twice ``drain_s``."""
        drain = self.ctx.settings.drain_seconds if drain_s is None else drain_s
        await self.app.stop(drain)
        if self._bus_task is not None and not self.bus_ready.is_set():
            # A ready writer may stop while its Kafka side is still coming up. With
            # Kafka reachable that takes a moment: let it finish, so what it opened
            # is closed in order below; with Kafka away, give up and cancel it.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_BUS_SETTLE_SECONDS):
                    await self.bus_ready.wait()
        for consumer in self.consumers:
            consumer.stop()
        if self.ctx.relay is not None:
            self.ctx.relay.stop()
        if self._backlog_task is not None:
            self._backlog_task.cancel()
        task, self._bus_task = self._bus_task, None
        if task is not None:
            if not self.bus_ready.is_set():
                task.cancel()
            done, _ = await asyncio.wait({task}, timeout=max(drain, 10.0))
            if not done:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        hooks = [*self.parts.on_stop, self.ctx.producer.stop, self.ctx.mongo.close]
        if self.ctx.writer_client is not None:
            hooks.append(self.ctx.writer_client.close)
        for hook in hooks:
            try:
                await hook()
            except Exception:  # noqa: BLE001 - shutdown continues past a failing hook
                _log.exception("stop hook failed")


async def _keep_running(name: str, loop: Callable[[], Awaitable[None]]) -> None:
    """Run ``loop`` until it returns (it was stopped); restart it after a pause if it crashes."""
    while True:
        try:
            await loop()
            return
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - a crashed loop is restarted, not fatal
            _log.exception("loop crashed; restarting in 1s", loop=name)
            await asyncio.sleep(1.0)


async def start_service(settings: S, build: Build[S]) -> RunningService[S]:
    """Connect, build, ensure indexes and start serving (Kafka comes up in the background)."""
    timeout_ms = int(settings.mongo_timeout_seconds * 1000)
    mongo: AsyncMongoClient[Document] = make_client(
        settings.mongo_uri, app_name=f"guildhall-{settings.service_name}", timeout_ms=timeout_ms
    )
    writer: AsyncMongoClient[Document] | None = None
    if await is_ferretdb(mongo):
        _log.info("FerretDB detected: writes go through one connection")
        writer = make_client(
            single_connection_uri(settings.mongo_uri),
            app_name=f"guildhall-{settings.service_name}-writer",
            timeout_ms=timeout_ms,
        )
    registry = load_registry()
    bus = BusConfig.from_settings(settings)
    producer = Producer(bus, registry=registry)
    ctx = ServiceContext(settings, mongo, registry, bus, producer, writer=writer)
    parts = await build(ctx)
    indexes = list(parts.indexes)
    for name in parts.outbox_collections:
        indexes.extend(outbox_indexes(name))
    if parts.consumers:
        indexes.extend(ProcessedEvents.indexes(PROCESSED_COLLECTION))
    await ensure_indexes(ctx.db, indexes)
    running = RunningService(ctx, parts)
    await running.start()
    return running


async def _serve(settings: S, build: Build[S]) -> None:
    running = await start_service(settings, build)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    _log.info("signal received; draining")
    await running.stop()


def _run(main_coroutine: Coroutine[Any, Any, None]) -> None:
    """Run the service's event loop: uvloop's when it is installed (a faster loop for
    the same asyncio API; docs/adr/0021-cache-tier.md), the standard one otherwise."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main_coroutine)
        return
    uvloop.run(main_coroutine)


def main(settings_cls: type[S], build: Build[S]) -> None:
    """Process entry point of a service. Exits 2 on a configuration error, whether
    the settings fail to load or ``build`` refuses a combination of them."""
    try:
        settings = load_settings(settings_cls)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        sys.exit(2)
    configure_logging(settings.service_name, settings.log_level)
    telemetry = setup_telemetry(
        settings.service_name,
        settings.otlp_endpoint,
        metrics_port=settings.metrics_port,
        metrics_host=settings.grpc_host,
    )
    try:
        _run(_serve(settings, build))
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        sys.exit(2)
    finally:
        telemetry.shutdown()
