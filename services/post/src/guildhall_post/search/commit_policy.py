"""When to commit the search index: after enough changes, or soon after the first one.

A tantivy commit costs a segment flush and an fsync, so committing after
every event would make indexing slow and the index fragmented; never
committing would leave new items unsearchable. :class:`CommitPolicy` bounds
both: a change is searchable at most ``max_delay`` seconds after it was
staged, and a batch holds at most ``max_pending`` changes.
:class:`AutoCommitter` applies the policy from an asyncio task, running the
blocking commit in a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from guildhall_post.search.index import SearchIndex


@dataclass(frozen=True, slots=True)
class CommitPolicy:
    """Commit once ``max_pending`` changes are staged, or ``max_delay`` seconds after the first.

    Raises ValueError when a bound is not positive.
    """

    max_pending: int = 1_000
    """Staged changes (documents, deletions, positions) that trigger a commit."""
    max_delay: float = 1.0
    """Seconds from the oldest staged change to its commit: the search freshness bound."""

    def __post_init__(self) -> None:
        if self.max_pending < 1:
            raise ValueError(f"max_pending must be at least 1, got {self.max_pending}")
        if not self.max_delay > 0:
            raise ValueError(f"max_delay must be positive, got {self.max_delay}")

    def due(self, pending: int, age: float | None) -> bool:
        """Whether a batch of ``pending`` changes, the oldest ``age`` seconds old, should commit."""
        if pending <= 0 or age is None:
            return False
        return pending >= self.max_pending or age >= self.max_delay

    def wait(self, pending: int, age: float | None) -> float | None:
        """Seconds until the batch is due; 0 when due now; None when nothing is staged."""
        if pending <= 0 or age is None:
            return None
        if self.due(pending, age):
            return 0.0
        return self.max_delay - age


def commit_if_due(index: SearchIndex, policy: CommitPolicy) -> bool:
    """Commit ``index`` when ``policy`` says so; True when it committed. Blocks while committing."""
    if policy.due(index.pending_changes, index.pending_age()):
        return index.commit()
    return False


class AutoCommitter:
    """Commits a :class:`SearchIndex` according to a :class:`CommitPolicy`, from asyncio.

    Run :meth:`run` as a task; call :meth:`kick` (from the event loop's
    thread) after staging changes, so a batch that reached ``max_pending``
    commits without waiting for the delay. Commits run in a worker thread.
    Cancelling the task stops it without a last commit: call :meth:`flush`
    on shutdown to keep what is staged.
    """

    def __init__(self, index: SearchIndex, policy: CommitPolicy | None = None) -> None:
        self._index = index
        self._policy = policy or CommitPolicy()
        self._wake = asyncio.Event()
        self.commits = 0
        """How many commits this committer made (for tests and metrics)."""

    def kick(self) -> None:
        """Ask the committer to look at the index now. Cheap; event-loop thread only."""
        self._wake.set()

    async def flush(self) -> bool:
        """Commit whatever is staged, now. True when something was committed."""
        committed = await asyncio.to_thread(self._index.commit)
        self.commits += int(committed)
        return committed

    async def run(self) -> None:
        """Commit whenever the policy says so, until cancelled. Commit errors propagate."""
        while True:
            wait = self._policy.wait(self._index.pending_changes, self._index.pending_age())
            if wait is None or wait > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=wait)
                self._wake.clear()
            if self._policy.due(self._index.pending_changes, self._index.pending_age()):
                await self.flush()
