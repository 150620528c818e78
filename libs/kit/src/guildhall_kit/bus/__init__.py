"""The Kafka event bus: CloudEvents binary mode, idempotent producer, at-least-once consumer.

- :mod:`.registry`     the topic registry (``guildhall_kit/topics/*.yaml``) and DLQ naming
- :mod:`.admin`        topic creation at start-up
- :mod:`.config`       every Kafka option, with the safe ones pinned
- :mod:`.event`        the :class:`Event` value and its Kafka header mapping
- :mod:`.producer`     ``await publish(topic, event)``, acknowledged by all in-sync replicas
- :mod:`.consumer`     commit-after-effect consumer with retries and a dead-letter topic
- :mod:`.idempotency`  effects once per event id (:class:`ProcessedEvents`, :func:`apply_once`)

The transactional outbox that feeds the producer is :mod:`guildhall_kit.outbox`.
See docs/adr/0004-event-bus-and-outbox.md for the guarantees and their reasons.
"""

from guildhall_kit.bus.admin import TopicSetupFailed, TopicsReport, ensure_dlq_topics, ensure_topics
from guildhall_kit.bus.config import BusConfig
from guildhall_kit.bus.consumer import (
    CommitStep,
    Consumer,
    ConsumerStats,
    Done,
    Handler,
    Outcome,
    Position,
    RetryPolicy,
)
from guildhall_kit.bus.errors import (
    BusError,
    MalformedEvent,
    NotStarted,
    PublishFailed,
    UnsafeKafkaConfig,
)
from guildhall_kit.bus.event import CONTENT_TYPE_PROTOBUF, Event, from_kafka, source_for, to_kafka
from guildhall_kit.bus.idempotency import ProcessedEvents, apply_once, apply_once_update
from guildhall_kit.bus.producer import Producer, Published
from guildhall_kit.bus.registry import (
    Registry,
    RegistryError,
    TopicSpec,
    UndeclaredEventType,
    UnknownTopic,
    dlq_topic_name,
    load_registry,
)

__all__ = [
    "CONTENT_TYPE_PROTOBUF",
    "BusConfig",
    "BusError",
    "CommitStep",
    "Consumer",
    "ConsumerStats",
    "Done",
    "Event",
    "Handler",
    "MalformedEvent",
    "NotStarted",
    "Outcome",
    "Position",
    "ProcessedEvents",
    "Producer",
    "PublishFailed",
    "Published",
    "Registry",
    "RegistryError",
    "RetryPolicy",
    "TopicSetupFailed",
    "TopicSpec",
    "TopicsReport",
    "UndeclaredEventType",
    "UnknownTopic",
    "UnsafeKafkaConfig",
    "apply_once",
    "apply_once_update",
    "dlq_topic_name",
    "ensure_dlq_topics",
    "ensure_topics",
    "from_kafka",
    "load_registry",
    "source_for",
    "to_kafka",
]
