"""The safe Kafka options live in one place and cannot be weakened; no I/O."""

from __future__ import annotations

from typing import Any

import pytest
from aiokafka import TopicPartition
from google.protobuf.struct_pb2 import Struct
from google.protobuf.wrappers_pb2 import StringValue

from guildhall_kit.bus.config import BusConfig
from guildhall_kit.bus.consumer import CommitStep, Consumer, Done, Outcome, Position, RetryPolicy
from guildhall_kit.bus.errors import NotStarted, UnsafeKafkaConfig
from guildhall_kit.bus.event import Event
from guildhall_kit.bus.producer import Producer
from guildhall_kit.bus.registry import Registry, TopicSpec, UndeclaredEventType, UnknownTopic
from guildhall_kit.settings import ServiceSettings

REGISTRY = Registry(
    [
        TopicSpec(
            name="test.bus.v1",
            owner="test",
            event_types=("google.protobuf.StringValue",),
            partitions=3,
            retention_ms=3_600_000,
        )
    ]
)


async def _noop(_event: Event) -> None:
    return None


def test_producer_options_are_idempotent_with_acks_all() -> None:
    options = BusConfig("k:9092", client_id="post").producer_options()
    assert options["enable_idempotence"] is True
    assert options["acks"] == "all"
    assert options["client_id"] == "post-producer"
    assert options["request_timeout_ms"] == 15_000


def test_consumer_options_never_auto_commit_and_start_at_earliest() -> None:
    options = BusConfig("k:9092", topic_prefix="t1.").consumer_options("t1.grp")
    assert options["enable_auto_commit"] is False
    assert options["auto_offset_reset"] == "earliest"
    assert options["group_id"] == "t1.grp"
    assert options["request_timeout_ms"] > options["session_timeout_ms"]


@pytest.mark.parametrize(
    ("kind", "option", "value"),
    [
        ("consumer", "enable_auto_commit", True),
        ("consumer", "auto_offset_reset", "latest"),
        ("producer", "acks", 1),
        ("producer", "enable_idempotence", False),
        ("producer", "transactional_id", "x"),
        ("consumer", "group_id", "other"),
    ],
)
def test_weakening_overrides_are_refused_at_construction(
    kind: str, option: str, value: Any
) -> None:
    extra = {option: value}
    consumer, producer = (extra, {}) if kind == "consumer" else ({}, extra)
    with pytest.raises(UnsafeKafkaConfig, match=option):
        BusConfig("k:9092", extra_consumer_options=consumer, extra_producer_options=producer)


def test_harmless_overrides_pass_and_restating_a_safe_value_is_fine() -> None:
    config = BusConfig(
        "k:9092",
        extra_consumer_options={"enable_auto_commit": False, "fetch_max_bytes": 1024},
        extra_producer_options={"compression_type": "gzip", "security_protocol": "SSL"},
    )
    assert config.consumer_options("g")["fetch_max_bytes"] == 1024
    assert config.producer_options()["compression_type"] == "gzip"
    assert config.admin_options()["security_protocol"] == "SSL"


def test_inconsistent_timeouts_are_refused() -> None:
    with pytest.raises(ValueError, match="heartbeat"):
        BusConfig("k:9092", session_timeout_ms=6000, heartbeat_interval_ms=3000)


def test_from_settings_uses_the_service_name_and_prefix() -> None:
    class PostSettings(ServiceSettings):
        service_name = "post"

    settings = PostSettings(
        kafka_bootstrap_servers="k:9092", mongo_uri="mongodb://m/", topic_prefix="ci."
    )
    config = BusConfig.from_settings(settings, linger_ms=0)
    assert config.client_id == "post"
    assert config.topic("guildhall.post.v1") == "ci.guildhall.post.v1"
    assert config.group("notification") == "ci.notification"
    assert config.linger_ms == 0


def test_consumer_refuses_unknown_topics_and_bad_groups() -> None:
    config = BusConfig("k:9092")
    with pytest.raises(UnknownTopic):
        Consumer(config, group="g", topics=["nope.v1"], handler=_noop, registry=REGISTRY)
    with pytest.raises(ValueError, match="group"):
        Consumer(
            config, group="Bad Group", topics=["test.bus.v1"], handler=_noop, registry=REGISTRY
        )
    with pytest.raises(ValueError, match="at least one topic"):
        Consumer(config, group="g", topics=[], handler=_noop, registry=REGISTRY)


def test_consumer_refuses_a_retry_policy_longer_than_the_poll_interval() -> None:
    config = BusConfig("k:9092", max_poll_interval_ms=60_000)
    with pytest.raises(ValueError, match="max_poll_interval_ms"):
        Consumer(
            config,
            group="g",
            topics=["test.bus.v1"],
            handler=_noop,
            registry=REGISTRY,
            retry=RetryPolicy(attempts=3, attempt_timeout_seconds=30),
        )


def test_retry_backoff_doubles_up_to_its_cap() -> None:
    policy = RetryPolicy(attempts=5, backoff_seconds=0.1, max_backoff_seconds=0.3)
    assert [policy.backoff(n) for n in (1, 2, 3, 4)] == [0.1, 0.2, 0.3, 0.3]
    with pytest.raises(ValueError, match="attempts"):
        RetryPolicy(attempts=0)


def test_commit_step_commits_offset_plus_one_and_never_goes_back() -> None:
    step = CommitStep()
    step.submit(Done(Position("t", 0, 41), Outcome.HANDLED))
    step.submit(Done(Position("t", 0, 40), Outcome.DUPLICATE))
    step.submit(Done(Position("t", 1, 7), Outcome.DEAD_LETTERED))
    assert step.pending() == {TopicPartition("t", 0): 42, TopicPartition("t", 1): 8}
    step.forget([TopicPartition("t", 1)])
    assert step.pending() == {TopicPartition("t", 0): 42}


async def test_publish_checks_the_registry_before_any_io() -> None:
    producer = Producer(BusConfig("k:9092"), registry=REGISTRY)  # never started
    struct_event = Event.from_message(Struct(), source="/s", key="k")
    with pytest.raises(UndeclaredEventType):
        await producer.publish("test.bus.v1", struct_event)
    with pytest.raises(UnknownTopic):
        await producer.publish("nope.v1", struct_event)
    with pytest.raises(NotStarted):
        await producer.publish(
            "test.bus.v1", Event.from_message(StringValue(value="x"), source="/s", key="k")
        )
