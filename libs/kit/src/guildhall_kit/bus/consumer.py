"""The at-least-once consumer: handle, store the effect, then commit offset+1.

Commit discipline is structural. Each record's :class:`Position` travels with
it through the processing step; the step returns a :class:`Done` only when the
handler returned (its effect stored), or the record was a duplicate the group
had already finished, or it was written to the dead-letter topic. The commit
step (:class:`CommitStep`) commits exactly the ``Done`` values that reached it,
as ``offset + 1`` per partition. Nothing else can move an offset: auto-commit is
refused by :class:`BusConfig`, and a record whose handling was interrupted never
produces a ``Done``.

Per partition, records are processed one after another, so one aggregate's
events (one key, one partition) are handled in order. Partitions of one fetch
are processed concurrently.

A handler that raises an ``Exception`` is retried (:class:`RetryPolicy`); when the
attempts are used up, the record goes to the dead-letter topic
``<topic>.dlq.<group>`` with the error in headers, and the consumer moves on.
A handler that raises a ``BaseException`` that is not an ``Exception`` (a crash,
``SystemExit``, cancellation) stops the consumer with that record uncommitted,
so the group's next consumer gets it again.
"""

from __future__ import annotations

import asyncio
import re
import weakref
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Final

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from opentelemetry import metrics, trace
from pymongo.errors import PyMongoError

from guildhall_kit.bus.admin import ensure_dlq_topics, ensure_topics
from guildhall_kit.bus.config import SAFE_CONSUMER_OPTIONS, BusConfig
from guildhall_kit.bus.errors import (
    BusError,
    MalformedEvent,
    NotStarted,
    PublishFailed,
    UnsafeKafkaConfig,
)
from guildhall_kit.bus.event import Event, Headers, from_kafka
from guildhall_kit.bus.idempotency import ProcessedEvents
from guildhall_kit.bus.producer import Producer
from guildhall_kit.bus.registry import Registry, dlq_topic_name
from guildhall_kit.bus.tracing import context_from, get_tracer
from guildhall_kit.logging import get_logger

_log = get_logger(__name__)

Handler = Callable[[Event], Awaitable[None]]
"""Handles one event. Returns once its effect is stored; raises to ask for a retry."""

_LAG_SOURCES: weakref.WeakSet[Consumer] = weakref.WeakSet()


def _observe_lag(_options: metrics.CallbackOptions) -> Iterable[metrics.Observation]:
    for consumer in list(_LAG_SOURCES):
        for (topic, partition), lag in consumer.lag().items():
            yield metrics.Observation(
                lag,
                {
                    "messaging.consumer.group.name": consumer.group,
                    "messaging.destination.name": topic,
                    "messaging.destination.partition.id": str(partition),
                },
            )


metrics.get_meter("guildhall_kit.bus").create_observable_gauge(
    "messaging.consumer.lag",
    callbacks=[_observe_lag],
    unit="{message}",
    description="Records behind the high watermark, per consumer group and partition",
)

_dead_letters = metrics.get_meter("guildhall_kit.bus").create_counter(
    "guildhall.bus.dead_letters",
    unit="{message}",
    description="Records written to a dead-letter topic, per consumer group and source topic",
)

_GROUP_NAME: Final = re.compile(r"^[a-z][a-z0-9._-]{0,99}$")

