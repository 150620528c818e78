"""Search engine: finding, ranking, filters, versions, deletion, rebuild. In memory, no I/O."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from guildhall_post.search import (
    MAX_LIMIT,
    MAX_OFFSET,
    Hit,
    ItemKind,
    SearchDoc,
    SearchIndex,
    SearchIndexClosed,
    SearchPage,
)

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
ALL = None  # readable_spaces=None: unrestricted, as the service itself may search


def doc(
    item_id: str,
    title: str = "",
    body: str = "",
    *,
    space: str = "s1",
    kind: ItemKind = ItemKind.DISCUSSION,
    tags: tuple[str, ...] = (),
    author: str = "ann",
    at: datetime = T0,
    version: int = 1,
    answered: bool = False,
    parent: str | None = None,
) -> SearchDoc:
    return SearchDoc(
        item_id=item_id,
        space_id=space,
        kind=kind,
        title=title,
        body=body,
        tags=tags,
        author_id=author,
        created_at=at,
        version=version,
        answered=answered,
        parent_id=parent,
    )


@pytest.fixture
def index() -> Iterator[SearchIndex]:
    with SearchIndex.open(None, writer_threads=1, writer_heap_bytes=20_000_000) as ix:
        yield ix


def put(ix: SearchIndex, *docs: SearchDoc) -> None:
    for d in docs:
        assert ix.upsert(d), d.item_id
    ix.commit()


def ids(page: SearchPage) -> list[str]:
    return [h.item_id for h in page.hits]


def found(ix: SearchIndex, query: str, **kw: object) -> list[str]:
    return ids(ix.search(query, readable_spaces=kw.pop("readable_spaces", ALL), **kw))  # type: ignore[arg-type]


# ---------------------------------------------------------------- finding


def test_finds_words_in_title_body_and_tags(index: SearchIndex) -> None:
    put(
        index,
        doc("t", "Quarterly forecast", "nothing here"),
        doc("b", "Untitled", "the warehouse inventory is low"),
        doc("g", "Another", "plain text", tags=("Logistics",)),
    )
    assert found(index, "forecast") == ["t"]
    assert found(index, "inventory") == ["b"]
    assert found(index, "logistics") == ["g"]


def test_english_stemming_case_and_accents(index: SearchIndex) -> None:
    put(
        index,
        doc("a", "Running the Reports", "Café opening hours"),
        doc("b", "Other", "unrelated words"),
    )
    assert found(index, "run report") == ["a"]
    assert found(index, "REPORTS") == ["a"]
    assert found(index, "cafe") == ["a"]
    assert found(index, "café") == ["a"]


def test_all_words_must_match_for_short_queries(index: SearchIndex) -> None:
    put(index, doc("ab", "alpha beta"), doc("a", "alpha"), doc("b", "beta"))
    assert found(index, "alpha beta") == ["ab"]


def test_when_nothing_has_every_word_half_of_them_suffice(index: SearchIndex) -> None:
    put(index, doc("x", "alpha beta gamma delta"), doc("y", "alpha epsilon"), doc("z", "omega"))
    strict = index.search("alpha beta", readable_spaces=ALL)
    assert (ids(strict), strict.relaxed) == (["x"], False)
    # A typo: no item has all four words, so two of four are enough.
    relaxed = index.search("alpha beta gamma dleta", readable_spaces=ALL)
    assert (ids(relaxed), relaxed.relaxed) == (["x"], True)
    assert sorted(found(index, "alpha omega")) == ["x", "y", "z"]  # one of two words


def test_relaxing_only_looks_at_readable_items(index: SearchIndex) -> None:
    put(index, doc("hidden", "alpha beta", space="other"), doc("mine", "alpha gamma"))
    page = index.search("alpha beta", readable_spaces=frozenset({"s1"}))
    assert (ids(page), page.relaxed, page.total) == (["mine"], True, 1)


def test_stop_words_alone_do_not_match_everything(index: SearchIndex) -> None:
    put(index, doc("a", "Budget", "the plan for the year"), doc("b", "The", "x"))
    # Only the exact title "The" matches a query of stop words.
    assert found(index, "the") == ["b"]


# ---------------------------------------------------------------- ranking


def test_exact_title_ranks_first(index: SearchIndex) -> None:
    noisy = " ".join(["expense report"] * 30)
    put(
        index,
        doc("long", "Expense report policy and expense report deadlines", noisy, tags=("expense",)),
        doc("body", "Finance notes", noisy),
        doc("exact", "Expense report", "A short page."),
        doc("prefix", "Expense reports for travel", "expense report travel"),
    )
    assert found(index, "expense report")[0] == "exact"
    # Case, punctuation and spacing do not matter for the exact match.
    assert found(index, "  EXPENSE   report?! ")[0] == "exact"


def test_exact_title_beats_many_strong_partial_matches(index: SearchIndex) -> None:
    docs = [
        doc(
            f"p{i}",
            "New hires: onboarding checklist, hires",
            "onboarding checklist new hires " * 50,
        )
        for i in range(20)
    ]
    put(index, *docs, doc("exact", "Onboarding checklist for new hires", "see the wiki"))
    page = index.search("onboarding checklist for new hires", readable_spaces=ALL)
    assert page.hits[0].item_id == "exact"
    assert page.hits[0].score > max(h.score for h in page.hits[1:])


def test_title_words_outrank_body_words(index: SearchIndex) -> None:
    put(
        index,
        doc("in-body", "Weekly notes", "We discussed the kubernetes upgrade today."),
        doc("in-title", "Kubernetes upgrade", "We discussed the plan today, nothing else."),
    )
    assert found(index, "kubernetes") == ["in-title", "in-body"]


def test_title_phrase_outranks_scattered_words(index: SearchIndex) -> None:
    put(
        index,
        doc("scattered", "Data on the platform, and mesh networking", "x"),
        doc("phrase", "Data mesh on the platform today", "x"),
    )
    assert found(index, "data mesh") == ["phrase", "scattered"]


def test_snippet_highlights_matched_words_with_character_offsets(index: SearchIndex) -> None:
    body = "Über die Straße: the naïve deployment checklist for café systems."
    put(index, doc("a", "Title", body))
    hit = index.search("deployment cafe", readable_spaces=ALL).hits[0]
    assert hit.snippet is not None
    marked = [hit.snippet.text[s:e] for s, e in hit.snippet.highlights]
    assert marked == ["deployment", "café"]


def test_snippet_falls_back_to_the_body_lead_and_can_be_turned_off(index: SearchIndex) -> None:
    put(
        index, doc("a", "Budget review", "First line of the body.\n\nMore."), doc("c", "Budget", "")
    )
    hits = {h.item_id: h for h in index.search("budget", readable_spaces=ALL).hits}
    assert hits["a"].snippet is not None
    assert hits["a"].snippet.text == "First line of the body. More."
    assert hits["a"].snippet.highlights == ()
    assert hits["c"].snippet is None
    plain = index.search("budget", readable_spaces=ALL, snippets=False)
    assert all(h.snippet is None for h in plain.hits)


def test_hit_carries_what_a_result_list_shows(index: SearchIndex) -> None:
    at = T0 + timedelta(microseconds=123_457)
    put(
        index,
        doc("q", "Question?", "text", kind=ItemKind.QUESTION, space="s9", author="bob", at=at),
        doc("ans", "", "an answer with text", kind=ItemKind.ANSWER, parent="q", at=at),
    )
    hits = {h.item_id: h for h in index.search("text", readable_spaces=ALL).hits}
    q = hits["q"]
    assert (q.space_id, q.kind, q.title, q.author_id, q.created_at) == (
        "s9",
        ItemKind.QUESTION,
        "Question?",
        "bob",
        at,
    )
    assert q.parent_id is None
    assert hits["ans"].parent_id == "q"
    assert hits["ans"].kind is ItemKind.ANSWER


# ---------------------------------------------------------------- filters


@pytest.fixture
def corpus(index: SearchIndex) -> SearchIndex:
    put(
        index,
        doc("d1", "Release plan", "release", space="s1", tags=("Ops", "q4"), author="ann"),
        doc("q1", "Release question", "release", space="s1", kind=ItemKind.QUESTION, author="bob"),
        doc(
            "q2",
            "Release answered",
            "release",
            space="s2",
            kind=ItemKind.QUESTION,
            answered=True,
            at=T0 + timedelta(days=2),
        ),
        doc("i1", "Release idea", "release", space="s2", kind=ItemKind.IDEA, tags=("ops",)),
        doc("w1", "Release wiki", "release", space="s3", kind=ItemKind.WIKI, at=T0 + timedelta(1)),
    )
    return index


def test_filter_by_space(corpus: SearchIndex) -> None:
    assert sorted(found(corpus, "release", space="s2")) == ["i1", "q2"]


def test_filter_by_kinds(corpus: SearchIndex) -> None:
    assert sorted(found(corpus, "release", kinds=[ItemKind.QUESTION])) == ["q1", "q2"]
    assert sorted(found(corpus, "release", kinds={ItemKind.IDEA, ItemKind.WIKI})) == ["i1", "w1"]
    assert found(corpus, "release", kinds=[]) == []


def test_filter_by_tags_is_case_insensitive_and_needs_all(corpus: SearchIndex) -> None:
    assert sorted(found(corpus, "release", tags=["OPS"])) == ["d1", "i1"]
    assert found(corpus, "release", tags=["ops", "Q4"]) == ["d1"]
    assert found(corpus, "release", tags=["missing"]) == []
    assert len(found(corpus, "release", tags=["  "])) == 5  # a blank tag filters nothing


def test_filter_by_author(corpus: SearchIndex) -> None:
    assert found(corpus, "release", author_id="bob") == ["q1"]


def test_filter_unanswered_questions(corpus: SearchIndex) -> None:
    assert found(corpus, "release", unanswered_only=True) == ["q1"]


def test_filter_by_creation_time_is_half_open(corpus: SearchIndex) -> None:
    day1, day2 = T0 + timedelta(days=1), T0 + timedelta(days=2)
    assert sorted(found(corpus, "release", created_from=day1)) == ["q2", "w1"]
    assert found(corpus, "release", created_from=day1, created_to=day2) == ["w1"]
    assert sorted(found(corpus, "release", created_to=day1)) == ["d1", "i1", "q1"]
    assert found(corpus, "release", created_from=day2, created_to=day1) == []
    # Any time zone: the same instant.
    plus2 = day1.astimezone(timezone(timedelta(hours=2)))
    assert found(corpus, "release", created_from=plus2, created_to=day2) == ["w1"]


def test_filters_combine(corpus: SearchIndex) -> None:
    assert found(corpus, "release", space="s2", kinds=[ItemKind.QUESTION], tags=["ops"]) == []
    assert found(corpus, "release", space="s2", kinds=[ItemKind.IDEA], tags=["ops"]) == ["i1"]


def test_query_without_words_lists_newest_first(corpus: SearchIndex) -> None:
    page = corpus.search("", readable_spaces=ALL)
    assert ids(page)[:2] == ["q2", "w1"]
    assert page.total == 5
    assert all(h.score == 0.0 for h in page.hits)
    assert ids(corpus.search("   ", readable_spaces=ALL, kinds=[ItemKind.QUESTION])) == ["q2", "q1"]


# ---------------------------------------------------------------- paging and validation


def test_paging_has_no_gaps_or_duplicates(index: SearchIndex) -> None:
    put(index, *(doc(f"d{i:02}", f"topic {i}", "shared words " * (i % 7 + 1)) for i in range(45)))
    seen: list[str] = []
    for offset in range(0, 50, 10):
        page = index.search("shared", readable_spaces=ALL, limit=10, offset=offset)
        assert page.total == 45
        seen += ids(page)
    assert len(seen) == 45
    assert len(set(seen)) == 45


@pytest.mark.parametrize(
    "kwargs",
    [
        {"limit": 0},
        {"limit": MAX_LIMIT + 1},
        {"offset": -1},
        {"offset": MAX_OFFSET + 1},
        {"created_from": datetime(2026, 1, 1)},  # a naive datetime
        {"created_to": datetime(2026, 1, 1)},
        {"kinds": ["poem"]},
    ],
)
def test_bad_arguments_raise_value_error(index: SearchIndex, kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the message names the argument; any is fine
        index.search("x", readable_spaces=ALL, **kwargs)  # type: ignore[arg-type]


def test_search_doc_validates() -> None:
    with pytest.raises(ValueError, match="item_id"):
        doc("")
    with pytest.raises(ValueError, match="control"):
        doc("a\x1fb")
    with pytest.raises(ValueError, match="parent_id"):
        doc("a", kind=ItemKind.COMMENT)
    with pytest.raises(ValueError, match="timezone"):
        doc("a", at=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="version"):
        doc("a", version=-1)
    assert doc("a", kind="wiki").kind is ItemKind.WIKI  # type: ignore[arg-type]


# ---------------------------------------------------------------- staging, versions, deletion


def test_changes_are_searchable_only_after_commit(index: SearchIndex) -> None:
    assert index.upsert(doc("a", "staged"))
    assert found(index, "staged") == []
    assert index.get("a") is not None  # the writer's own view includes the batch
    assert index.pending_changes == 1
    assert index.commit()
    assert found(index, "staged") == ["a"]
    assert index.pending_changes == 0
    assert not index.commit()


def test_newer_version_replaces_older(index: SearchIndex) -> None:
    put(index, doc("a", "old title", "apples"))
    put(index, doc("a", "new title", "oranges", version=2))
    assert found(index, "apples") == []
    assert found(index, "oranges") == ["a"]
    assert index.search("", readable_spaces=ALL).total == 1


def test_stale_or_equal_version_is_ignored(index: SearchIndex) -> None:
    put(index, doc("a", "v5", "current", version=5))
    assert not index.upsert(doc("a", "v4", "stale", version=4))
    assert not index.upsert(doc("a", "v5 again", "redelivered", version=5))
    index.commit()
    assert found(index, "stale") == []
    assert found(index, "redelivered") == []
    assert found(index, "current") == ["a"]


def test_stale_version_is_ignored_within_one_batch(index: SearchIndex) -> None:
    assert index.upsert(doc("a", "", "newer", version=3))
    assert not index.upsert(doc("a", "", "older", version=2))
    index.commit()
    assert found(index, "newer") == ["a"]
    assert found(index, "older") == []


def test_delete_removes_item_and_its_answers_and_comments(index: SearchIndex) -> None:
    put(
        index,
        doc("q", "Where is the cafeteria", "", kind=ItemKind.QUESTION),
        doc("a1", "", "cafeteria is on floor 2", kind=ItemKind.ANSWER, parent="q"),
        doc("c1", "", "cafeteria closes early", kind=ItemKind.COMMENT, parent="q"),
        doc("other", "Cafeteria menu", ""),
    )
    assert index.delete("q", version=2)
    index.commit()
    assert found(index, "cafeteria") == ["other"]
    assert index.get("q") is None
    assert index.get("a1") is None


def test_delete_also_removes_children_staged_in_the_same_batch(index: SearchIndex) -> None:
    index.upsert(doc("q", "Parent", "", kind=ItemKind.QUESTION))
    index.upsert(doc("c", "", "fresh comment", kind=ItemKind.COMMENT, parent="q"))
    index.delete("q", version=2)
    assert index.get("c") is None
    index.commit()
    assert found(index, "fresh comment") == []


def test_redelivered_older_events_do_not_resurrect_deleted_content(index: SearchIndex) -> None:
    post = doc("p", "Layoff rumours", "body", version=1)
    comment = doc("c", "", "rumours comment", kind=ItemKind.COMMENT, parent="p", version=2)
    put(index, post, comment)
    index.delete("p", version=3)
    index.commit()
    assert not index.upsert(post)
    assert not index.upsert(replace(post, version=2))
    assert not index.upsert(comment)  # its parent is deleted
    index.commit()
    assert found(index, "rumours") == []


def test_deleting_an_unknown_item_blocks_its_older_events(index: SearchIndex) -> None:
    assert index.delete("ghost", version=7)
    index.commit()
    assert not index.upsert(doc("ghost", "boo", version=6))
    assert index.upsert(doc("ghost", "boo", version=8))  # a later state wins: undeleted
    index.commit()
    assert found(index, "boo") == ["ghost"]


def test_delete_without_version_is_final(index: SearchIndex) -> None:
    put(index, doc("a", "gone"))
    assert index.delete("a")
    index.commit()
    assert not index.upsert(doc("a", "back", version=10**12))
    assert not index.delete("a")
    assert not index.delete("a", version=5)
    assert found(index, "back") == []


def test_stale_delete_is_ignored(index: SearchIndex) -> None:
    put(index, doc("a", "alive", version=4))
    assert not index.delete("a", version=3)
    index.commit()
    assert found(index, "alive") == ["a"]


def test_patch_changes_only_the_given_fields(index: SearchIndex) -> None:
    q = doc("q", "Old question", "old body", kind=ItemKind.QUESTION, tags=("x",), version=1)
    put(index, q)
    assert index.patch("q", version=2, title="New question", tags=["y"])
    index.commit()
    now = index.get("q")
    assert now == replace(q, title="New question", tags=("y",), version=2)
    assert found(index, "new question") == ["q"]
    assert found(index, "old body") == ["q"]
    assert found(index, "old", tags=["x"]) == []


def test_patch_answered_moves_a_question_out_of_unanswered(index: SearchIndex) -> None:
    put(index, doc("q", "How do I", "", kind=ItemKind.QUESTION))
    assert found(index, "", unanswered_only=True) == ["q"]
    assert index.patch("q", version=2, answered=True)
    index.commit()
    assert found(index, "", unanswered_only=True) == []


def test_patch_refuses_unknown_deleted_and_stale(index: SearchIndex) -> None:
    put(index, doc("a", "x", version=3))
    assert not index.patch("missing", version=9, title="t")
    assert not index.patch("a", version=3, title="t")
    index.delete("a", version=4)
    assert not index.patch("a", version=9, title="t")


def test_clear_is_staged_then_empties_everything(index: SearchIndex) -> None:
    put(index, doc("a", "kept until commit"))
    index.record_position("guildhall.post.v1", 0, 10)
    index.commit()
    index.clear()
    assert found(index, "kept") == ["a"]
    assert index.get("a") is None
    index.commit()
    assert found(index, "kept") == []
    assert index.positions() == {}
    assert index.stats().documents == 0


def test_closed_index_refuses_writes(index: SearchIndex) -> None:
    index.upsert(doc("a", "never committed"))
    index.close()
    index.close()
    with pytest.raises(SearchIndexClosed):
        index.upsert(doc("b"))
    with pytest.raises(SearchIndexClosed):
        index.commit()


# ---------------------------------------------------------------- rebuild


@dataclass(frozen=True)
class Deleted:
    item_id: str
    version: int


WORDS = ["budget", "travel", "kubernetes", "onboarding", "release"]
WORDS += ["roadmap", "vendor", "invoice", "cafe", "wiki"]


def _history(rng: random.Random) -> tuple[list[SearchDoc | Deleted], dict[str, SearchDoc]]:
    """A random event history with redeliveries, and the live state it leads to."""
    words = WORDS
    events: list[SearchDoc | Deleted] = []
    live: dict[str, SearchDoc] = {}
    deleted: set[str] = set()
    versions: dict[str, int] = {}
    for n in range(300):
        roll = rng.random()
        item = f"i{rng.randrange(60)}"
        version = versions.get(item, 0) + 1
        if item in deleted:
            continue
        if roll < 0.1 and item in live:
            events.append(Deleted(item, version))
            deleted.add(item)
            live.pop(item)
            for orphan in [k for k, v in live.items() if v.parent_id == item]:
                live.pop(orphan)
        else:
            parents = [k for k, v in live.items() if v.parent_id is None and k != item]
            child = roll < 0.3 and bool(parents) and item not in live
            d = doc(
                item,
                "" if child else " ".join(rng.sample(words, 3)),
                " ".join(rng.choices(words, k=8)),
                space=f"s{rng.randrange(4)}",
                kind=ItemKind.COMMENT if child else rng.choice(list(ItemKind)[:5]),
                tags=tuple(rng.sample(words, 2)),
                at=T0 + timedelta(minutes=n),
                version=version,
                parent=rng.choice(parents) if child else None,
            )
            if item in live and live[item].parent_id is not None:
                d = replace(live[item], body=d.body, version=version)
            events.append(d)
            live[item] = d
        versions[item] = version
        if events and rng.random() < 0.2:
            events.append(rng.choice(events))  # a redelivery of some earlier event
    return events, live


def test_rebuild_equals_incremental() -> None:
    rng = random.Random(8)  # noqa: S311 - reproducible test data, not security
    events, live = _history(rng)
    with (
        SearchIndex.open(None, writer_threads=1, writer_heap_bytes=20_000_000) as incremental,
        SearchIndex.open(None, writer_threads=1, writer_heap_bytes=20_000_000) as rebuilt,
    ):
        for i, event in enumerate(events):
            if isinstance(event, Deleted):
                incremental.delete(event.item_id, version=event.version)
            else:
                incremental.upsert(event)
            if i % 37 == 0:
                incremental.commit()
        incremental.record_position("guildhall.post.v1", 3, len(events))
        incremental.commit()
        assert rebuilt.rebuild(live.values(), positions={("guildhall.post.v1", 3): len(events)})
        assert rebuilt.positions() == incremental.positions()
        for item_id, expected in live.items():
            assert incremental.get(item_id) == expected
            assert rebuilt.get(item_id) == expected

        def results(ix: SearchIndex, query: str, **kw: object) -> tuple[int, set[str]]:
            page = ix.search(query, readable_spaces=kw.pop("spaces", ALL), limit=100, **kw)  # type: ignore[arg-type]
            return page.total, set(ids(page))

        for query in ["budget", "travel vendor", "wiki cafe roadmap", "", "release"]:
            for kw in ({}, {"spaces": frozenset({"s1", "s2"})}, {"kinds": [ItemKind.COMMENT]}):
                assert results(incremental, query, **kw) == results(rebuilt, query, **kw)
        assert results(incremental, "")[0] == len(live)


def test_rebuild_replaces_everything_and_last_duplicate_wins(index: SearchIndex) -> None:
    put(index, doc("old", "obsolete"))
    n = index.rebuild([doc("a", "first"), doc("b", "bee"), doc("a", "second", version=2)])
    assert n == 3
    assert found(index, "obsolete") == []
    assert found(index, "first") == []
    assert found(index, "second") == ["a"]
    assert index.search("", readable_spaces=ALL).total == 2


def test_failed_rebuild_leaves_the_index_as_it_was(index: SearchIndex) -> None:
    put(index, doc("keep", "survivor"))

    def broken() -> Iterator[SearchDoc]:
        yield doc("x", "partial")
        raise RuntimeError("snapshot read failed")

    with pytest.raises(RuntimeError, match="snapshot"):
        index.rebuild(broken())
    index.commit()
    assert found(index, "survivor") == ["keep"]
    assert found(index, "partial") == []


def test_hit_type_is_frozen() -> None:
    hit = Hit("a", "s", ItemKind.WIKI, "t", 1.0, "ann", T0)
    with pytest.raises(AttributeError):
        hit.title = "x"  # type: ignore[misc]
