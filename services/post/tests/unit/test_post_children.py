"""Child lists: entry keys sort in listing order, entries are verified against their
children, and paging a list with any page size, stale entries and filters yields exactly
the fitting children after the position, in order, each once (checked against a model).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from guildhall_post.domain.children import (
    MAX_BATCH,
    ChildKind,
    ChildWalk,
    answer_entry,
    answer_fits,
    child_id,
    comment_entry,
    comment_fits,
    comment_key,
    comments_list_id,
    keys_after,
    revision_numbers,
)

ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz_-"


def _rid(rng: random.Random) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 6)))


def test_comment_keys_sort_as_thread_then_id_whatever_the_id_lengths() -> None:
    rng = random.Random(7)  # noqa: S311 -- reproducible test data
    pairs = [(_rid(rng), _rid(rng)) for _ in range(2000)]
    by_tuple = sorted(set(pairs))
    by_key = sorted({comment_key(t, c) for t, c in pairs})
    assert by_key == [comment_key(t, c) for t, c in by_tuple]
    assert [child_id(k) for k in by_key] == [c for _, c in by_tuple]


def test_entries_name_their_parents_lists() -> None:
    answer = answer_entry({"_id": "a1", "question_id": "q1"})
    assert (answer.list_id, answer.parent_id, answer.key) == ("q1:answers", "q1", "a1")
    assert answer.kind is ChildKind.ANSWERS
    on_post = comment_entry({"_id": "c2", "post_id": "p1", "answer_id": "", "thread_id": "c1"})
    assert (on_post.list_id, on_post.key) == ("p1:comments", "c1 c2")
    on_answer = comment_entry({"_id": "c3", "post_id": "p1", "answer_id": "a1", "thread_id": "c3"})
    assert (on_answer.list_id, on_answer.parent_id) == ("a1:comments", "a1")
    assert comments_list_id("p1", "") != comments_list_id("p1", "a1")


def test_an_entry_fits_only_its_own_child_on_its_own_parent() -> None:
    answer = {"_id": "a1", "question_id": "q1"}
    assert answer_fits("a1", answer, "q1")
    assert not answer_fits("a1", answer, "q2")
    assert not answer_fits("a2", answer, "q1")
    comment = {"_id": "c2", "post_id": "p1", "answer_id": "", "thread_id": "c1"}
    assert comment_fits("c1 c2", comment, "p1", "")
    assert not comment_fits("c1 c2", comment, "p1", "a1")
    assert not comment_fits("c1 c2", comment, "p2", "")
    assert not comment_fits("c9 c2", comment, "p1", "")  # not the thread its entry says


def test_keys_after_is_strict_and_drops_duplicates() -> None:
    assert keys_after(["b", "a", "c", "b"], None) == ["a", "b", "c"]
    assert keys_after(["b", "a", "c"], "b") == ["c"]
    assert keys_after(["b", "a", "c"], "bb") == ["c"]
    assert keys_after(["b", "a", "c"], "c") == []


def test_revision_numbers_count_down_to_one() -> None:
    assert revision_numbers(5, 3) == [5, 4, 3]
    assert revision_numbers(2, 5) == [2, 1]
    assert revision_numbers(0, 5) == []


def _page_all(
    entries: list[str],
    docs: Mapping[str, Mapping[str, Any]],
    fits: Any,
    size: int,
) -> tuple[list[str], int]:
    """Page through like the listing does: size + 1 wanted, token = the last key shown."""
    out: list[str] = []
    position: str | None = None
    reads = 0
    while True:
        walk = ChildWalk(entries, position, size + 1, fits)
        while ids := walk.next_ids():
            assert len(ids) <= MAX_BATCH
            reads += 1
            walk.take({i: docs[i] for i in ids if i in docs})
        page = [str(d["key"]) for d in walk.found]
        out += page[:size]
        if len(page) <= size:
            return out, reads
        position = page[size - 1]


def test_paging_matches_a_model_with_stale_entries_and_filters() -> None:
    rng = random.Random(2026)  # noqa: S311 -- reproducible test data
    for _ in range(200):
        entries: list[str] = []
        docs: dict[str, dict[str, Any]] = {}
        for n in range(rng.randint(0, 120)):
            thread = f"t{rng.randint(0, 9)}"
            cid = f"c{n:04d}"
            key = comment_key(thread, cid)
            entries.append(key)
            roll = rng.random()
            if roll < 0.1:
                continue  # stale: the child was never stored
            parent = "other" if roll < 0.15 else "p"
            docs[cid] = {"_id": cid, "key": key, "parent": parent, "ok": rng.random() < 0.7}
        entries += rng.sample(entries, k=min(len(entries), 5))  # repeated upserts

        def fits(key: str, doc: Mapping[str, Any]) -> bool:
            return bool(doc["key"] == key and doc["parent"] == "p" and doc["ok"])

        expected = sorted(d["key"] for d in docs.values() if fits(d["key"], d))
        size = rng.randint(1, 25)
        got, _ = _page_all(entries, docs, fits, size)
        assert got == expected


def test_a_page_reads_its_size_plus_one_first_and_doubles_when_short() -> None:
    entries = [f"a{n:03d}" for n in range(100)]
    docs = {k: {"_id": k, "key": k} for k in entries}
    walk = ChildWalk(entries, None, 21, lambda k, d: True)
    assert len(walk.next_ids()) == 21
    walk.take(docs)
    assert walk.done
    assert len(walk.found) == 21
    sparse = ChildWalk(entries, None, 21, lambda k, d: k.endswith("0"))
    sizes = []
    while ids := sparse.next_ids():
        sizes.append(len(ids))
        sparse.take(docs)
    assert sizes == [21, 42, 37]
    assert len(sparse.found) == 10
