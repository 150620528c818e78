"""On-disk index, consumer positions, commit policy, auto-commit and concurrent use."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from guildhall_post.search import (
    SCHEMA_VERSION,
    AutoCommitter,
    CommitPolicy,
    ItemKind,
    SearchDoc,
    SearchIndex,
    SearchIndexError,
    commit_if_due,
)

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
TOPIC = "guildhall.post.v1"


def doc(item_id: str, title: str, *, version: int = 1, space: str = "s1") -> SearchDoc:
    return SearchDoc(
        item_id=item_id,
        space_id=space,
        kind=ItemKind.WIKI,
        title=title,
        body=f"body of {title}",
        author_id="ann",
        created_at=T0,
        version=version,
    )


def small(path: Path | None) -> SearchIndex:
    return SearchIndex.open(path, writer_threads=1, writer_heap_bytes=20_000_000)


@pytest.fixture
def memory() -> Iterator[SearchIndex]:
    with small(None) as ix:
        yield ix


# ---------------------------------------------------------------- on disk


def test_committed_state_and_positions_survive_reopening(tmp_path: Path) -> None:
    with small(tmp_path) as ix:
        assert ix.directory == tmp_path / f"schema-v{SCHEMA_VERSION}"
        ix.upsert(doc("a", "Durable page"))
        ix.delete("gone", version=5)
        ix.record_position(TOPIC, 0, 42)
        ix.record_position(TOPIC, 7, 3)
        ix.commit()
        ix.upsert(doc("b", "Never committed"))
        ix.record_position(TOPIC, 0, 50)
    with small(tmp_path) as ix:
        assert ix.positions() == {(TOPIC, 0): 42, (TOPIC, 7): 3}
        assert [h.item_id for h in ix.search("durable", readable_spaces=None).hits] == ["a"]
        assert ix.search("never", readable_spaces=None).total == 0
        assert ix.get("a") == doc("a", "Durable page")
        assert not ix.upsert(doc("gone", "older event", version=4))  # the tombstone persisted


def test_a_second_writer_on_the_same_directory_is_refused(tmp_path: Path) -> None:
    with small(tmp_path), pytest.raises(SearchIndexError, match="cannot open"):
        small(tmp_path)


def test_positions_never_move_backwards_until_cleared(memory: SearchIndex) -> None:
    memory.record_position(TOPIC, 1, 10)
    memory.commit()
    memory.record_position(TOPIC, 1, 4)  # a replay after a rebalance
    memory.record_position(TOPIC, 2, 1)
    memory.commit()
    assert memory.positions() == {(TOPIC, 1): 10, (TOPIC, 2): 1}
    memory.clear()
    memory.record_position(TOPIC, 1, 3)
    memory.commit()
    assert memory.positions() == {(TOPIC, 1): 3}
    with pytest.raises(ValueError, match="negative"):
        memory.record_position(TOPIC, -1, 0)


def test_bookkeeping_is_never_an_item(memory: SearchIndex) -> None:
    memory.record_position(TOPIC, 1, 10)
    memory.delete("gone", version=1)
    memory.commit()
    # Whatever key a caller tries, positions and tombstones never come back as items.
    for key in ["gone", f"\x1f{TOPIC}\x1f1", TOPIC, "1"]:
        assert memory.get(key) is None
    assert memory.search("", readable_spaces=None).total == 0
    assert memory.search("guildhall post", readable_spaces=None).total == 0


def test_positions_commit_together_with_the_batch(memory: SearchIndex) -> None:
    memory.upsert(doc("a", "batched"))
    memory.record_position(TOPIC, 0, 1)
    assert memory.positions() == {}
    memory.commit()
    assert memory.positions() == {(TOPIC, 0): 1}
    assert memory.search("batched", readable_spaces=None).total == 1


# ---------------------------------------------------------------- commit policy


def test_policy_is_due_on_count_or_age() -> None:
    policy = CommitPolicy(max_pending=3, max_delay=0.5)
    assert not policy.due(0, None)
    assert not policy.due(2, 0.1)
    assert policy.due(3, 0.0)
    assert policy.due(1, 0.5)
    assert policy.wait(0, None) is None
    assert policy.wait(1, 0.2) == pytest.approx(0.3)
    assert policy.wait(3, 0.0) == 0.0


@pytest.mark.parametrize(("pending", "delay"), [(0, 1.0), (1, 0.0), (1, -1.0)])
def test_policy_rejects_non_positive_bounds(pending: int, delay: float) -> None:
    with pytest.raises(ValueError, match="max_"):
        CommitPolicy(max_pending=pending, max_delay=delay)


def test_commit_if_due(memory: SearchIndex) -> None:
    policy = CommitPolicy(max_pending=2, max_delay=3600)
    memory.upsert(doc("a", "one"))
    assert not commit_if_due(memory, policy)
    memory.upsert(doc("b", "two"))
    assert commit_if_due(memory, policy)
    assert memory.pending_changes == 0
    assert memory.pending_age() is None
    assert memory.search("", readable_spaces=None).total == 2


async def _until(condition: Callable[[], bool], within: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_auto_committer_commits_after_the_delay(memory: SearchIndex) -> None:
    committer = AutoCommitter(memory, CommitPolicy(max_pending=1000, max_delay=0.05))
    task = asyncio.create_task(committer.run())
    try:
        await asyncio.to_thread(memory.upsert, doc("a", "fresh"))
        committer.kick()
        await _until(lambda: memory.search("fresh", readable_spaces=None).total == 1)
        assert committer.commits == 1
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_auto_committer_commits_a_full_batch_at_once(memory: SearchIndex) -> None:
    committer = AutoCommitter(memory, CommitPolicy(max_pending=3, max_delay=3600))
    task = asyncio.create_task(committer.run())
    try:
        for i in range(3):
            await asyncio.to_thread(memory.upsert, doc(f"d{i}", f"batch {i}"))
        committer.kick()
        await _until(lambda: memory.pending_changes == 0)
        assert memory.search("batch", readable_spaces=None).total == 3
        await asyncio.to_thread(memory.upsert, doc("late", "straggler"))
        committer.kick()
        await asyncio.sleep(0.05)
        assert memory.pending_changes == 1  # not due: below max_pending, long delay
        assert await committer.flush()
        assert not await committer.flush()
        assert memory.search("straggler", readable_spaces=None).total == 1
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


# ---------------------------------------------------------------- concurrency


def test_searches_run_concurrently_with_writes_and_see_whole_commits(memory: SearchIndex) -> None:
    batches, batch = 20, 25
    errors: list[BaseException] = []
    done = threading.Event()

    def reader() -> None:
        last = 0
        try:
            while not done.is_set():
                total = memory.search("page", readable_spaces=frozenset({"s1"}), limit=5).total
                assert total % batch == 0, total  # a commit is seen whole or not at all
                assert total >= last  # and never goes back
                last = total
        except BaseException as exc:  # noqa: BLE001 - any failure in the thread fails the test
            errors.append(exc)

    readers = [threading.Thread(target=reader) for _ in range(3)]
    for t in readers:
        t.start()
    try:
        for b in range(batches):
            for i in range(batch):
                memory.upsert(doc(f"d{b}-{i}", f"page {b} {i}"))
            memory.commit()
    finally:
        done.set()
        for t in readers:
            t.join()
    assert errors == []
    assert memory.search("page", readable_spaces=None).total == batches * batch
