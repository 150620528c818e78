"""The expert directory search against a brute-force ranking of the same rows.

An in-memory "index" plays the repository: per-tag rows sorted by key (the
``experts_by_tag`` range), and every row by person. Paging through every page
must give exactly the brute-force ranking, for random data full of ties, with
and without cursors.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest

from guildhall_profile.domain.expertise import (
    DirectoryCursor,
    DirectorySearch,
    ExpertMatch,
    ExpertRow,
    TagRead,
    key_prefix,
    match_of,
)


class Index:
    """The two reads the repository offers, over a list of rows."""

    def __init__(self, rows: Sequence[ExpertRow]) -> None:
        self.rows = list(rows)
        self.rows_read = 0

    def read(self, read: TagRead) -> list[ExpertRow]:
        rows = sorted((r for r in self.rows if r.tag == read.tag), key=lambda r: r.key)
        if read.after_key is not None:
            rows = [r for r in rows if r.key > read.after_key]
        elif read.from_key is not None:
            rows = [r for r in rows if r.key >= read.from_key]
        out = rows[: read.limit]
        self.rows_read += len(out)
        return out

    def of(self, person_ids: Sequence[str], tags: Sequence[str]) -> list[ExpertRow]:
        ids = set(person_ids)
        return [r for r in self.rows if r.person_id in ids and r.tag in tags]


class StaleIndex(Index):
    """Ranges that return rows that changed before their people were resolved (a write
    between the two reads); people are resolved from their current rows only."""

    def __init__(self, rows: Sequence[ExpertRow], stale: Sequence[ExpertRow]) -> None:
        super().__init__(rows)
        self.current = list(rows)
        self.rows = [*rows, *stale]

    def of(self, person_ids: Sequence[str], tags: Sequence[str]) -> list[ExpertRow]:
        ids = set(person_ids)
        return [r for r in self.current if r.person_id in ids and r.tag in tags]


def run(
    index: Index,
    tags: Sequence[str],
    page_size: int,
    after: DirectoryCursor | None = None,
    batch: int | None = None,
) -> tuple[list[ExpertMatch], DirectoryCursor | None]:
    search = DirectorySearch(tags, page_size=page_size, after=after, batch_size=batch)
    guard = 0
    while not search.done:
        guard += 1
        assert guard < 10_000, "search does not terminate"
        for read in search.reads():
            search.feed(read, index.read(read))
        search.resolve(index.of(search.unresolved(), search.tags))
    page = search.page()
    return list(page.experts), page.next_cursor


def brute_force(rows: Sequence[ExpertRow], tags: Sequence[str]) -> list[ExpertMatch]:
    people = sorted({r.person_id for r in rows})
    matches = [match_of(p, [r for r in rows if r.person_id == p], tags) for p in people]
    return sorted((m for m in matches if m is not None), key=lambda m: m.sort_key)


def random_rows(rng: random.Random, people: int, tags: Sequence[str]) -> list[ExpertRow]:
    rows = []
    for n in range(people):
        pid = f"p{n:04d}"
        for tag in tags:
            roll = rng.random()
            if roll < 0.5:
                continue
            earned = rng.choice([0, 0, 0, 1, 1, 2, 3, 5, 8, 40])
            declared = rng.random() < 0.4
            if earned == 0 and not declared:
                declared = True
            rows.append(ExpertRow(tag, pid, earned, declared))
    return rows


def all_pages(
    index: Index, tags: Sequence[str], page_size: int, batch: int | None = None
) -> list[ExpertMatch]:
    seen: list[ExpertMatch] = []
    cursor: DirectoryCursor | None = None
    for _ in range(1000):
        page, cursor = run(index, tags, page_size, cursor, batch)
        seen.extend(page)
        if cursor is None:
            return seen
    raise AssertionError("paging does not end")


@pytest.mark.parametrize("seed", range(40))
def test_paging_through_every_page_gives_the_brute_force_ranking(seed: int) -> None:
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not security
    all_tags = ["python", "sap-fi", "c++", ".net", "k8s"]
    rows = random_rows(rng, rng.randint(0, 120), all_tags)
    tags = rng.sample(all_tags, rng.randint(1, 4))
    expected = brute_force(rows, tags)
    page_size = rng.choice([1, 2, 3, 7, 20, 100])
    got = all_pages(Index(rows), tags, page_size, batch=rng.choice([None, 1, 2, 5]))
    assert [m.person_id for m in got] == [m.person_id for m in expected]
    assert got == expected


def test_earned_ranks_above_declared_then_declared_count_then_id() -> None:
    rows = [
        ExpertRow("python", "decl-only", 0, True),
        ExpertRow("k8s", "decl-only", 0, True),
        ExpertRow("python", "one-answer", 1, False),
        ExpertRow("python", "b-two", 1, True),
        ExpertRow("python", "a-two", 1, True),
    ]
    got, cursor = run(Index(rows), ["python", "k8s"], 10)
    assert [m.person_id for m in got] == ["a-two", "b-two", "one-answer", "decl-only"]
    assert cursor is None
    assert got[-1].earned_score == 0
    assert got[-1].declared_matches == 2
    assert [s.tag for s in got[-1].signals] == ["k8s", "python"]


def test_signals_are_summed_over_the_matched_tags_only() -> None:
    rows = [
        ExpertRow("python", "ada", 3, False),
        ExpertRow("k8s", "ada", 4, True),
        ExpertRow("java", "ada", 100, False),
        ExpertRow("python", "bob", 6, False),
    ]
    got, _ = run(Index(rows), ["python", "k8s"], 10)
    assert [(m.person_id, m.earned_score, m.declared_matches) for m in got] == [
        ("ada", 7, 1),
        ("bob", 6, 0),
    ]
    assert [(s.tag, s.accepted_answers, s.declared) for s in got[0].signals] == [
        ("k8s", 4, True),
        ("python", 3, False),
    ]


def test_a_search_reads_a_few_batches_not_every_row_of_the_tags() -> None:
    # 5,000 experts on each of two tags, accepted answers falling off like real
    # activity does (a few people answer most questions); nobody is in both tags,
    # the case where the bound (sum of the tags' last counts) is loosest.
    rows = []
    for n in range(5000):
        rows.append(ExpertRow("python", f"p{n:05d}", 2000 // (n + 1), False))
        rows.append(ExpertRow("k8s", f"q{n:05d}", 1500 // (n + 1), n % 2 == 0))
    index = Index(rows)
    got, cursor = run(index, ["python", "k8s"], 20)
    assert len(got) == 20
    assert cursor is not None
    assert index.rows_read < 500
    # and a deep page starts near the cursor instead of at the top
    index.rows_read = 0
    deep = DirectoryCursor(earned_score=40, declared_matches=0, person_id="p00049")
    page, _ = run(index, ["python", "k8s"], 20, deep)
    assert all(m.sort_key > deep.sort_key for m in page)
    assert index.rows_read < 500


def test_single_tag_page_ends_exactly() -> None:
    rows = [ExpertRow("python", f"p{n}", 1, False) for n in range(3)]
    got, cursor = run(Index(rows), ["python"], 3)
    assert len(got) == 3
    assert cursor is None
    got, cursor = run(Index(rows), ["python"], 2)
    assert cursor == DirectoryCursor(1, 0, "p1")
    rest, cursor = run(Index(rows), ["python"], 2, after=DirectoryCursor(1, 0, "p1"))
    assert [m.person_id for m in rest] == ["p2"]
    assert cursor is None


def test_no_rows_is_an_empty_last_page() -> None:
    got, cursor = run(Index([]), ["python", "go"], 5)
    assert got == []
    assert cursor is None


def test_people_whose_rows_vanished_meanwhile_drop_out() -> None:
    search = DirectorySearch(["python"], page_size=5)
    (read,) = search.reads()
    search.feed(read, [ExpertRow("python", "gone", 2, False)])
    search.resolve([])  # the person's rows were deleted between the two reads
    assert search.done
    assert search.page().experts == ()


def test_row_keys_order_most_earned_then_declared_then_id() -> None:
    rows = [
        ExpertRow("t", "b", 1, False),
        ExpertRow("t", "a", 1, False),
        ExpertRow("t", "c", 1, True),
        ExpertRow("t", "z", 2, False),
        ExpertRow("t", "y", 0, True),
    ]
    assert [r.person_id for r in sorted(rows, key=lambda r: r.key)] == [
        "z",
        "c",
        "a",
        "b",
        "y",
    ]
    assert ExpertRow("t", "a", 3, True).key >= key_prefix(3)
    assert ExpertRow("t", "a", 4, True).key < key_prefix(3)


def test_misuse_is_refused() -> None:
    with pytest.raises(ValueError, match="tag"):
        DirectorySearch([], page_size=1)
    search = DirectorySearch(["python"], page_size=1)
    with pytest.raises(RuntimeError):
        search.page()
    (read,) = search.reads()
    with pytest.raises(ValueError, match="rows"):
        search.feed(read, [ExpertRow("go", "x", 1, False)])


@pytest.mark.parametrize("seed", range(30))
def test_rows_changed_between_range_and_resolve_change_no_page(seed: int) -> None:
    rng = random.Random(1000 + seed)  # noqa: S311 - reproducible test data, not security
    all_tags = ["python", "sap-fi", "k8s"]
    rows = random_rows(rng, rng.randint(0, 80), all_tags)
    # Rows people no longer have: other counts, other declarations, people with nothing now.
    stale = [
        ExpertRow(r.tag, r.person_id, rng.choice([0, 1, 7, 50]), rng.random() < 0.5)
        for r in rng.sample(rows, min(len(rows), 25))
    ]
    stale += [ExpertRow(rng.choice(all_tags), f"gone{n}", n, True) for n in range(5)]
    stale = [r for r in stale if r not in rows]
    tags = rng.sample(all_tags, rng.randint(1, 3))
    expected = brute_force(rows, tags)
    page_size = rng.choice([1, 2, 5, 20])
    got = all_pages(StaleIndex(rows, stale), tags, page_size, batch=rng.choice([None, 1, 3]))
    assert got == expected


def test_a_deep_page_of_one_tag_starts_at_the_cursor() -> None:
    # 20,000 people who declared the tag and answered nothing: the cursor's score
    # (0) says nothing, the cursor's own row says where the page starts.
    rows = [ExpertRow("python", f"p{n:05d}", 0, True) for n in range(20_000)]
    rows += [ExpertRow("python", f"a{n:05d}", 1 + n % 3, n % 2 == 0) for n in range(500)]
    index = Index(rows)
    deep = DirectoryCursor(earned_score=0, declared_matches=1, person_id="p12345")
    page, cursor = run(index, ["python"], 20, deep)
    assert [m.person_id for m in page] == [f"p{n:05d}" for n in range(12346, 12366)]
    assert cursor == DirectoryCursor(0, 1, "p12365")
    assert index.rows_read <= 50
