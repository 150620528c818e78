"""Search never returns what the principal may not read, whatever the query string says."""

from __future__ import annotations

import random
import string
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from guildhall_post.search import ItemKind, SearchDoc, SearchIndex, SearchPage

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
MINE = frozenset({"team", "pinhole-acme"})


def doc(item_id: str, space: str, title: str, body: str = "", **kw: object) -> SearchDoc:
    return SearchDoc(
        item_id=item_id,
        space_id=space,
        kind=kw.pop("kind", ItemKind.DISCUSSION),  # type: ignore[arg-type]
        title=title,
        body=body,
        author_id="ann",
        created_at=T0 + timedelta(seconds=len(item_id)),
        version=1,
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
def index() -> Iterator[SearchIndex]:
    with SearchIndex.open(None, writer_threads=1, writer_heap_bytes=20_000_000) as ix:
        for d in [
            doc("t1", "team", "Merger timeline", "what we may share about the merger"),
            doc("p1", "pinhole-acme", "Acme delivery schedule", "merger not mentioned here"),
            # Outside MINE, and the best possible match for the queries below.
            doc(
                "x1",
                "secret-board",
                "Merger",
                "merger merger merger secret title",
                tags=("merger",),
            ),
            doc("x2", "other", "Secret salaries", "space_id other title secret"),
            doc("x3", "pinhole-globex", "Merger timeline", "a partner's copy"),
        ]:
            ix.upsert(d)
        ix.commit()
        yield ix


def spaces(page: SearchPage) -> set[str]:
    return {h.space_id for h in page.hits}


def test_unreadable_best_match_is_never_returned(index: SearchIndex) -> None:
    page = index.search("merger", readable_spaces=MINE)
    assert {h.item_id for h in page.hits} == {"t1", "p1"}
    assert page.total == 2  # the count does not reveal the hidden matches either
    exact = index.search("Merger timeline", readable_spaces=MINE)
    assert [h.item_id for h in exact.hits] == ["t1"]


def test_a_partner_sees_only_its_pinhole(index: SearchIndex) -> None:
    acme = frozenset({"pinhole-acme"})
    for query in ["merger", "merger timeline", "", "secret", "delivery"]:
        assert spaces(index.search(query, readable_spaces=acme)) <= acme


def test_empty_readable_set_returns_nothing(index: SearchIndex) -> None:
    for query in ["merger", "", "*", "secret"]:
        page = index.search(query, readable_spaces=frozenset())
        assert page.hits == []
        assert page.total == 0


def test_revoked_space_disappears_on_the_next_search(index: SearchIndex) -> None:
    before = frozenset({"pinhole-acme"})
    assert index.search("acme", readable_spaces=before).total == 1
    # The caller computes readable spaces per request; after a revoke it is empty.
    assert index.search("acme", readable_spaces=frozenset()).total == 0


def test_space_filter_cannot_escape_readable_spaces(index: SearchIndex) -> None:
    page = index.search("merger", readable_spaces=MINE, space="secret-board")
    assert page.hits == []
    assert page.total == 0


def test_paging_over_restricted_results_has_no_gaps_or_duplicates() -> None:
    with SearchIndex.open(None, writer_threads=1, writer_heap_bytes=20_000_000) as ix:
        rng = random.Random(3)  # noqa: S311 - reproducible test data, not security
        readable = frozenset({"a", "b", "c"})
        expected = set()
        for i in range(200):
            space = rng.choice(["a", "b", "c", "x", "y", "z"])
            ix.upsert(
                doc(f"d{i:03}", space, f"Quarterly report {i}", "report " * rng.randint(1, 9))
            )
            if space in readable:
                expected.add(f"d{i:03}")
        ix.commit()
        seen: list[str] = []
        for offset in range(0, 210, 7):
            page = ix.search("report", readable_spaces=readable, limit=7, offset=offset)
            assert page.total == len(expected)
            seen += [h.item_id for h in page.hits]
        assert len(seen) == len(set(seen)) == len(expected)
        assert set(seen) == expected


HOSTILE = [
    '{"$gt": ""}',
    '{"$ne": null, "$where": "1==1"}',
    "title:secret",
    "space_id:other",
    "space_id:secret-board OR space_id:other",
    "doc_type:tombstone",
    "item_id:x1",
    "*",
    "*:*",
    "merger OR secret",
    "+merger -timeline",
    "NOT timeline",
    '"merger',
    "merger^1000",
    "merger~2",
    "(merger AND (secret",
    "[a TO z]",
    "{a TO z}",
    "title:/.*/",
    ".*",
    "^(a+)+$",
    "(?i)merger|secret",
    "\\",
    "\\\\merger\\:secret",
    "'; DROP TABLE posts; --",
    "<script>alert(1)</script>",
    "\x00merger\x00",
    "\u202emerger\u202c",  # right-to-left override
    "mer\u200bger",  # zero-width space
    "\ud800",  # a lone surrogate
    "🤝 merger 🔥",
    "合并 merger",
    "\uff4d\uff45\uff52\uff47\uff45\uff52",  # "merger" in fullwidth letters; NFKC folds it
    "merger" * 10_000,
    " ".join(["merger"] * 5_000),
    "a" * 100_000,
    "",
    "   \t\n ",
]


@pytest.mark.parametrize("query", HOSTILE, ids=lambda q: repr(q)[:40])
def test_hostile_queries_neither_raise_nor_widen_access(index: SearchIndex, query: str) -> None:
    started = time.perf_counter()
    page = index.search(query, readable_spaces=MINE)
    assert spaces(page) <= MINE
    assert page.total <= 2
    assert time.perf_counter() - started < 1.0
    partner = index.search(query, readable_spaces=frozenset({"pinhole-acme"}), kinds=["idea"])  # type: ignore[list-item]
    assert partner.hits == []


def test_field_syntax_is_read_as_plain_words(index: SearchIndex) -> None:
    # Unrestricted, so only the query decides: "space_id:other" must not act as
    # a filter on the space field. It is the words "space", "id", "other",
    # which x2 contains in its body; nothing else matches.
    assert [h.item_id for h in index.search("space_id:other", readable_spaces=None).hits] == ["x2"]
    titles = index.search("title:secret", readable_spaces=None)
    assert {h.item_id for h in titles.hits} == {"x1", "x2"}  # the words "title" and "secret"
    assert index.search("doc_type:tombstone", readable_spaces=None).hits == []


def test_random_punctuation_never_raises_or_leaks(index: SearchIndex) -> None:
    rng = random.Random(11)  # noqa: S311 - reproducible fuzzing, not security
    alphabet = string.punctuation + string.whitespace + "mergerscttilAORNDT:_é✓\u0000"
    for _ in range(300):
        query = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        page = index.search(query, readable_spaces=MINE, limit=5)
        assert spaces(page) <= MINE
