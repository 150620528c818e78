"""The Kubernetes topics Job's command creates every registry topic on a real broker.

Run as a process, as the Job runs it, with this test's own topic prefix.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from guildhall_kit.bus import BusConfig
from guildhall_kit.bus.registry import load_registry

pytestmark = pytest.mark.integration


def _said(stdout: str, verb: str) -> set[str]:
    """The topics of the job's report lines ``<verb> <topic>`` (log lines are JSON)."""
    return {line.split()[1] for line in stdout.splitlines() if line.startswith(f"{verb} ")}


def _run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "guildhall_kit.bus.topics_job"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_the_job_creates_every_registry_topic_and_a_rerun_finds_them(
    config: BusConfig,
) -> None:
    env = {
        **os.environ,
        "GUILDHALL_KAFKA_BOOTSTRAP_SERVERS": config.bootstrap_servers,
        "GUILDHALL_TOPIC_PREFIX": config.topic_prefix,
    }
    env.pop("GUILDHALL_MONGO_URI", None)  # the job needs no database
    wanted = {config.topic(spec.name): spec.partitions for spec in load_registry()}
    assert wanted, "the registry is empty"

    first = _run(env)
    assert first.returncode == 0, first.stderr
    assert _said(first.stdout, "created") == set(wanted)

    admin = AIOKafkaAdminClient(bootstrap_servers=config.bootstrap_servers)
    await admin.start()
    try:
        described = await admin.describe_topics(list(wanted))
    finally:
        await admin.close()
    partitions = {t["topic"]: len(t["partitions"]) for t in described}
    assert partitions == wanted

    again = _run(env)
    assert again.returncode == 0, again.stderr
    assert _said(again.stdout, "exists") == set(wanted)
    assert _said(again.stdout, "created") == set()


def test_an_unreachable_broker_fails_the_job(infra: Any) -> None:
    del infra
    env = {
        **os.environ,
        "GUILDHALL_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
        "GUILDHALL_TOPIC_PREFIX": "unreachable.",
        "GUILDHALL_KAFKA_ADMIN_TIMEOUT_SECONDS": "3",
    }
    failed = _run(env)
    assert failed.returncode == 1, (failed.stdout, failed.stderr)
    assert "kafka topics:" in failed.stderr
