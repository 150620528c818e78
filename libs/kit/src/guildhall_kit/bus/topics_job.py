"""``python -m guildhall_kit.bus.topics_job``: create every topic of the registry, then exit.

The Kubernetes Job ``guildhall-kafka-topics`` (deploy/k8s/base/kafka-topics-job.yaml)
runs this before the services roll out, with credentials that may create topics;
the services still call :func:`~guildhall_kit.bus.admin.ensure_topics` at start-up,
which finds them there. Reads the same ``GUILDHALL_KAFKA_*`` and
``GUILDHALL_TOPIC_PREFIX`` settings as every service; needs no database.

Exit status: 0 when every topic exists afterwards (a partition count that
differs from the registry is printed, never changed: raising it is an
operator's decision), 1 when the broker could not be reached or refused, 2 on
bad configuration.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Annotated, ClassVar

from pydantic import Field

from guildhall_kit.bus.admin import TopicSetupFailed, TopicsReport, ensure_topics
from guildhall_kit.bus.config import BusConfig
from guildhall_kit.bus.registry import load_registry
from guildhall_kit.logging import configure_logging
from guildhall_kit.settings import ConfigError, ServiceSettings, load_settings


class TopicsJobSettings(ServiceSettings):
    """The shared settings; the job opens no database, so none is required."""

    service_name: ClassVar[str] = "kafka-topics"
    mongo_uri: Annotated[str, Field(min_length=1)] = "mongodb://unused"


def describe(report: TopicsReport) -> list[str]:
    """One line per topic: created, existing, or existing with other partitions."""
    lines = [f"created {name}" for name in report.created]
    lines += [f"exists {name}" for name in report.existing]
    lines += [
        f"exists {name} with {actual} partitions (the registry says {wanted}; not changed)"
        for name, (wanted, actual) in sorted(report.partition_mismatch.items())
    ]
    return lines


async def create_all(config: BusConfig) -> TopicsReport:
    """Every registry topic, created where missing (physical names carry the prefix)."""
    return await ensure_topics(config, load_registry())


def main(argv: list[str] | None = None) -> int:
    del argv
    try:
        settings = load_settings(TopicsJobSettings)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    configure_logging(settings.service_name, settings.log_level)
    try:
        report = asyncio.run(create_all(BusConfig.from_settings(settings)))
    except TopicSetupFailed as exc:
        print(f"kafka topics: {exc}", file=sys.stderr)
        return 1
    for line in describe(report):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
