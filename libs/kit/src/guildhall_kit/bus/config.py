"""Kafka client options: the one place where the bus's safety settings live.

aiokafka's defaults do not give the guarantees the bus promises (a producer
defaults to ``acks=1`` without idempotence; a consumer auto-commits offsets
every five seconds whether or not the message was handled, and starts at the
*latest* offset of a new group). :class:`BusConfig` builds every producer and
consumer option set, pins the safe values, and refuses overrides that would
weaken them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final

from guildhall_kit.bus.errors import UnsafeKafkaConfig
from guildhall_kit.settings import ServiceSettings

# Values that carry a delivery guarantee. An override may restate them, never change them.
SAFE_PRODUCER_OPTIONS: Final[Mapping[str, Any]] = {
    "enable_idempotence": True,  # broker drops retried duplicates, keeps per-partition order
    "acks": "all",  # acknowledged only when every in-sync replica has it
}
SAFE_CONSUMER_OPTIONS: Final[Mapping[str, Any]] = {
    "enable_auto_commit": False,  # we commit offset+1 only after the handler's effect is stored
    "auto_offset_reset": "earliest",  # a new group starts at the beginning, not after it
    "isolation_level": "read_committed",  # never hand out records of aborted transactions
}
# Options the bus sets itself from its own fields or arguments.
_OWNED: Final = frozenset(
    {
        "bootstrap_servers",
        "client_id",
        "group_id",
        "request_timeout_ms",
        "session_timeout_ms",
        "heartbeat_interval_ms",
        "max_poll_interval_ms",
        "max_poll_records",
        "linger_ms",
        "key_serializer",
        "value_serializer",
        "key_deserializer",
        "value_deserializer",
        "transactional_id",  # the outbox gives atomicity; Kafka transactions are not used
        "loop",
        "api_version",
    }
)


def _check_overrides(extra: Mapping[str, Any], safe: Mapping[str, Any], kind: str) -> None:
    for name, value in extra.items():
        if name in safe and value != safe[name]:
            raise UnsafeKafkaConfig(
                f"{kind} option {name}={value!r} is refused: the bus requires {safe[name]!r}"
            )
        if name in _OWNED:
            raise UnsafeKafkaConfig(f"{kind} option {name!r} is set by BusConfig; use its field")


@dataclass(frozen=True, slots=True)
class BusConfig:
    """How the bus talks to Kafka. Constructing one validates it.

    Raises:
        UnsafeKafkaConfig: when an ``extra_*`` option would weaken a guarantee
            (e.g. ``enable_auto_commit=True``) or bypass a field of this class.
        ValueError: when the timeouts are inconsistent.
    """

    bootstrap_servers: str
    """Comma-separated ``host:port`` list."""
    topic_prefix: str = ""
    """Prepended to every topic and consumer group name (isolates test runs)."""
    client_id: str = "guildhall"
    """Client id prefix in broker logs and metrics (the service name)."""
    request_timeout_ms: int = 15_000
    """Deadline of one request to a broker, inside the client's own retries."""
    publish_timeout_seconds: float = 30.0
    """Deadline of one :meth:`Producer.publish`, from enqueue to acknowledgement."""
    admin_timeout_seconds: float = 30.0
    """Deadline of topic creation and other admin calls."""
    commit_timeout_seconds: float = 10.0
    """Deadline of one offset commit."""
    session_timeout_ms: int = 10_000
    """A consumer silent this long is dropped from its group (broker minimum is 6 s)."""
    heartbeat_interval_ms: int = 3_000
    max_poll_interval_ms: int = 300_000
    """Longest time between two fetches before the group evicts the consumer; bounds a batch."""
    max_poll_records: int = 100
    """Records fetched at once; with the retry policy it bounds a batch's duration."""
    linger_ms: int = 5
    """How long the producer waits to batch records (latency versus throughput)."""
    extra_producer_options: Mapping[str, Any] = field(default_factory=dict)
    """Further ``AIOKafkaProducer`` options (TLS, SASL, compression); guarded."""
    extra_consumer_options: Mapping[str, Any] = field(default_factory=dict)
    """Further ``AIOKafkaConsumer`` options (TLS, SASL, fetch sizes); guarded."""

    def __post_init__(self) -> None:
        _check_overrides(self.extra_producer_options, SAFE_PRODUCER_OPTIONS, "producer")
        _check_overrides(self.extra_consumer_options, SAFE_CONSUMER_OPTIONS, "consumer")
        if not self.bootstrap_servers.strip():
            raise ValueError("bootstrap_servers must not be empty")
        if self.heartbeat_interval_ms * 3 > self.session_timeout_ms:
            raise ValueError("heartbeat_interval_ms must be at most a third of session_timeout_ms")
        if self.request_timeout_ms <= 0 or self.publish_timeout_seconds <= 0:
            raise ValueError("timeouts must be positive")
        if self.max_poll_records < 1:
            raise ValueError("max_poll_records must be at least 1")

    @classmethod
    def from_settings(cls, settings: ServiceSettings, **overrides: Any) -> BusConfig:
        """The config of the service ``settings`` describes; ``overrides`` replace fields."""
        base = cls(
            bootstrap_servers=settings.kafka_bootstrap_servers,
            topic_prefix=settings.topic_prefix,
            client_id=settings.service_name,
        )
        return replace(base, **overrides) if overrides else base

    def topic(self, name: str) -> str:
        """The physical name of logical topic ``name``."""
        return f"{self.topic_prefix}{name}"

    def group(self, name: str) -> str:
        """The physical consumer group id of logical group ``name``."""
        return f"{self.topic_prefix}{name}"

    def producer_options(self, role: str = "producer") -> dict[str, Any]:
        """Keyword arguments for ``AIOKafkaProducer``: safe values last, so they always win."""
        return {
            "bootstrap_servers": self.bootstrap_servers,
            "client_id": f"{self.client_id}-{role}",
            "request_timeout_ms": self.request_timeout_ms,
            "linger_ms": self.linger_ms,
            **self.extra_producer_options,
            **SAFE_PRODUCER_OPTIONS,
        }

    def consumer_options(self, group_id: str) -> dict[str, Any]:
        """Keyword arguments for ``AIOKafkaConsumer`` in physical group ``group_id``.

        Safe values come last, so they always win; :meth:`__post_init__` has
        already refused overrides that tried to change them.
        """
        return {
            "bootstrap_servers": self.bootstrap_servers,
            "client_id": f"{self.client_id}-{group_id}",
            "group_id": group_id,
            "request_timeout_ms": max(self.request_timeout_ms, self.session_timeout_ms + 5_000),
            "session_timeout_ms": self.session_timeout_ms,
            "heartbeat_interval_ms": self.heartbeat_interval_ms,
            "max_poll_interval_ms": self.max_poll_interval_ms,
            "max_poll_records": self.max_poll_records,
            **self.extra_consumer_options,
            **SAFE_CONSUMER_OPTIONS,
        }

    def admin_options(self) -> dict[str, Any]:
        """Keyword arguments for ``AIOKafkaAdminClient``."""
        security = {
            k: v
            for k, v in self.extra_producer_options.items()
            if k.startswith(("security_", "ssl_", "sasl_"))
        }
        return {
            "bootstrap_servers": self.bootstrap_servers,
            "client_id": f"{self.client_id}-admin",
            "request_timeout_ms": self.request_timeout_ms,
            **security,
        }
