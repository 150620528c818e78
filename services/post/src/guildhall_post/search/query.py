"""Building tantivy queries from a parsed user query and typed filters; turning hits into Hits.

Every clause is built with tantivy's query constructors from values the
engine chose (field names are constants, values are analysed terms or
exact keys); nothing here goes through a query parser.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any, Final

import tantivy

from guildhall_post.search import schema as f
from guildhall_post.search.analysis import ParsedQuery, tag_key
from guildhall_post.search.model import Hit, ItemKind, Snippet

# Relevance. BM25 per field; a word in the title counts three times a word in
# the body, a tag twice. A title that contains the query's words as a phrase
# earns a bonus, and a title equal to the query (see analysis.exact_key) gets
# a constant far above any BM25 sum a query of at most MAX_QUERY_TERMS words
# can reach, so exact-title hits always rank first.
TITLE_BOOST: Final = 3.0
TAGS_BOOST: Final = 2.0
BODY_BOOST: Final = 1.0
TITLE_PHRASE_BOOST: Final = 2.0
EXACT_TITLE_SCORE: Final = 10_000.0
FIELD_TIE_BREAKER: Final = 0.1
"""A word found in several fields scores its best field plus this share of the others."""

SNIPPET_CHARS: Final = 200
"""Longest snippet text."""


def term(schema: tantivy.Schema, field: str, value: str) -> tantivy.Query:
    """One exact term of one field (for text fields: an already analysed term)."""
    return tantivy.Query.term_query(schema, field, value)


def relaxed_matches(terms: int) -> int:
    """How many of a query's words a relaxed match needs: half of them, rounded up."""
    return max(1, math.ceil(terms / 2))


def filters(
    schema: tantivy.Schema,
    *,
    readable_spaces: frozenset[str] | None,
    space: str | None,
    kinds: Collection[ItemKind] | None,
    tags: Collection[str] | None,
    author_id: str | None,
    unanswered_only: bool,
    created_from_us: int | None,
    created_to_us: int | None,
) -> list[tantivy.Query] | None:
    """The filter clauses, each to be a must-match; None when the filters admit nothing.

    The first clause restricts to item documents (never tombstones or
    positions); the access filter on ``space_id`` follows whenever
    ``readable_spaces`` is not None.
    """
    out = [term(schema, f.DOC_TYPE, f.TYPE_ITEM)]
    if readable_spaces is not None:
        if not readable_spaces:
            return None
        out.append(tantivy.Query.term_set_query(schema, f.SPACE_ID, sorted(readable_spaces)))
    if space is not None:
        out.append(term(schema, f.SPACE_ID, space))
    if kinds is not None:
        if not kinds:
            return None
        values = sorted({ItemKind(k).value for k in kinds})
        out.append(tantivy.Query.term_set_query(schema, f.KIND, values))
    keys = {tag_key(t) for t in tags or ()} - {""}  # a blank tag filters nothing
    out.extend(term(schema, f.TAG_KEY, key) for key in sorted(keys))
    if author_id is not None:
        out.append(term(schema, f.AUTHOR_ID, author_id))
    if unanswered_only:
        out.append(term(schema, f.KIND, ItemKind.QUESTION.value))
        out.append(tantivy.Query.term_query(schema, f.ANSWERED, False))
    if created_from_us is not None or created_to_us is not None:
        if (
            created_from_us is not None
            and created_to_us is not None
            and created_from_us >= created_to_us
        ):
            return None
        out.append(
            tantivy.Query.range_query(
                schema,
                f.CREATED_US,
                tantivy.FieldType.Integer,
                lower_bound=created_from_us,
                upper_bound=created_to_us,
                include_lower=True,
                include_upper=created_to_us is None,  # half-open: [from, to)
            )
        )
    return out


