"""Topic creation at start-up, from the registry.

Brokers run with automatic topic creation off, so a topic exists only if
someone created it with the partitions and retention the registry states.
Every service calls :func:`ensure_topics` for the topics it publishes or
consumes before it starts its producer and consumers; consumers create their
dead-letter topics with :func:`ensure_dlq_topics`. Both are idempotent and safe
to run from many processes at once (an "already exists" answer is success).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError, for_code

from guildhall_kit.bus.config import BusConfig
from guildhall_kit.bus.errors import BusError
from guildhall_kit.bus.registry import (
    DLQ_PARTITIONS,
    DLQ_RETENTION_MS,
    Registry,
    TopicSpec,
    dlq_topic_name,
)
from guildhall_kit.logging import get_logger

_log = get_logger(__name__)

_MAX_REPLICATION = 3


class TopicSetupFailed(BusError):  # noqa: N818 - reads as the condition it reports
    """Topics could not be created or checked (broker unreachable, refused, timed out)."""


@dataclass(frozen=True, slots=True)
class _Wanted:
    name: str
    partitions: int
    configs: Mapping[str, str]


@dataclass(slots=True)
class TopicsReport:
    """What :func:`ensure_topics` found and did (physical names)."""

    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    partition_mismatch: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Existing topics whose partition count differs: name -> (registry, actual)."""


async def _create(
    admin: AIOKafkaAdminClient, config: BusConfig, missing: list[_Wanted], report: TopicsReport
) -> None:
    brokers = len((await admin.describe_cluster()).get("brokers", [])) or 1
    replication = min(_MAX_REPLICATION, brokers)
    # One replica may be down and writes with acks=all still succeed.
    min_insync = str(max(1, replication - 1))
    response: Any = await admin.create_topics(
        [
            NewTopic(
                name=w.name,
                num_partitions=w.partitions,
                replication_factor=replication,
                topic_configs={"min.insync.replicas": min_insync, **w.configs},
            )
            for w in missing
        ],
        timeout_ms=config.request_timeout_ms,
    )
    for entry in response.topic_errors:
        name, code = entry[0], entry[1]
        message = entry[2] if len(entry) > 2 else ""
        if code == 0:
            report.created.append(name)
        elif for_code(code) is TopicAlreadyExistsError:
            report.existing.append(name)  # another process won the race
        else:
            raise TopicSetupFailed(
                f"creating topic {name!r} failed: {for_code(code).__name__} {message}"
            )


async def _check_existing(
    admin: AIOKafkaAdminClient, existing: list[_Wanted], report: TopicsReport
) -> None:
    described = await admin.describe_topics([w.name for w in existing])
    actual = {t["topic"]: len(t["partitions"]) for t in described}
    for w in existing:
        report.existing.append(w.name)
        if actual.get(w.name, w.partitions) != w.partitions:
            report.partition_mismatch[w.name] = (w.partitions, actual[w.name])


async def _ensure(config: BusConfig, wanted: list[_Wanted]) -> TopicsReport:
    report = TopicsReport()
    if not wanted:
        return report
    admin = AIOKafkaAdminClient(**config.admin_options())
    try:
        async with asyncio.timeout(config.admin_timeout_seconds):
            await admin.start()
            present = set(await admin.list_topics())
            missing = [w for w in wanted if w.name not in present]
            if missing:
                await _create(admin, config, missing, report)
            existing = [w for w in wanted if w.name in present]
            if existing:
                await _check_existing(admin, existing, report)
    except TimeoutError as exc:
        raise TopicSetupFailed(
            f"topic setup did not finish within {config.admin_timeout_seconds}s"
        ) from exc
    except KafkaError as exc:
        raise TopicSetupFailed(f"topic setup failed: {exc!r}") from exc
    finally:
        await admin.close()
    for name, (declared, actual_count) in report.partition_mismatch.items():
        # Not altered automatically: adding partitions remaps keys and breaks per-key order.
        _log.warning(
            "topic partition count differs from the registry",
            topic=name,
            registry=declared,
            actual=actual_count,
        )
    if report.created:
        _log.info("created kafka topics", topics=report.created)
    return report


async def ensure_topics(
    config: BusConfig, registry: Registry, names: Iterable[str] | None = None
) -> TopicsReport:
    """Create the registry topics ``names`` (default: all) that do not exist yet.

    Physical names carry ``config.topic_prefix``. Replication is the smaller of
    3 and the broker count; ``min.insync.replicas`` is one less (at least 1).
    Existing topics are left alone; a partition count that differs from the
    registry is reported and logged, never changed. Blocks for at most
    ``config.admin_timeout_seconds``.

    Raises:
        UnknownTopic: a name is not in the registry (no I/O done).
        TopicSetupFailed: the broker was unreachable, refused, or too slow.
    """
    specs: list[TopicSpec] = (
        list(registry) if names is None else [registry.get(name) for name in names]
    )
    wanted = [
        _Wanted(config.topic(spec.name), spec.partitions, spec.topic_configs()) for spec in specs
    ]
    return await _ensure(config, wanted)


async def ensure_dlq_topics(config: BusConfig, topics: Iterable[str], group: str) -> list[str]:
    """Create the dead-letter topics of logical ``group`` for logical ``topics``; return them.

    Blocks for at most ``config.admin_timeout_seconds``.

    Raises:
        TopicSetupFailed: the broker was unreachable, refused, or too slow.
        RegistryError: a resulting name is not a legal topic name.
    """
    names = [dlq_topic_name(config.topic(t), group) for t in topics]
    await _ensure(
        config,
        [
            _Wanted(
                name,
                DLQ_PARTITIONS,
                {"cleanup.policy": "delete", "retention.ms": str(DLQ_RETENTION_MS)},
            )
            for name in names
        ],
    )
    return names
