"""Text analysis shared by indexing and querying, and the parsing of user queries.

A user's query string is never handed to tantivy's query parser. It is cut
into words by the same analyzer that indexed the documents, and the engine
builds term and phrase queries from those words itself. Query syntax in the
input (``title:secret``, ``space_id:other``, ``+``, ``-``, quotes, ``*``,
``AND``/``OR``/``NOT``, regex or JSON operators) is therefore only ever
punctuation between plain words: it cannot name a field, widen a filter, or
make a query fail to parse.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cache

import tantivy

ANALYZER = "guildhall_en"
"""Name under which the English analyzer is registered on every opened index."""

MAX_QUERY_CHARS = 512
"""Longer user queries are cut here before analysis (silently: they are not an error)."""

MAX_QUERY_TERMS = 32
"""At most this many distinct words of a query take part in matching."""

MAX_TOKEN_BYTES = 40
"""Longer tokens (base64 blobs, hashes) are dropped from documents and queries alike."""

MAX_KEY_CHARS = 1000
"""Exact-match keys (title, tag) are cut here so that they stay valid index terms."""

# Unicode categories removed from text before analysis: format characters
# (zero-width spaces and joiners, bidi overrides) vanish, so "mer\u200bger"
# stays one word; unpaired surrogates, private-use and unassigned code points
# vanish too. Control characters (NUL, tabs, newlines) separate words.
_DROPPED_CATEGORIES = frozenset({"Cf", "Cs", "Co", "Cn"})
_SEPARATING_CATEGORIES = frozenset({"Cc"})


def _words_builder() -> tantivy.TextAnalyzerBuilder:
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(MAX_TOKEN_BYTES))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
    )


def english_analyzer() -> tantivy.TextAnalyzer:
    """The analyzer of the title, body and tags fields.

    Words are split at anything that is not a letter or digit, lowercased,
    folded to ASCII where a folding exists (``café`` finds ``cafe``), English
    stop words dropped and the rest stemmed (``running`` finds ``run``).
    Scripts without spaces between words (Chinese, Japanese) are not segmented.
    """
    return (
        _words_builder()
        .filter(tantivy.Filter.stopword("english"))
        .filter(tantivy.Filter.stemmer("english"))
        .build()
    )


@cache
def _english() -> tantivy.TextAnalyzer:
    return english_analyzer()


@cache
def _words() -> tantivy.TextAnalyzer:
    return _words_builder().build()


def clean(text: str, *, limit: int | None = MAX_QUERY_CHARS) -> str:
    """NFKC-normalise ``text``, drop control and format characters, cut it at ``limit`` chars."""
    if limit is not None:
        # Cut before normalising too, so a huge input costs no more than a short one.
        text = text[: limit * 2]
    text = unicodedata.normalize("NFKC", text)
    text = "".join(_clean_char(ch) for ch in text)
    return text if limit is None else text[:limit]


def _clean_char(ch: str) -> str:
    category = unicodedata.category(ch)
    if category in _DROPPED_CATEGORIES:
        return ""
    if category in _SEPARATING_CATEGORIES:
        return " "
    return ch


def words(text: str) -> list[str]:
    """The lowercased, ASCII-folded words of ``text``, stop words kept, nothing stemmed."""
    return [str(word) for word in _words().analyze(text)]


def exact_key(text: str) -> str:
    """The key under which two titles (or a title and a query) count as the same.

    Case, accents, punctuation and spacing do not matter: ``"How to: file an
    Expense report!"`` and ``"how to file an expense report"`` share a key.
    Empty when the text has no words.
    """
    return " ".join(words(clean(text, limit=MAX_KEY_CHARS)))[:MAX_KEY_CHARS]


def tag_key(tag: str) -> str:
    """The key a tag is filtered by: NFKC, case-folded, inner whitespace collapsed."""
    return " ".join(clean(tag, limit=MAX_KEY_CHARS).casefold().split())


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    """A user query reduced to what the engine matches on."""

    terms: tuple[str, ...]
    """Distinct analysed words (stemmed, stop words removed), in first-seen order."""
    phrase: tuple[tuple[int, str], ...]
    """Every analysed word with its position, for the title phrase boost."""
    title_key: str
    """The query's exact-title key (see :func:`exact_key`); empty when it has no words."""

    @property
    def is_empty(self) -> bool:
        """True when the query has nothing to match on (blank, or only punctuation)."""
        return not self.terms and not self.title_key


def parse_user_query(raw: str) -> ParsedQuery:
    """Reduce an untrusted query string to plain words. Never raises for any ``str``."""
    text = clean(raw)
    positioned: list[tuple[int, str]] = []
    for position, word in enumerate(words(text)):
        # The English analyzer maps one word to at most one term (or to none,
        # for a stop word), so positions line up with what the index stored.
        for term in _english().analyze(word):
            positioned.append((position, str(term)))
    distinct = tuple(dict.fromkeys(term for _, term in positioned))[:MAX_QUERY_TERMS]
    allowed = set(distinct)
    phrase = tuple((pos, term) for pos, term in positioned if term in allowed)
    return ParsedQuery(terms=distinct, phrase=phrase, title_key=exact_key(text))
