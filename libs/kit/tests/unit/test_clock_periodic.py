"""Clock and ids; the periodic task loop keeps going past a failing pass."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from guildhall_kit.clock import aware, id_floor, new_id, now_ms
from guildhall_kit.periodic import every


def test_now_is_whole_milliseconds_utc() -> None:
    now = now_ms()
    assert now.tzinfo is UTC
    assert now.microsecond % 1000 == 0


def test_ids_are_lowercase_ulids_sorted_by_time() -> None:
    early = datetime(2026, 1, 1, tzinfo=UTC)
    late = early + timedelta(milliseconds=1)
    a, b = new_id(early), new_id(late)
    assert len(a) == 26
    assert a == a.lower()
    assert a < b


def test_id_floor_bounds_ids_of_its_millisecond() -> None:
    at = datetime(2026, 3, 4, 5, 6, 7, 8000, tzinfo=UTC)
    floor = id_floor(at)
    assert all(floor <= new_id(at) for _ in range(50))
    assert new_id(at - timedelta(milliseconds=1)) < floor
    assert id_floor(at + timedelta(milliseconds=1)) > new_id(at)


def test_aware_fills_in_utc() -> None:
    naive = datetime(2026, 1, 1)
    assert aware(naive) == datetime(2026, 1, 1, tzinfo=UTC)
    assert aware(None) is None


async def test_periodic_task_survives_a_failing_pass() -> None:
    passes: list[int] = []
    four = asyncio.Event()

    async def task() -> int:
        passes.append(len(passes))
        if len(passes) == 4:
            four.set()
        if len(passes) == 2:
            raise RuntimeError("boom")
        return len(passes)

    loop = asyncio.create_task(every(0.01, task, name="t", first_after=0)())
    async with asyncio.timeout(5):
        await four.wait()
    loop.cancel()
    with pytest.raises(asyncio.CancelledError):
        await loop
    assert passes[:4] == [0, 1, 2, 3]


def test_periodic_task_refuses_bad_periods() -> None:
    async def task() -> None:
        return None

    with pytest.raises(ValueError, match="positive"):
        every(0, task, name="t")
    with pytest.raises(ValueError, match="jitter"):
        every(1, task, name="t", jitter=2)
