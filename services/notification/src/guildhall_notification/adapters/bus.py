"""The notification topic as this service uses it beyond the kit's consumers.

- :class:`RoutedPublisher`: decided recipients -> NotificationsRouted, keyed by
  one recipient so the message lands on the partition of their shard.
- :class:`DeliveredFanout`: after an inbox write, wake this replica's streams
  at once, publish NotificationDelivered (event id = notification id, so a
  re-publish is a duplicate consumers drop) and queue digests.
- :class:`Waker`: reads NotificationDelivered from the end of every partition,
  with no consumer group (so every replica sees every wake-up and nothing is
  committed), and wakes the streams this replica serves. Only the key (the
  recipient) is looked at.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Final

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from guildhall.notification.v1 import events_pb2 as nev
from guildhall_kit.bus import BusConfig, Event, Producer, source_for
from guildhall_kit.bus.event import H_TYPE
from guildhall_kit.logging import get_logger
from guildhall_notification.adapters import convert
from guildhall_notification.application.ports import Routed
from guildhall_notification.application.stream import Wakeups
from guildhall_notification.domain.model import Notification

_log = get_logger(__name__)

TOPIC: Final = "guildhall.notification.v1"
SOURCE: Final = source_for("notification")
DELIVERED_TYPE: Final = nev.NotificationDelivered.DESCRIPTOR.full_name
PUBLISH_BATCH: Final = 500


async def _publish_all(producer: Producer, events: Sequence[Event]) -> None:
    """Publish in bounded concurrent batches (aiokafka batches them on the wire)."""
    for start in range(0, len(events), PUBLISH_BATCH):
        await asyncio.gather(
            *(producer.publish(TOPIC, e) for e in events[start : start + PUBLISH_BATCH])
        )


class RoutedPublisher:
    def __init__(self, producer: Producer) -> None:
        self._producer = producer

    async def send(self, routed: Sequence[Routed]) -> None:
        events = [
            Event.from_message(
                convert.routed_message(r), source=SOURCE, key=r.person_ids[0], time=r.routed_at
            )
            for r in routed
        ]
        await _publish_all(self._producer, events)


QueueDigests = Callable[[Sequence[str]], Awaitable[None]]


class DeliveredFanout:
    def __init__(self, producer: Producer, wakeups: Wakeups, queue_digests: QueueDigests) -> None:
        self._producer = producer
        self._wakeups = wakeups
        self._queue = queue_digests

    async def delivered(self, notifications: Sequence[Notification]) -> None:
        self._wakeups.wake(n.person_id for n in notifications)
        events = []
        for n in notifications:
            message = nev.NotificationDelivered(
                notification_id=n.notification_id,
                person_id=n.person_id,
                kind=convert.KIND[n.template.kind],
                channel=nev.CHANNEL_INBOX,
                source_event_id=n.source_event_id,
            )
            stamp = convert.ts(n.created_at)
            if stamp is not None:
                message.delivered_at.CopyFrom(stamp)
            events.append(
                Event.from_message(
                    message, source=SOURCE, key=n.person_id, event_id=n.notification_id.upper()
                )
            )
        await _publish_all(self._producer, events)
        await self._queue(sorted({n.person_id for n in notifications}))


class Waker:
    """Wakes local streams from NotificationDelivered of every replica."""

    def __init__(self, config: BusConfig, wakeups: Wakeups, *, partitions: int) -> None:
        self._config = config
        self._wakeups = wakeups
        self._partitions = partitions
        self.ready = asyncio.Event()

    async def run(self) -> None:
        """Read from the end until cancelled; reconnects after errors."""
        while True:
            try:
                await self._run_once()
            except asyncio.CancelledError:
                raise
            except (KafkaError, OSError) as exc:
                _log.warning("stream waker lost Kafka; retrying", error=repr(exc))
                await asyncio.sleep(1.0)

    async def _run_once(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._config.bootstrap_servers,
            client_id=f"{self._config.client_id}-waker",
            group_id=None,
            enable_auto_commit=False,
            isolation_level="read_committed",
            fetch_max_wait_ms=100,
        )
        await consumer.start()
        try:
            topic = self._config.topic(TOPIC)
            parts = [TopicPartition(topic, p) for p in range(self._partitions)]
            consumer.assign(parts)
            await consumer.seek_to_end(*parts)
            for part in parts:
                await consumer.position(part)
            self.ready.set()
            while True:
                batch = await consumer.getmany(timeout_ms=500)
                people = []
                for records in batch.values():
                    for record in records:
                        kind = dict(record.headers or ()).get(H_TYPE)
                        if kind == DELIVERED_TYPE.encode() and record.key:
                            people.append(record.key.decode("utf-8", "replace"))
                if people:
                    self._wakeups.wake(people)
        finally:
            with contextlib.suppress(Exception):
                await consumer.stop()
