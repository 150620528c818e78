"""Building once-per-event updates; no I/O."""

from __future__ import annotations

import pytest

from guildhall_kit.bus.idempotency import APPLIED_FIELD, apply_once_update


def test_the_event_id_is_pushed_with_a_bounded_window() -> None:
    update = apply_once_update({"$inc": {"count": 1}}, "e1", remember=10)
    assert update == {
        "$inc": {"count": 1},
        "$push": {APPLIED_FIELD: {"$each": ["e1"], "$slice": -10}},
    }


def test_an_existing_push_is_kept() -> None:
    update = apply_once_update({"$push": {"log": "x"}}, "e1")
    assert update["$push"]["log"] == "x"
    assert update["$push"][APPLIED_FIELD]["$each"] == ["e1"]


def test_the_input_is_not_mutated() -> None:
    original = {"$set": {"a": 1}}
    apply_once_update(original, "e1")
    assert original == {"$set": {"a": 1}}


@pytest.mark.parametrize(
    "bad",
    [{}, {"a": 1}, {"$set": {APPLIED_FIELD: []}}, {"$unset": {f"{APPLIED_FIELD}.0": ""}}],
)
def test_replacements_and_updates_touching_the_window_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"operator update|must not touch"):
        apply_once_update(bad, "e1")
