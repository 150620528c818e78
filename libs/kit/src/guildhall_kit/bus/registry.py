"""The topic registry: every Kafka topic described once, and read by code.

One YAML file per topic lives in ``guildhall_kit/topics/<name>.yaml``. It names
the owning (only producing) service, the services that consume it, the event
types it carries, how its messages are keyed, and how the topic is created
(partitions, retention, cleanup policy). :func:`load_registry` reads and
validates all of them; :func:`guildhall_kit.bus.admin.ensure_topics` creates
what is missing; the producer refuses to publish a type the registry does not
list for the topic.

Dead-letter topics are not listed: each (topic, consumer group) pair gets one,
named by :func:`dlq_topic_name`, created on demand with :data:`DLQ_PARTITIONS`
and :data:`DLQ_RETENTION_MS`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Final, Literal, cast, get_args

import yaml

CleanupPolicy = Literal["delete", "compact", "compact,delete"]

# Kafka's own rule for topic names (legal characters, at most 249 of them).
_KAFKA_NAME = re.compile(r"^[A-Za-z0-9._-]{1,249}$")
# Guildhall's convention for registry topics: one per producing service and major version.
_GUILDHALL_TOPIC = re.compile(r"^guildhall\.(?P<service>[a-z][a-z0-9_]*)\.v(?P<major>[1-9][0-9]*)$")
_EVENT_TYPE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*\.[A-Z][A-Za-z0-9]*$")
_SERVICE = re.compile(r"^[a-z][a-z0-9_-]*$")
_DURATION = re.compile(r"^(?P<n>[0-9]+)(?P<unit>ms|s|m|h|d)$")
_UNIT_MS: Final = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}

DLQ_INFIX: Final = ".dlq."
"""Dead-letter topics are named ``<physical topic>.dlq.<consumer group>``."""

DLQ_PARTITIONS: Final = 1
"""Dead-letter traffic is rare and read by people; one partition keeps it in one order."""

DLQ_RETENTION_MS: Final = 30 * 86_400_000
"""Dead letters are kept 30 days, long enough to notice, fix and replay them."""

_KNOWN_KEYS: Final = frozenset(
    {
        "name",
        "owner",
        "description",
        "key",
        "partitions",
        "retention",
        "cleanup_policy",
        "event_types",
        "consumers",
        "config",
    }
)


class RegistryError(ValueError):
    """A topic description is invalid, or a lookup names something the registry lacks."""


class UnknownTopic(RegistryError):  # noqa: N818 - reads as the condition, like KeyError
    """The topic is not in the registry."""


class UndeclaredEventType(RegistryError):  # noqa: N818 - reads as the condition
    """The event type is not declared for the topic it is published to."""


def parse_duration_ms(value: str | int) -> int:
    """Milliseconds for ``"30d"``, ``"12h"``, ``"90m"``, ``"45s"``, ``"500ms"``, or -1 (forever).

    Raises:
        RegistryError: for any other value.
    """
    if isinstance(value, bool):
        raise RegistryError(f"invalid duration {value!r}")
    if isinstance(value, int):
        if value == -1 or value > 0:
            return value
        raise RegistryError(f"invalid duration {value!r}: must be positive or -1 (forever)")
    match = _DURATION.match(value.strip())
    if match is None:
        raise RegistryError(f"invalid duration {value!r}: expected e.g. 30d, 12h, 90m, 45s, 500ms")
    millis = int(match["n"]) * _UNIT_MS[match["unit"]]
    if millis <= 0:
        raise RegistryError(f"invalid duration {value!r}: must be positive")
    return millis


def dlq_topic_name(physical_topic: str, group: str) -> str:
    """The dead-letter topic of ``group`` for ``physical_topic`` (both already prefixed).

    One dead-letter topic per (topic, consumer group): a message poisonous to one
    consumer is not a problem for the others, and replaying it targets one group.

    Raises:
        RegistryError: when the resulting name is not a legal Kafka topic name.
    """
    name = f"{physical_topic}{DLQ_INFIX}{group}"
    if not _KAFKA_NAME.match(name):
        raise RegistryError(f"dead-letter topic name {name!r} is not a legal Kafka topic name")
    return name


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """One topic as the registry describes it. Constructing one validates it.

    Raises:
        RegistryError: naming the topic and the offending field.
    """

    name: str
    """Logical name, e.g. ``guildhall.post.v1``; the physical name adds ``topic_prefix``."""
    owner: str
    """The one service that publishes to it."""
    event_types: tuple[str, ...]
    """Full protobuf message names the topic may carry (the ``ce_type`` values)."""
    partitions: int
    """Partition count at creation. Changing it later remaps keys: plan a new topic."""
    retention_ms: int
    """``retention.ms``; ``-1`` keeps messages forever."""
    description: str = ""
    key: str = ""
    """What the message key is (always an aggregate id, so its events stay in order)."""
    cleanup_policy: CleanupPolicy = "delete"
    consumers: tuple[str, ...] = ()
    """Services that consume the topic (documentation and review aid)."""
    config: Mapping[str, str] = field(default_factory=dict)
    """Further topic configs passed verbatim at creation (e.g. ``max.message.bytes``)."""

    def __post_init__(self) -> None:
        problems = list(self._problems())
        if problems:
            raise RegistryError(f"topic {self.name!r}: " + "; ".join(problems))

    def _problems(self) -> Iterator[str]:
        if not _KAFKA_NAME.match(self.name) or DLQ_INFIX in self.name:
            yield "name is not a legal Kafka topic name"
        if not _SERVICE.match(self.owner):
            yield f"owner {self.owner!r} is not a service name"
        if not 1 <= self.partitions <= 1000:
            yield "partitions must be between 1 and 1000"
        if not (self.retention_ms == -1 or self.retention_ms > 0):
            yield "retention must be positive or -1 (forever)"
        if self.cleanup_policy not in get_args(CleanupPolicy):
            yield f"cleanup_policy {self.cleanup_policy!r} is invalid"
        if not self.event_types:
            yield "event_types must not be empty"
        yield from (
            f"event type {t!r} is not a full protobuf message name"
            for t in self.event_types
            if not _EVENT_TYPE.match(t)
        )
        if len(set(self.event_types)) != len(self.event_types):
            yield "event_types has duplicates"
        yield from (
            f"consumer {c!r} is not a service name" for c in self.consumers if not _SERVICE.match(c)
        )
        yield from (
            f"set {k} with its own field, not in config"
            for k in ("cleanup.policy", "retention.ms")
            if k in self.config
        )

    def topic_configs(self) -> dict[str, str]:
        """The topic-level configs to create the topic with."""
        return {
            "cleanup.policy": self.cleanup_policy,
            "retention.ms": str(self.retention_ms),
            **self.config,
        }

    def declares(self, event_type: str) -> bool:
        """Whether ``event_type`` may be published to this topic."""
        return event_type in self.event_types


class Registry:
    """An immutable set of :class:`TopicSpec`, looked up by logical name."""

    def __init__(self, topics: Iterable[TopicSpec]) -> None:
        by_name: dict[str, TopicSpec] = {}
        for spec in topics:
            if spec.name in by_name:
                raise RegistryError(f"topic {spec.name!r} is described twice")
            by_name[spec.name] = spec
        self._topics = by_name

    def __iter__(self) -> Iterator[TopicSpec]:
        return iter(sorted(self._topics.values(), key=lambda s: s.name))

    def __len__(self) -> int:
        return len(self._topics)

    def __contains__(self, name: object) -> bool:
        return name in self._topics

    def get(self, name: str) -> TopicSpec:
        """The spec of topic ``name``.

        Raises:
            UnknownTopic: when the registry does not describe it.
        """
        try:
            return self._topics[name]
        except KeyError:
            raise UnknownTopic(f"topic {name!r} is not in the registry") from None

    def check_publish(self, topic: str, event_type: str) -> TopicSpec:
        """The spec of ``topic`` if it may carry ``event_type``.

        Raises:
            UnknownTopic: when the topic is not described.
            UndeclaredEventType: when the topic does not list the type.
        """
        spec = self.get(topic)
        if not spec.declares(event_type):
            raise UndeclaredEventType(
                f"event type {event_type!r} is not declared for topic {topic!r}; "
                f"add it to the topic's registry file"
            )
        return spec

    def owned_by(self, service: str) -> list[TopicSpec]:
        """The topics ``service`` publishes to."""
        return [spec for spec in self if spec.owner == service]

    def consumed_by(self, service: str) -> list[TopicSpec]:
        """The topics that list ``service`` as a consumer."""
        return [spec for spec in self if service in spec.consumers]


def _spec_from_mapping(raw: Mapping[str, Any], origin: str) -> TopicSpec:
    unknown = set(raw) - _KNOWN_KEYS
    if unknown:
        raise RegistryError(f"{origin}: unknown keys {sorted(unknown)}")
    missing = {"name", "owner", "partitions", "retention", "event_types"} - set(raw)
    if missing:
        raise RegistryError(f"{origin}: missing keys {sorted(missing)}")

    def str_list(key: str) -> tuple[str, ...]:
        value = raw.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise RegistryError(f"{origin}: {key} must be a list of strings")
        return tuple(value)

    def text(key: str) -> str:
        value = raw.get(key, "")
        if not isinstance(value, str):
            raise RegistryError(f"{origin}: {key} must be a string")
        return value

    partitions = raw["partitions"]
    if not isinstance(partitions, int) or isinstance(partitions, bool):
        raise RegistryError(f"{origin}: partitions must be an integer")
    retention = raw["retention"]
    if not isinstance(retention, str | int):
        raise RegistryError(f"{origin}: retention must be a duration such as 30d, or -1")
    config = raw.get("config") or {}
    if not isinstance(config, dict):
        raise RegistryError(f"{origin}: config must be a mapping")
    try:
        return TopicSpec(
            name=text("name"),
            owner=text("owner"),
            description=text("description").strip(),
            key=text("key").strip(),
            partitions=partitions,
            retention_ms=parse_duration_ms(retention),
            cleanup_policy=cast(CleanupPolicy, raw.get("cleanup_policy", "delete")),
            event_types=str_list("event_types"),
            consumers=str_list("consumers"),
            config={str(k): str(v) for k, v in config.items()},
        )
    except RegistryError as exc:
        raise RegistryError(f"{origin}: {exc}") from None


def check_conventions(spec: TopicSpec, origin: str) -> None:
    """Guildhall's rules for registry topics, beyond what any topic must satisfy.

    The name is ``guildhall.<owner>.v<N>``; every event type is a message of the
    protobuf package of the same name (``guildhall.post.v1.PostCreated`` on
    ``guildhall.post.v1``); a key description and a description are present.

    Raises:
        RegistryError: naming the file and the broken rule.
    """
    match = _GUILDHALL_TOPIC.match(spec.name)
    if match is None:
        raise RegistryError(f"{origin}: name must be guildhall.<service>.v<N>")
    if match["service"] != spec.owner:
        raise RegistryError(f"{origin}: owner must be {match['service']!r}, the service it names")
    for event_type in spec.event_types:
        package, _, _message = event_type.rpartition(".")
        if package != spec.name:
            raise RegistryError(
                f"{origin}: event type {event_type!r} is not in package {spec.name!r}"
            )
    if not spec.key:
        raise RegistryError(f"{origin}: key must say which aggregate id keys the messages")
    if not spec.description:
        raise RegistryError(f"{origin}: description must not be empty")


def parse_topic_file(text: str, origin: str) -> TopicSpec:
    """Parse and fully validate one registry file's text.

    Raises:
        RegistryError: naming ``origin`` and the problem.
    """
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RegistryError(f"{origin}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise RegistryError(f"{origin}: expected a mapping at the top level")
    spec = _spec_from_mapping(raw, origin)
    check_conventions(spec, origin)
    expected_file = f"{spec.name}.yaml"
    if Path(origin).name != expected_file:
        raise RegistryError(f"{origin}: a topic's file is named after it: {expected_file}")
    return spec


def load_registry(directory: Path | None = None) -> Registry:
    """Read every ``*.yaml`` in ``directory`` (default: the kit's packaged registry).

    Pure file reading; no network. The packaged registry is validated by the
    kit's unit tests, so a service fails here only if its install is broken.

    Raises:
        RegistryError: for the first invalid file, naming it.
    """
    if directory is None:
        root = resources.files("guildhall_kit").joinpath("topics")
        entries = [
            (entry.name, entry.read_text(encoding="utf-8"))
            for entry in root.iterdir()
            if entry.name.endswith(".yaml")
        ]
    else:
        entries = [
            (path.name, path.read_text(encoding="utf-8"))
            for path in directory.iterdir()
            if path.suffix == ".yaml"
        ]
    if not entries:
        raise RegistryError(f"no topic files found in {directory or 'guildhall_kit/topics'}")
    return Registry(parse_topic_file(text, name) for name, text in sorted(entries))