# Dead-letter headers, added after the original record's headers.
H_DLQ_ERROR_TYPE: Final = "dlq-error-type"
H_DLQ_ERROR_MESSAGE: Final = "dlq-error-message"
H_DLQ_ATTEMPTS: Final = "dlq-attempts"
H_DLQ_TOPIC: Final = "dlq-original-topic"
H_DLQ_PARTITION: Final = "dlq-original-partition"
H_DLQ_OFFSET: Final = "dlq-original-offset"
H_DLQ_GROUP: Final = "dlq-consumer-group"
H_DLQ_FAILED_AT: Final = "dlq-failed-at"
_MAX_ERROR_MESSAGE: Final = 2000


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often a failing handler is tried before its record is dead-lettered."""

    attempts: int = 3
    """Total attempts, the first included."""
    backoff_seconds: float = 0.1
    """Pause after the first failure; doubled after each further one."""
    max_backoff_seconds: float = 2.0
    attempt_timeout_seconds: float = 30.0
    """Deadline of one handler call; exceeding it counts as a failed attempt."""
    dead_letter_at_once: tuple[type[Exception], ...] = (MalformedEvent,)
    """Errors no retry can fix (e.g. a payload that does not parse): dead-lettered at once."""

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if self.backoff_seconds < 0 or self.max_backoff_seconds < 0:
            raise ValueError("backoff must not be negative")
        if self.attempt_timeout_seconds <= 0:
            raise ValueError("attempt_timeout_seconds must be positive")

    def backoff(self, failed_attempts: int) -> float:
        """Seconds to wait after ``failed_attempts`` failures."""
        return float(
            min(self.max_backoff_seconds, self.backoff_seconds * 2 ** (failed_attempts - 1))
        )

    def worst_case_seconds(self) -> float:
        """Longest time one record can take before it is dead-lettered."""
        pauses = sum(self.backoff(n) for n in range(1, self.attempts))
        return self.attempts * self.attempt_timeout_seconds + pauses


@dataclass(frozen=True, slots=True)
class Position:
    """Where a record sits: it travels with the record to the commit step."""

    topic: str
    partition: int
    offset: int

    @property
    def topic_partition(self) -> TopicPartition:
        """The aiokafka partition handle."""
        return TopicPartition(self.topic, self.partition)


class Outcome(Enum):
    """How a record was finished."""

    HANDLED = "handled"
    DUPLICATE = "duplicate"
    """The group had already finished this event id; the handler was not called."""
    DEAD_LETTERED = "dead_lettered"


@dataclass(frozen=True, slots=True)
class Done:
    """A finished record: the only thing the commit step accepts."""

    position: Position
    outcome: Outcome
    event_id: str | None = None


class CommitStep:
    """Commits ``offset + 1`` for the highest :class:`Done` that reached it, per partition.

    :meth:`submit` is pure bookkeeping; :meth:`commit` talks to the broker.
    """

    def __init__(self) -> None:
        self._next: dict[TopicPartition, int] = {}

    def submit(self, done: Done) -> None:
        """Record that ``done`` is finished; offsets only move forward."""
        tp = done.position.topic_partition
        self._next[tp] = max(self._next.get(tp, 0), done.position.offset + 1)

    def pending(self) -> dict[TopicPartition, int]:
        """The offsets the next :meth:`commit` would send."""
        return dict(self._next)

    def forget(self, partitions: Iterable[TopicPartition]) -> None:
        """Drop pending offsets of partitions this consumer no longer owns."""
        for tp in partitions:
            self._next.pop(tp, None)

    async def commit(self, consumer: AIOKafkaConsumer, within: float) -> None:
        """Commit what is pending; on success it is no longer pending.

        A commit the group refuses (it rebalanced and the partition may be
        someone else's) is dropped: the new owner re-handles from its committed
        offset, and handlers are idempotent. Other failures keep the offsets
        pending for the next call. Blocks for at most ``within`` seconds.
        """
        offsets = dict(self._next)
        if not offsets:
            return
        try:
            async with asyncio.timeout(within):
                await consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError) as exc:
            _log.warning("offset commit refused after a rebalance", error=repr(exc))
            self.forget(offsets)
            return
        except (KafkaError, TimeoutError) as exc:
            _log.warning("offset commit failed; will retry", error=repr(exc))
            return
        for tp, offset in offsets.items():
            if self._next.get(tp) == offset:
                del self._next[tp]


class _Retry(BusError):  # noqa: N818 - internal signal
    """Infrastructure failed (dead-letter publish, dedupe store): re-fetch the record later."""


@dataclass(slots=True)
class ConsumerStats:
    """Counters since construction (for tests and metrics)."""

    handled: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    handler_failures: int = 0
    """Failed handler attempts, retried or not."""

    def count(self, outcome: Outcome) -> None:
        """Count one finished record."""
        if outcome is Outcome.HANDLED:
            self.handled += 1
        elif outcome is Outcome.DUPLICATE:
            self.duplicates += 1
        else:
            self.dead_lettered += 1


class Consumer:
    """Consumes registry topics as logical group ``group``, one handler for every event.

    Run it with ``await consumer.run()`` (until :meth:`stop` or cancellation).
    :meth:`stop` finishes the record in hand, commits, and leaves the group;
    cancelling :meth:`run` does the same within ``drain_seconds``, then gives up
    on the record in hand (it stays uncommitted).
    """

    def __init__(
        self,
        config: BusConfig,
        *,
        group: str,
        topics: Sequence[str],
        handler: Handler,
        registry: Registry,
        retry: RetryPolicy | None = None,
        processed: ProcessedEvents | None = None,
        dead_letter_producer: Producer | None = None,
        tracer_provider: trace.TracerProvider | None = None,
        drain_seconds: float = 10.0,
        poll_timeout_ms: int = 500,
    ) -> None:
        """Validate and build; no I/O.

        Raises:
            UnsafeKafkaConfig: the Kafka options would auto-commit or start at
                the latest offset (also refused when ``config`` was built).
            UnknownTopic: a topic is not in the registry.
            ValueError: bad group name, no topics, a retry policy that cannot
                finish a record within ``max_poll_interval_ms``, or a dedupe
                store of another group.
        """
        if not _GROUP_NAME.match(group):
            raise ValueError(f"group {group!r} must match {_GROUP_NAME.pattern}")
        if not topics:
            raise ValueError("a consumer needs at least one topic")
        for name in topics:
            registry.get(name)
        self._retry = retry or RetryPolicy()
        if self._retry.worst_case_seconds() * 1000 >= config.max_poll_interval_ms:
            raise ValueError(
                "retry policy can take longer than max_poll_interval_ms for one record; "
                "the group would evict the consumer mid-record"
            )
        if processed is not None and processed.group != group:
            raise ValueError(f"processed-events store is for group {processed.group!r}")
        self._options = config.consumer_options(config.group(group))
        for name, safe in SAFE_CONSUMER_OPTIONS.items():
            if self._options.get(name) != safe:
                raise UnsafeKafkaConfig(f"consumer option {name} must be {safe!r}")
        self._config = config
        self._group = group
        self._topics = list(topics)
        self._handler = handler
        self._registry = registry
        self._processed = processed
        self._owns_producer = dead_letter_producer is None
        self._dlq_producer = dead_letter_producer or Producer(
            config, registry=registry, role=f"{group}-dlq", tracer_provider=tracer_provider
        )
        self._tracer = get_tracer(tracer_provider)
        self._drain_seconds = drain_seconds
        self._poll_timeout_ms = poll_timeout_ms
        self._consumer: AIOKafkaConsumer | None = None
        self._commits = CommitStep()
        self._lock = asyncio.Lock()
        self._stopping = asyncio.Event()
        self._assigned = asyncio.Event()
        self.stats = ConsumerStats()
        self._lag: dict[tuple[str, int], int] = {}
        _LAG_SOURCES.add(self)

    @property
    def group(self) -> str:
        """The logical group name (the physical one carries the topic prefix)."""
        return self._group

    def lag(self) -> dict[tuple[str, int], int]:
        """Records behind the partition's high watermark after the last finished record,
        per (physical topic, partition). Exported as the ``messaging.consumer.lag`` gauge."""
        return dict(self._lag)

    def dead_letter_topic(self, topic: str) -> str:
        """The physical dead-letter topic of this group for logical ``topic``."""
        return dlq_topic_name(self._config.topic(topic), self._group)

    def stop(self) -> None:
        """Ask :meth:`run` to return after the record in hand; returns at once."""
        self._stopping.set()

    async def wait_assigned(self, within: float) -> None:
        """Block until the group gave this consumer its first partitions.

        Raises:
            TimeoutError: not within ``within`` seconds.
        """
        async with asyncio.timeout(within):
            await self._assigned.wait()

    async def run(self) -> None:
        """Start, consume until stopped, then commit and leave the group.

        Blocks until :meth:`stop` is called or the task is cancelled. Start-up
        (topic checks, joining the group) is bounded by ``admin_timeout_seconds``.

        Raises:
            TopicSetupFailed, PublishFailed: the cluster is unreachable at start.
            BaseException: whatever non-``Exception`` a handler raised (the
                record it was handling stays uncommitted).
        """
        await self._start()
        loop_task = asyncio.create_task(self._loop(), name=f"consumer-{self._group}")
        try:
            await asyncio.shield(loop_task)
        except asyncio.CancelledError:
            self._stopping.set()
            # Cleanup runs in its own task so its deadlines work while we are being cancelled.
            await asyncio.shield(asyncio.create_task(self._drain(loop_task)))
            raise
        finally:
            await asyncio.shield(asyncio.create_task(self._close()))

    async def _drain(self, loop_task: asyncio.Task[None]) -> None:
        done, _ = await asyncio.wait({loop_task}, timeout=self._drain_seconds)
        if not done:
            loop_task.cancel()
        with suppress(BaseException):
            await loop_task

    async def _start(self) -> None:
        if self._consumer is not None:
            raise BusError("consumer already running")
        self._stopping.clear()
        await ensure_topics(self._config, self._registry, self._topics)
        await ensure_dlq_topics(self._config, self._topics, self._group)
        if self._owns_producer:
            await self._dlq_producer.start()
        consumer = AIOKafkaConsumer(**self._options)
        consumer.subscribe([self._config.topic(t) for t in self._topics], listener=_Listener(self))
        try:
            async with asyncio.timeout(self._config.admin_timeout_seconds):
                await consumer.start()
        except BaseException:
            await consumer.stop()
            if self._owns_producer:
                await self._dlq_producer.stop()
            raise
        self._consumer = consumer
        _log.info("consumer started", group=self._group, topics=self._topics)

    async def _close(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is None:
            return
        async with self._lock:
            await self._commits.commit(consumer, self._config.commit_timeout_seconds)
        try:
            async with asyncio.timeout(self._config.admin_timeout_seconds):
                await consumer.stop()  # leaves the group; nothing is auto-committed
        except TimeoutError:
            _log.warning("consumer did not leave its group in time", group=self._group)
        if self._owns_producer:
            await self._dlq_producer.stop()
        self._assigned.clear()
        _log.info("consumer stopped", group=self._group)

    async def _on_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        # Waits for the batch in hand, so its offsets are committed before the
        # partitions move to another member (fewer redeliveries, never fewer effects).
        consumer = self._consumer
        if consumer is None:
            return
        async with self._lock:
            await self._commits.commit(consumer, self._config.commit_timeout_seconds)
            self._commits.forget(revoked)

    def _on_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        if list(assigned):
            self._assigned.set()

    async def _loop(self) -> None:
        consumer = self._consumer
        if consumer is None:
            raise NotStarted("consumer is not started")
        while not self._stopping.is_set():
            batch = await consumer.getmany(timeout_ms=self._poll_timeout_ms)
            if not batch:
                continue
            async with self._lock:
                owned = consumer.assignment()
                work = {tp: records for tp, records in batch.items() if tp in owned}
                try:
                    await self._process_partitions(consumer, work)
                finally:
                    await self._commits.commit(consumer, self._config.commit_timeout_seconds)

    async def _process_partitions(
        self, consumer: AIOKafkaConsumer, work: Mapping[TopicPartition, Sequence[Any]]
    ) -> None:
        if len(work) == 1:
            ((tp, records),) = work.items()
            await self._process_partition(consumer, tp, records)
            return
        tasks = [
            asyncio.create_task(self._process_partition(consumer, tp, records))
            for tp, records in work.items()
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        finally:
            for task in tasks:
                if not task.done():
                    task.cancel()
            await asyncio.wait(tasks)
        for task in tasks:
            if not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]

    async def _process_partition(
        self, consumer: AIOKafkaConsumer, tp: TopicPartition, records: Sequence[Any]
    ) -> None:
        for record in records:
            if self._stopping.is_set():
                return
            try:
                done = await self._process(record)
            except _Retry as exc:
                _log.error(
                    "cannot finish record; will fetch it again",
                    topic=tp.topic,
                    partition=tp.partition,
                    offset=record.offset,
                    error=str(exc),
                )
                consumer.seek(tp, record.offset)
                await self._pause(self._retry.max_backoff_seconds)
                return
            if done is None:  # stopping while retrying: leave it uncommitted
                return
            self._commits.submit(done)
            self.stats.count(done.outcome)
            highwater = consumer.highwater(tp)
            if highwater is not None:
                self._lag[(tp.topic, tp.partition)] = max(highwater - record.offset - 1, 0)

    async def _pause(self, seconds: float) -> bool:
        """Sleep ``seconds`` unless asked to stop first; ``True`` when stopping."""
        with suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stopping.wait()
        return self._stopping.is_set()

    async def _process(self, record: Any) -> Done | None:
        position = Position(record.topic, record.partition, record.offset)
        try:
            event = from_kafka(record.key, record.value, record.headers)
        except MalformedEvent as exc:
            _log.error(
                "undecodable record", topic=record.topic, offset=record.offset, error=str(exc)
            )
            await self._dead_letter(record, exc, attempts=0)
            return Done(position, Outcome.DEAD_LETTERED)

        if self._processed is not None:
            try:
                if await self._processed.seen(event.id):
                    return Done(position, Outcome.DUPLICATE, event.id)
            except PyMongoError as exc:
                raise _Retry(f"processed-events store unavailable: {exc!r}") from exc

        with self._tracer.start_as_current_span(
            f"process {record.topic}",
            context=context_from(event.traceparent, event.tracestate),
            kind=trace.SpanKind.CONSUMER,
            attributes={
                "messaging.system": "kafka",
                "messaging.operation.type": "process",
                "messaging.destination.name": record.topic,
                "messaging.destination.partition.id": str(record.partition),
                "messaging.kafka.offset": record.offset,
                "messaging.consumer.group.name": self._group,
                "messaging.message.id": event.id,
                "messaging.kafka.message.key": event.key,
                "cloudevents.event_type": event.type,
            },
        ) as span:
            attempt = 0
            while True:
                attempt += 1
                try:
                    async with asyncio.timeout(self._retry.attempt_timeout_seconds):
                        await self._handler(event)
                    break
                except Exception as exc:  # noqa: BLE001 - any handler failure is retried, then dead-lettered
                    self.stats.handler_failures += 1
                    span.record_exception(exc)
                    final = attempt >= self._retry.attempts or isinstance(
                        exc, self._retry.dead_letter_at_once
                    )
                    _log.warning(
                        "handler failed",
                        group=self._group,
                        event_id=event.id,
                        event_type=event.type,
                        attempt=attempt,
                        dead_letter=final,
                        error=repr(exc),
                    )
                    if final:
                        span.set_status(trace.Status(trace.StatusCode.ERROR, repr(exc)))
                        await self._dead_letter(record, exc, attempts=attempt)
                        return Done(position, Outcome.DEAD_LETTERED, event.id)
                    if await self._pause(self._retry.backoff(attempt)):
                        return None

        if self._processed is not None:
            try:
                await self._processed.record(event.id, type=event.type)
            except PyMongoError as exc:
                # The effect is stored; committing without the marker is safe, a
                # redelivery could only come from a crash before the commit.
                _log.warning("could not record processed event", event_id=event.id, error=repr(exc))
        return Done(position, Outcome.HANDLED, event.id)

    async def _dead_letter(self, record: Any, error: BaseException, *, attempts: int) -> None:
        topic = dlq_topic_name(record.topic, self._group)
        message = str(error) or type(error).__name__
        headers: Headers = [(k, v) for k, v in (record.headers or ()) if v is not None]
        headers += [
            (H_DLQ_ERROR_TYPE, f"{type(error).__module__}.{type(error).__qualname__}".encode()),
            (H_DLQ_ERROR_MESSAGE, message[:_MAX_ERROR_MESSAGE].encode("utf-8", "replace")),
            (H_DLQ_ATTEMPTS, str(attempts).encode()),
            (H_DLQ_TOPIC, record.topic.encode()),
            (H_DLQ_PARTITION, str(record.partition).encode()),
            (H_DLQ_OFFSET, str(record.offset).encode()),
            (H_DLQ_GROUP, self._group.encode()),
            (H_DLQ_FAILED_AT, datetime.now(UTC).isoformat().replace("+00:00", "Z").encode()),
        ]
        try:
            await self._dlq_producer.send_record(topic, record.key, record.value or b"", headers)
        except (PublishFailed, NotStarted) as exc:
            raise _Retry(f"dead-letter publish to {topic} failed: {exc}") from exc
        _dead_letters.add(
            1,
            {
                "messaging.consumer.group.name": self._group,
                "messaging.destination.name": record.topic,
            },
        )
        _log.error(
            "record dead-lettered",
            group=self._group,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            dead_letter_topic=topic,
            attempts=attempts,
            error=message[:200],
        )


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, owner: Consumer) -> None:
        self._owner = owner

    async def on_partitions_revoked(self, revoked: Any) -> None:
        await self._owner._on_revoked(revoked)

    async def on_partitions_assigned(self, assigned: Any) -> None:
        self._owner._on_assigned(assigned)
