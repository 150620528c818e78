"""Link shaping per reader, revision diffs and history (page tokens: the kit's paging)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from guildhall_kit.errors import Aborted, NotFound
from guildhall_post.domain.links import UNAVAILABLE, linked_ids, shape_text
from guildhall_post.domain.revisions import (
    DiffOp,
    Revision,
    diff,
    merge_history,
    require_base,
    require_revision,
)

T = datetime(2026, 11, 25, tzinfo=UTC)


def test_links_are_found_in_order_without_duplicates() -> None:
    body = "see guildhall://post/abc and [x](guildhall://post/def) then guildhall://post/abc."
    assert linked_ids(body, "also guildhall://post/ghi") == ["abc", "def", "ghi"]


def test_unreadable_links_become_unavailable_and_nothing_else_changes() -> None:
    body = "<script>alert(1)</script> guildhall://post/inside guildhall://post/secret"
    shaped = shape_text(body, {"inside"})
    assert shaped == (
        f"<script>alert(1)</script> guildhall://post/inside guildhall://post/{UNAVAILABLE}"
    )
    assert "secret" not in shaped


def _rev(n: int, body: str, tags: tuple[str, ...] = ()) -> Revision:
    return Revision("p", n, f"t{n}", body, tags, "ann", T)


def test_diff_lines_unified_and_tags() -> None:
    d = diff(_rev(1, "a\nb\nc", ("x", "y")), _rev(2, "a\nB\nc\nd", ("y", "z")))
    assert d.lines == [
        (DiffOp.EQUAL, "a"),
        (DiffOp.DELETE, "b"),
        (DiffOp.INSERT, "B"),
        (DiffOp.EQUAL, "c"),
        (DiffOp.INSERT, "d"),
    ]
    assert "--- revision 1" in d.unified
    assert "+B" in d.unified
    assert (d.tags_added, d.tags_removed) == (["z"], ["x"])


def test_history_includes_the_current_revision_even_when_its_copy_is_missing() -> None:
    stored = [_rev(1, "one"), _rev(2, "two")]
    history = merge_history(stored, _rev(3, "three"))
    assert [r.revision for r in history] == [3, 2, 1]


def test_stale_base_is_aborted_and_unknown_revisions_not_found() -> None:
    require_base(3, 3)
    with pytest.raises(Aborted):
        require_base(4, 3)
    with pytest.raises(NotFound):
        require_revision(5, 4)
    with pytest.raises(NotFound):
        require_revision(0, 4)
