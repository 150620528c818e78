"""The topic registry: the packaged files are valid, and invalid descriptions are refused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from guildhall_kit.bus.registry import (
    DLQ_INFIX,
    Registry,
    RegistryError,
    TopicSpec,
    UndeclaredEventType,
    UnknownTopic,
    dlq_topic_name,
    load_registry,
    parse_duration_ms,
    parse_topic_file,
)

SERVICES = ("profile", "community", "post", "notification", "gateway")

VALID = """\
name: guildhall.post.v1
owner: post
description: content facts
key: post id
partitions: 12
retention: 30d
cleanup_policy: delete
event_types:
  - guildhall.post.v1.PostCreated
consumers: [notification]
"""


def test_packaged_registry_has_one_topic_per_producing_service() -> None:
    registry = load_registry()
    assert sorted(spec.name for spec in registry) == sorted(f"guildhall.{s}.v1" for s in SERVICES)
    for service in SERVICES:
        (owned,) = registry.owned_by(service)
        assert owned.name == f"guildhall.{service}.v1"
        assert owned.event_types, service
        assert all(t.startswith(f"guildhall.{service}.v1.") for t in owned.event_types)


def test_packaged_registry_names_the_design_events() -> None:
    registry = load_registry()
    assert registry.get("guildhall.post.v1").declares("guildhall.post.v1.PostCreated")
    assert registry.get("guildhall.community.v1").declares("guildhall.community.v1.PinholeRevoked")
    assert registry.get("guildhall.gateway.v1").declares(
        "guildhall.gateway.v1.PartnerAccessAudited"
    )
    assert "guildhall.post.v1" in [s.name for s in registry.consumed_by("notification")]


def test_registry_lists_exactly_the_event_messages_of_each_services_contract() -> None:
    protos = Path(__file__).resolve().parents[4] / "protos" / "guildhall"
    registry = load_registry()
    for service in SERVICES:
        text = (protos / service / "v1" / "events.proto").read_text(encoding="utf-8")
        messages = {
            f"guildhall.{service}.v1.{name}"
            for name in re.findall(r"^message (\w+) \{", text, re.MULTILINE)
        }
        declared = set(registry.get(f"guildhall.{service}.v1").event_types)
        assert declared == messages, f"{service}: registry and events.proto disagree"


def test_load_registry_from_a_directory(tmp_path: Path) -> None:
    (tmp_path / "guildhall.post.v1.yaml").write_text(VALID)
    (tmp_path / "README.txt").write_text("ignored")
    registry = load_registry(tmp_path)
    spec = registry.get("guildhall.post.v1")
    assert spec.partitions == 12
    assert spec.retention_ms == 30 * 86_400_000
    assert spec.topic_configs() == {
        "cleanup.policy": "delete",
        "retention.ms": str(spec.retention_ms),
    }
    assert spec.consumers == ("notification",)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("owner: post", "owner: profile"), "owner must be 'post'"),
        (("partitions: 12", "partitions: 0"), "partitions must be between"),
        (("partitions: 12", "partitions: twelve"), "partitions must be an integer"),
        (("retention: 30d", "retention: 30 days"), "invalid duration"),
        (("cleanup_policy: delete", "cleanup_policy: keep"), "cleanup_policy"),
        (("guildhall.post.v1.PostCreated", "guildhall.profile.v1.PostCreated"), "not in package"),
        (("guildhall.post.v1.PostCreated", "PostCreated"), "full protobuf message name"),
        (("key: post id", "key: ''"), "key must say"),
        (("consumers: [notification]", "consumers: [Notification]"), "not a service name"),
        (("description: content facts", "descr: content facts"), "unknown keys"),
        (("name: guildhall.post.v1", "name: post-events"), "legal|guildhall.<service>"),
    ],
)
def test_invalid_topic_files_are_refused_with_the_reason(
    change: tuple[str, str], message: str
) -> None:
    text = VALID.replace(*change)
    with pytest.raises(RegistryError, match=message):
        parse_topic_file(text, "guildhall.post.v1.yaml")


def test_file_must_be_named_after_its_topic() -> None:
    with pytest.raises(RegistryError, match=r"named after it: guildhall.post.v1.yaml"):
        parse_topic_file(VALID, "posts.yaml")


def test_not_yaml_is_refused() -> None:
    with pytest.raises(RegistryError, match="not valid YAML"):
        parse_topic_file("name: [unclosed", "guildhall.post.v1.yaml")


def test_duplicate_event_types_and_reserved_config_are_refused() -> None:
    with pytest.raises(RegistryError, match="duplicates"):
        TopicSpec(
            name="t.v1", owner="t", event_types=("a.B", "a.B"), partitions=1, retention_ms=1000
        )
    with pytest.raises(RegistryError, match=r"retention\.ms with its own field"):
        TopicSpec(
            name="t.v1",
            owner="t",
            event_types=("a.B",),
            partitions=1,
            retention_ms=1000,
            config={"retention.ms": "5"},
        )


def test_a_topic_described_twice_is_refused() -> None:
    spec = TopicSpec(name="t.v1", owner="t", event_types=("a.B",), partitions=1, retention_ms=-1)
    with pytest.raises(RegistryError, match="described twice"):
        Registry([spec, spec])


def test_check_publish_refuses_unknown_topics_and_undeclared_types() -> None:
    spec = TopicSpec(name="t.v1", owner="t", event_types=("a.B",), partitions=1, retention_ms=-1)
    registry = Registry([spec])
    assert registry.check_publish("t.v1", "a.B") is spec
    with pytest.raises(UndeclaredEventType):
        registry.check_publish("t.v1", "a.C")
    with pytest.raises(UnknownTopic):
        registry.check_publish("other.v1", "a.B")


@pytest.mark.parametrize(
    ("text", "millis"),
    [
        ("500ms", 500),
        ("45s", 45_000),
        ("90m", 5_400_000),
        ("12h", 43_200_000),
        ("7d", 604_800_000),
        (-1, -1),
        (1000, 1000),
    ],
)
def test_durations(text: str | int, millis: int) -> None:
    assert parse_duration_ms(text) == millis


@pytest.mark.parametrize("text", ["0d", "7 days", "", "-5s", 0, -2, "1w"])
def test_bad_durations(text: str | int) -> None:
    with pytest.raises(RegistryError):
        parse_duration_ms(text)


def test_dead_letter_topic_name_is_per_topic_and_group() -> None:
    assert dlq_topic_name("t1.guildhall.post.v1", "notification") == (
        f"t1.guildhall.post.v1{DLQ_INFIX}notification"
    )
    assert dlq_topic_name("a.v1", "g1") != dlq_topic_name("a.v1", "g2")
    with pytest.raises(RegistryError):
        dlq_topic_name("a.v1", "bad group")