def relevance(schema: tantivy.Schema, parsed: ParsedQuery, *, relaxed: bool) -> tantivy.Query:
    """The scoring part of a query with words: per-field BM25, phrase and exact-title boosts.

    An item must contain every word (in any of title, body, tags), or, when
    ``relaxed``, at least :func:`relaxed_matches` of them; a title equal to
    the query always matches.
    """
    parts: list[tantivy.Query] = []
    if parsed.terms:
        per_term = [
            tantivy.Query.disjunction_max_query(
                [
                    tantivy.Query.boost_query(term(schema, f.TITLE, word), TITLE_BOOST),
                    tantivy.Query.boost_query(term(schema, f.TAGS, word), TAGS_BOOST),
                    tantivy.Query.boost_query(term(schema, f.BODY, word), BODY_BOOST),
                ],
                tie_breaker=FIELD_TIE_BREAKER,
            )
            for word in parsed.terms
        ]
        if relaxed:
            parts.append(
                tantivy.Query.boolean_query(
                    [(tantivy.Occur.Should, q) for q in per_term],
                    minimum_number_should_match=relaxed_matches(len(per_term)),
                )
            )
        else:
            # A plain conjunction: several times cheaper than "should, at least n of n".
            parts.append(tantivy.Query.boolean_query([(tantivy.Occur.Must, q) for q in per_term]))
    if len({position for position, _ in parsed.phrase}) >= 2:
        phrase: list[str | tuple[int, str]] = list(parsed.phrase)
        parts.append(
            tantivy.Query.boost_query(
                tantivy.Query.phrase_query(schema, f.TITLE, phrase), TITLE_PHRASE_BOOST
            )
        )
    if parsed.title_key:
        parts.append(
            tantivy.Query.const_score_query(
                term(schema, f.TITLE_KEY, parsed.title_key), EXACT_TITLE_SCORE
            )
        )
    return tantivy.Query.boolean_query(
        [(tantivy.Occur.Should, q) for q in parts], minimum_number_should_match=1
    )


def combine(relevance_query: tantivy.Query, filter_queries: list[tantivy.Query]) -> tantivy.Query:
    """All of it must match; filters add nothing to the score."""
    return tantivy.Query.boolean_query(
        [(tantivy.Occur.Must, relevance_query)]
        + [(tantivy.Occur.Must, tantivy.Query.const_score_query(q, 0.0)) for q in filter_queries]
    )


def _char_ranges(fragment: str, byte_ranges: Iterable[Any]) -> tuple[tuple[int, int], ...]:
    """tantivy reports UTF-8 byte offsets; callers index Python strings by character."""
    raw = fragment.encode("utf-8")
    out = []
    for r in byte_ranges:
        start = len(raw[: r.start].decode("utf-8", errors="ignore"))
        end = len(raw[: r.end].decode("utf-8", errors="ignore"))
        if end > start:
            out.append((start, end))
    return tuple(out)


def _lead(body: str) -> str:
    """The start of the body, whitespace collapsed, cut at a word boundary."""
    text = " ".join(body.split())
    if len(text) <= SNIPPET_CHARS:
        return text
    cut = text[:SNIPPET_CHARS]
    space = cut.rfind(" ")
    return cut[:space] if space > SNIPPET_CHARS // 2 else cut


def to_hit(
    doc: tantivy.Document,
    *,
    score: float,
    generator: tantivy.SnippetGenerator | None,
    snippets: bool,
) -> Hit:
    """A Hit from a stored item document; the snippet from ``generator`` or the body's lead."""
    stored = doc.to_dict()

    def first(name: str, default: Any = None) -> Any:
        values = stored.get(name)
        return values[0] if values else default

    snippet = None
    if snippets:
        if generator is not None:
            found = generator.snippet_from_doc(doc)
            text = found.fragment()
            if text:
                snippet = Snippet(text, _char_ranges(text, found.highlighted()))
        body = str(first(f.BODY, ""))
        if snippet is None and body.strip():
            snippet = Snippet(_lead(body))
    return Hit(
        item_id=str(first(f.ITEM_ID)),
        space_id=str(first(f.SPACE_ID)),
        kind=ItemKind(first(f.KIND)),
        title=str(first(f.TITLE, "")),
        score=score if math.isfinite(score) else 0.0,
        author_id=str(first(f.AUTHOR_ID)),
        created_at=f.from_micros(int(first(f.CREATED_US))),
        parent_id=first(f.PARENT_ID),
        snippet=snippet,
    )


def snippet_generator(
    searcher: tantivy.Searcher, schema: tantivy.Schema, query: tantivy.Query
) -> tantivy.SnippetGenerator:
    """A generator of body snippets highlighting the body terms of ``query``."""
    generator = tantivy.SnippetGenerator.create(searcher, query, schema, f.BODY)
    generator.set_max_num_chars(SNIPPET_CHARS)
    return generator


def as_datetime_us(value: datetime | None) -> int | None:
    """Microseconds since the epoch of an aware datetime, or None."""
    return None if value is None else f.to_micros(value)
