"""The pure parts of the directory lists: who stands in which list, and the bucket layout."""

from __future__ import annotations

import itertools
import random
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from guildhall_profile.buckets import (
    Bucket,
    Head,
    after,
    build,
    group_by_bucket,
    head_document,
    head_from,
    in_range,
    partition,
    split_point,
)
from guildhall_profile.domain.expertise import ExpertRow
from guildhall_profile.domain.listing import (
    changed_entries,
    department_list,
    entries_of,
    list_key,
    person_of,
    reports_list,
    row_of,
    stands,
    tag_list,
)
from guildhall_profile.domain.model import EarnedTag, Person, PersonKind

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
ANN = Person(
    "ann",
    PersonKind.EMPLOYEE,
    "home",
    "Ann Lee",
    "ann@x.example",
    T0,
    T0,
    department="Ops",
    manager_id="bob",
    declared=("go", "python"),
    earned=(EarnedTag("python", 3, T0), EarnedTag("sap-fi", 1, T0)),
)


# --- who stands in which list ---------------------------------------------------------------------


def test_a_person_stands_in_their_department_their_managers_reports_and_their_tags() -> None:
    assert entries_of(ANN) == {
        department_list("Ops"): list_key("ann lee", "ann"),
        reports_list("bob"): list_key("ann lee", "ann"),
        tag_list("go"): ExpertRow("go", "ann", 0, True).list_key,
        tag_list("python"): ExpertRow("python", "ann", 3, True).list_key,
        tag_list("sap-fi"): ExpertRow("sap-fi", "ann", 1, False).list_key,
    }


def test_partner_users_and_people_without_department_or_manager_stand_nowhere() -> None:
    partner = replace(ANN, kind=PersonKind.PARTNER_USER, department="", manager_id="")
    assert entries_of(partner) == {}
    bare = replace(ANN, department="", manager_id="", declared=(), earned=())
    assert entries_of(bare) == {}


def test_a_change_adds_and_removes_exactly_the_entries_that_differ() -> None:
    renamed = replace(ANN, display_name="Ann Zed", declared=("python",), version=2)
    added, removed = changed_entries(entries_of(ANN), entries_of(renamed))
    assert added == sorted(
        [
            (department_list("Ops"), list_key("ann zed", "ann")),
            (reports_list("bob"), list_key("ann zed", "ann")),
        ]
    )
    assert removed == sorted(
        [
            (department_list("Ops"), list_key("ann lee", "ann")),
            (reports_list("bob"), list_key("ann lee", "ann")),
            (tag_list("go"), ExpertRow("go", "ann", 0, True).list_key),
        ]
    )
    assert changed_entries(entries_of(ANN), entries_of(replace(ANN, bio="x"))) == ([], [])


def test_an_entry_names_its_person_and_a_tag_entry_its_row() -> None:
    for list_id, entry in entries_of(ANN).items():
        assert person_of(list_id, entry) == "ann"
    for row in (ExpertRow("go", "p-1_x", 0, True), ExpertRow("go", "z", 10**12 - 1, False)):
        assert row_of("go", row.list_key) == row
    with pytest.raises(ValueError, match="row key"):
        row_of("go", "12x")
    with pytest.raises(ValueError, match="entry"):
        person_of(department_list("Ops"), "no separator")


def test_an_entry_stands_only_while_it_is_the_persons_current_entry() -> None:
    entry = entries_of(ANN)[tag_list("python")]
    assert stands(ANN, tag_list("python"), entry)
    assert not stands(None, tag_list("python"), entry)
    more = replace(ANN, earned=(EarnedTag("python", 4, T0),), version=2)
    assert not stands(more, tag_list("python"), entry)
    assert not stands(ANN, tag_list("go"), entry)


# --- the bucket layout ----------------------------------------------------------------------------


def head(*bounds: str) -> Head:
    return Head("l", tuple(Bucket(lo, f"b{i}") for i, lo in enumerate(bounds)), 1)


def test_an_entry_lives_in_the_last_bucket_that_starts_at_or_below_it() -> None:
    h = head("", "f", "m")
    assert [h.bucket_for(e).bucket_id for e in ["", "a", "f", "fa", "l~", "m", "zz"]] == [
        "b0",
        "b0",
        "b1",
        "b1",
        "b1",
        "b2",
        "b2",
    ]
    assert [h.hi(i) for i in range(3)] == ["f", "m", None]
    assert group_by_bucket(h, ["z", "a", "g", "a"]) == {"b0": ["a"], "b1": ["g"], "b2": ["z"]}


def test_heads_must_start_at_the_empty_string_and_ascend() -> None:
    for bad in [(), ("a",), ("", "m", "f"), ("", "f", "f")]:
        with pytest.raises(ValueError, match="bounds"):
            head(*bad)


def test_a_split_replaces_one_bucket_by_two_and_keeps_every_other_range() -> None:
    h = head("", "f", "m")
    new = h.split("b1", "h", "L", "R")
    assert new is not None
    assert [(b.lo, b.bucket_id) for b in new.buckets] == [
        ("", "b0"),
        ("f", "L"),
        ("h", "R"),
        ("m", "b2"),
    ]
    assert new.version == 2
    assert h.split("gone", "h", "L", "R") is None
    for outside in ["f", "m", "a"]:
        with pytest.raises(ValueError, match="outside"):
            h.split("b1", outside, "L", "R")


def test_split_points_cut_in_the_middle_and_keep_the_bucket_start() -> None:
    assert split_point(["d", "b", "a", "c"]) == "c"
    assert split_point(["b", "a"]) == "b"
    assert partition(["d", "b", "a", "c"], "c") == (["a", "b"], ["c", "d"])
    with pytest.raises(ValueError, match="fewer"):
        split_point(["a", "a"])


def test_ranges_and_positions() -> None:
    assert in_range(["m", "a", "f", "z", "f"], "f", "z") == ["f", "m"]
    assert in_range(["m", "a"], "", None) == ["a", "m"]
    ordered = ["a", "b", "c"]
    assert after(ordered, None, inclusive=False) == ordered
    assert after(ordered, "b", inclusive=False) == ["c"]
    assert after(ordered, "b", inclusive=True) == ["b", "c"]
    assert after(ordered, "bb", inclusive=True) == ["c"]


def test_a_built_list_holds_every_entry_once_in_bounded_buckets() -> None:
    counter = itertools.count()
    rng = random.Random(3)  # noqa: S311 - reproducible test data, not security
    entries = [f"e{n:05d}" for n in rng.sample(range(10_000), 2_345)]
    head_doc, buckets = build(
        "tag:go", [*entries, entries[0]], lambda: f"id{next(counter)}", fill=500
    )
    h = head_from(head_doc)
    assert head_document(h) == head_doc
    assert [len(b["entries"]) for b in buckets] == [500, 500, 500, 500, 345]
    assert sorted(e for b in buckets for e in b["entries"]) == sorted(entries)
    for i, bucket in enumerate(h.buckets):
        doc = next(b for b in buckets if b["_id"] == bucket.bucket_id)
        assert doc["live"] is True
        assert doc["list"] == "tag:go"
        assert in_range(doc["entries"], bucket.lo, h.hi(i)) == sorted(doc["entries"])
    with pytest.raises(ValueError, match="at least one"):
        build("tag:go", [], lambda: "x")
