"""Fixtures for cross-service tests: the real services as real processes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from guildhall_testsupport.platform import Platform, start_platform


@pytest.fixture
async def platform(infra: Any, tmp_path: Path, unique: str) -> AsyncIterator[Platform]:
    """Every service as a process, SERVING, isolated by ``unique``."""
    async with start_platform(
        kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
        mongo_uri=infra.mongo_uri,
        workdir=tmp_path,
        unique=unique,
    ) as running:
        yield running
