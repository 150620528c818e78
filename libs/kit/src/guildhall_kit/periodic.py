"""Periodic background tasks: one loop shape for sweepers, recounts and timers.

A service returns ``every(...)`` among its ``ServiceParts.background``; the
gRPC app runs it beside the server and cancels it on stop. A pass that raises
is logged and the next pass runs on schedule: a periodic task is bookkeeping
that the next pass repeats, never a reason to stop the service.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from guildhall_kit.logging import get_logger

_log = get_logger(__name__)

Pass = Callable[[], Awaitable[object]]
"""One pass of a periodic task; a truthy result is logged as the pass's outcome."""


def every(
    seconds: float,
    task: Pass,
    *,
    name: str,
    first_after: float | None = None,
    jitter: float = 0.1,
) -> Callable[[], Coroutine[Any, Any, None]]:
    """A background coroutine factory that runs ``task`` every ``seconds`` until cancelled.

    The first pass starts after ``first_after`` seconds (default: one period).
    Each pause is stretched by up to ``jitter`` of the period at random, so the
    replicas of a service do not run their passes in lockstep.

    Raises:
        ValueError: ``seconds`` is not positive or ``jitter`` is outside 0..1.
    """
    if seconds <= 0:
        raise ValueError("a periodic task needs a positive period")
    if not 0 <= jitter <= 1:
        raise ValueError("jitter is a fraction of the period, 0..1")

    async def loop() -> None:
        pause = seconds if first_after is None else first_after
        while True:
            await asyncio.sleep(pause * (1 + random.uniform(0, jitter)))  # noqa: S311 - spreading passes, not security
            try:
                outcome = await task()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the next pass retries; a pass never stops the service
                _log.exception("periodic pass failed", task=name)
            else:
                if outcome:
                    _log.info("periodic pass", task=name, outcome=outcome)
            pause = seconds

    loop.__name__ = f"every_{name}"
    return loop
