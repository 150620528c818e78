"""Query parsing and text keys: untrusted text becomes plain analysed words."""

from __future__ import annotations

from guildhall_post.search.analysis import (
    MAX_QUERY_CHARS,
    MAX_QUERY_TERMS,
    clean,
    exact_key,
    parse_user_query,
    tag_key,
)


def test_words_are_lowercased_stemmed_and_stop_words_dropped() -> None:
    parsed = parse_user_query("The Running of the REPORTS")
    assert parsed.terms == ("run", "report")
    # Positions count every word, stop words included, as the index does.
    assert parsed.phrase == ((1, "run"), (4, "report"))


def test_repeated_words_count_once() -> None:
    assert parse_user_query("report reports REPORT").terms == ("report",)


def test_query_syntax_is_only_punctuation() -> None:
    assert parse_user_query("title:secret AND space_id:other").terms == (
        "titl",
        "secret",
        "space",
        "id",
        "other",
    )
    assert parse_user_query('{"$gt": ""}').terms == ("gt",)
    assert parse_user_query("+a -b (c) ^2 ~1 *?").terms == ("b", "c", "2", "1")


def test_punctuation_only_is_empty() -> None:
    for raw in ["", "   ", "*", "***???", '"":{}[]', "\x00\x01"]:
        assert parse_user_query(raw).is_empty, raw


def test_stop_words_only_keep_a_title_key() -> None:
    parsed = parse_user_query("To be or not to be")
    assert parsed.terms == ()
    assert parsed.title_key == "to be or not to be"
    assert not parsed.is_empty


def test_term_count_and_length_are_bounded() -> None:
    many = " ".join(f"word{i}" for i in range(500))
    assert len(parse_user_query(many).terms) == MAX_QUERY_TERMS
    assert len(clean("x" * 1_000_000)) == MAX_QUERY_CHARS
    # Tokens longer than 40 bytes (hashes, base64) are not words.
    assert parse_user_query("a" * 41).terms == ()


def test_exact_key_ignores_case_punctuation_spacing_and_accents() -> None:
    assert exact_key("How to: file an Expense report!") == "how to file an expense report"
    assert exact_key("  how   TO file an expense-report ") == "how to file an expense report"
    assert exact_key("Café") == exact_key("cafe")
    assert exact_key("???") == ""


def test_format_characters_vanish_and_controls_separate() -> None:
    assert parse_user_query("mer\u200bger").terms == ("merger",)
    assert parse_user_query("\u202emerger\u202c").terms == ("merger",)
    assert parse_user_query("alpha\x00beta").terms == ("alpha", "beta")
    assert parse_user_query("\ud800x").terms == ("x",)


def test_nfkc_folds_compatibility_forms() -> None:
    fullwidth = "\uff4d\uff45\uff52\uff47\uff45\uff52"
    assert parse_user_query(fullwidth).terms == ("merger",)


def test_tag_key_is_case_folded_and_trimmed() -> None:
    assert tag_key("  Machine  Learning ") == "machine learning"
    assert tag_key("STRASSE") == tag_key("straße")
