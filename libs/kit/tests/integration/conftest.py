"""Fixtures shared by the kit's integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from guildhall_kit.bus import BusConfig


@pytest.fixture
async def config(infra: Any, unique: str) -> AsyncIterator[BusConfig]:
    """A bus config whose topics carry this test's own prefix; they are deleted afterwards."""
    bus = BusConfig(
        bootstrap_servers=infra.kafka_bootstrap_servers,
        topic_prefix=f"t{unique}.",
        client_id="test",
        linger_ms=0,
    )
    yield bus
    # The broker outlives the test run: remove this test's topics (and dead-letter topics).
    admin = AIOKafkaAdminClient(bootstrap_servers=bus.bootstrap_servers)
    await admin.start()
    try:
        mine = [t for t in await admin.list_topics() if t.startswith(bus.topic_prefix)]
        if mine:
            await admin.delete_topics(mine)
    finally:
        await admin.close()
