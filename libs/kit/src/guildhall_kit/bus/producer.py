"""The idempotent producer: ``await publish(topic, event)`` returns once the broker has it.

Every producer is built from :meth:`BusConfig.producer_options`, so idempotence
and ``acks=all`` are always on. With them, the broker acknowledges a record
only when every in-sync replica has it, drops the duplicates of the client's own
retries, and keeps each partition in send order. Messages are keyed by the
event's aggregate id, so one aggregate's events land on one partition, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from opentelemetry import trace

from guildhall_kit.bus.config import BusConfig
from guildhall_kit.bus.errors import NotStarted, PublishFailed
from guildhall_kit.bus.event import Event, Headers, to_kafka
from guildhall_kit.bus.registry import Registry
from guildhall_kit.bus.tracing import context_from, current_trace_headers, get_tracer
from guildhall_kit.logging import get_logger

_log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Published:
    """Where the broker stored an event."""

    topic: str
    """Physical topic name."""
    partition: int
    offset: int


class Producer:
    """Publishes events to registry topics with the idempotent aiokafka producer.

    Use as ``async with Producer(config, registry=registry) as producer:`` or call
    :meth:`start` / :meth:`stop`. One instance is safe to share between tasks.
    """

    def __init__(
        self,
        config: BusConfig,
        *,
        registry: Registry,
        tracer_provider: trace.TracerProvider | None = None,
        role: str = "producer",
    ) -> None:
        """Build (no I/O yet).

        Raises:
            UnsafeKafkaConfig: never in practice; ``config`` was checked when built.
        """
        self._config = config
        self._registry = registry
        self._tracer = get_tracer(tracer_provider)
        self._role = role
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        """Connect to the cluster and obtain a producer id for idempotence.

        Blocks until the cluster answers or ``admin_timeout_seconds`` passes.

        Raises:
            PublishFailed: when the cluster cannot be reached in time.
        """
        if self._producer is not None:
            return
        producer = AIOKafkaProducer(**self._config.producer_options(self._role))
        try:
            async with asyncio.timeout(self._config.admin_timeout_seconds):
                await producer.start()
        except (TimeoutError, KafkaError) as exc:
            await producer.stop()
            raise PublishFailed(f"cannot start the Kafka producer: {exc!r}") from exc
        except BaseException:
            # Cancelled mid-start (the service stopping while Kafka is away): close
            # what was opened, or its connections outlive the service.
            with contextlib.suppress(Exception):
                await producer.stop()
            raise
        self._producer = producer

    async def stop(self) -> None:
        """Flush what is buffered (bounded by ``publish_timeout_seconds``) and disconnect."""
        producer, self._producer = self._producer, None
        if producer is None:
            return
        try:
            async with asyncio.timeout(self._config.publish_timeout_seconds):
                await producer.stop()
        except TimeoutError:
            _log.warning("kafka producer did not stop in time; abandoning buffered records")

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def config(self) -> BusConfig:
        """The config this producer was built with."""
        return self._config

    async def publish(self, topic: str, event: Event) -> Published:
        """Publish ``event`` to registry topic ``topic``; return after the broker acknowledged it.

        The publish runs in a PRODUCER span whose parent is the event's captured
        trace context (or the current one), and that span's context is sent as
        ``traceparent``, so the consumer's span continues the same trace.

        Blocks for at most ``publish_timeout_seconds`` (buffer space, metadata,
        acknowledgement by all in-sync replicas).

        Raises:
            UnknownTopic, UndeclaredEventType: the registry does not allow it (no I/O done).
            PublishFailed: no acknowledgement within the deadline, or the broker
                refused the record. It may still have been written: a caller that
                retries can create a duplicate, which consumers drop by ``ce_id``.
            NotStarted: before :meth:`start` or after :meth:`stop`.
        """
        self._registry.check_publish(topic, event.type)
        physical = self._config.topic(topic)
        parent = context_from(event.traceparent, event.tracestate) if event.traceparent else None
        with self._tracer.start_as_current_span(
            f"publish {physical}",
            context=parent,
            kind=trace.SpanKind.PRODUCER,
            attributes={
                "messaging.system": "kafka",
                "messaging.operation.type": "send",
                "messaging.destination.name": physical,
                "messaging.message.id": event.id,
                "messaging.kafka.message.key": event.key,
                "cloudevents.event_type": event.type,
            },
        ) as span:
            traceparent, tracestate = current_trace_headers()
            record = to_kafka(event, traceparent=traceparent, tracestate=tracestate)
            result = await self.send_record(physical, record.key, record.value, record.headers)
            span.set_attribute("messaging.destination.partition.id", str(result.partition))
            span.set_attribute("messaging.kafka.offset", result.offset)
            return result

    async def send_record(
        self, physical_topic: str, key: bytes | None, value: bytes, headers: Headers
    ) -> Published:
        """Send one raw record (no registry check, no tracing) and wait for its acknowledgement.

        The building block of :meth:`publish` and of dead-lettering, which
        forwards a record it could not decode. Blocks for at most
        ``publish_timeout_seconds``.

        Raises:
            PublishFailed: no acknowledgement in time, or the broker refused it.
            NotStarted: before :meth:`start` or after :meth:`stop`.
        """
        producer = self._producer
        if producer is None:
            raise NotStarted("the producer is not started")
        try:
            async with asyncio.timeout(self._config.publish_timeout_seconds):
                future = await producer.send(physical_topic, value=value, key=key, headers=headers)
                metadata: Any = await future
        except TimeoutError as exc:
            raise PublishFailed(
                f"no acknowledgement from Kafka for {physical_topic} within "
                f"{self._config.publish_timeout_seconds}s"
            ) from exc
        except KafkaError as exc:
            raise PublishFailed(f"Kafka refused a record for {physical_topic}: {exc!r}") from exc
        return Published(
            topic=physical_topic, partition=int(metadata.partition), offset=int(metadata.offset)
        )
