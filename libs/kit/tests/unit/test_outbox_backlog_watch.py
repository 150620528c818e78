"""The outbox backlog gauges cost database reads only while someone reads them.

On the local FerretDB the backlog's date range scans the collection, so the
sampler must stay quiet in a service nobody scrapes (tests, benchmarks,
``make run``) and wake up within a tick of the first scrape. The database here
is a recorder of the sampler's calls: what is tested is when it reads, not
what MongoDB answers (the platform metrics test scrapes a real service).
"""

from __future__ import annotations

import asyncio
from typing import Any

from opentelemetry import metrics

from guildhall_kit import outbox


class _Collection:
    def __init__(self, calls: list[str], name: str) -> None:
        self._calls, self._name = calls, name

    async def count_documents(self, _filter: Any, **_kwargs: Any) -> int:
        self._calls.append(self._name)
        return 0


class _Database:
    name = "recorder"

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __getitem__(self, name: str) -> _Collection:
        return _Collection(self.calls, name)


def _as_db(db: _Database) -> Any:
    return db


def _scrape() -> None:
    """What a Prometheus scrape does to the gauge: run its callback."""
    list(outbox._observe_pending(metrics.CallbackOptions()))


async def test_nobody_reads_the_gauges_so_nothing_is_sampled() -> None:
    outbox._last_observed = float("-inf")
    db = _Database()
    task = asyncio.create_task(
        outbox.watch_backlog(_as_db(db), ["posts"], every_seconds=0.05, tick_seconds=0.01)
    )
    await asyncio.sleep(0.3)
    assert db.calls == []

    _scrape()
    await asyncio.sleep(0.5)
    task.cancel()
    sampled = len(db.calls)
    assert sampled >= 2, "sampling starts once the gauges are read, and repeats"
    assert sampled <= 11, f"at most one sample per every_seconds, got {sampled} in 0.5 s"


async def test_sampling_stops_when_the_reads_stop() -> None:
    db = _Database()
    _scrape()
    task = asyncio.create_task(
        outbox.watch_backlog(
            _as_db(db), ["posts"], every_seconds=0.02, idle_after_seconds=0.1, tick_seconds=0.01
        )
    )
    await asyncio.sleep(0.25)
    early = len(db.calls)
    await asyncio.sleep(0.25)
    task.cancel()
    assert early >= 1, "sampled while the last read was recent"
    assert len(db.calls) == early, "no sample once the last read is older than idle_after"
