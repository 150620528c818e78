"""Declared and earned expertise, the directory rows, visibility and the service's page tokens."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from guildhall_kit.errors import FailedPrecondition, InvalidArgument
from guildhall_kit.paging import decode_token, encode_token, page_size
from guildhall_profile.domain.events import ExpertiseDeclared, ExpertiseEarned, ProfileUpdated
from guildhall_profile.domain.expertise import (
    ExpertRow,
    credited_tags,
    declare_expertise,
    directory_rows,
    earn_expertise,
    withdraw_expertise,
)
from guildhall_profile.domain.model import EarnedTag, Person, PersonKind
from guildhall_profile.domain.visibility import (
    Participation,
    PartnerScope,
    VisiblePinhole,
    needs_participation,
    partner_may_see,
    partner_visible,
)

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
T1 = T0 + timedelta(hours=1)


def person(pid: str = "ann", kind: PersonKind = PersonKind.EMPLOYEE, org: str = "home") -> Person:
    return Person(
        person_id=pid,
        kind=kind,
        org_id=org,
        display_name=pid.title(),
        email=f"{pid}@x.example",
        created_at=T0,
        updated_at=T0,
    )


def earn(p: Person, tags: list[str], answer: str = "a1", at: datetime = T1) -> Person:
    return earn_expertise(
        p,
        tags=tags,
        answer_id=answer,
        question_id="q1",
        space_id="s1",
        source_event_id=f"ev-{answer}",
        earned_at=at,
        now=at,
    ).person


def test_declare_replaces_the_set_and_reports_the_difference() -> None:
    first = declare_expertise(person(), ["python", "k8s"], now=T1)
    assert first.person.declared == ("k8s", "python")
    assert first.event == ExpertiseDeclared(
        person_id="ann", tags=("k8s", "python"), added=("k8s", "python"), removed=(), declared_at=T1
    )
    second = declare_expertise(first.person, ["python", "go"], now=T1)
    assert isinstance(second.event, ExpertiseDeclared)
    assert (second.event.added, second.event.removed) == (("go",), ("k8s",))
    assert second.person.version == 3
    assert not declare_expertise(second.person, ["go", "python"], now=T1).changed


def test_only_employees_declare() -> None:
    with pytest.raises(FailedPrecondition):
        declare_expertise(person("pu", PersonKind.PARTNER_USER, "acme"), ["go"], now=T1)


def test_earning_counts_one_answer_per_tag() -> None:
    change = earn_expertise(
        person(),
        tags=["k8s", "python"],
        answer_id="a1",
        question_id="q1",
        space_id="s1",
        source_event_id="ev1",
        earned_at=T1,
        now=T1,
    )
    assert isinstance(change.event, ExpertiseEarned)
    assert change.event.tags == ("k8s", "python")
    assert change.event.source_event_id == "ev1"
    twice = earn(change.person, ["python"], "a2", T1 + timedelta(minutes=5))
    assert twice.earned_on("python") == 2
    assert twice.earned_on("k8s") == 1
    assert twice.earned_strongest_first()[0] == EarnedTag("python", 2, T1 + timedelta(minutes=5))
    assert not earn_expertise(
        person(),
        tags=[],
        answer_id="a",
        question_id="q",
        space_id="s",
        source_event_id="e",
        earned_at=T1,
        now=T1,
    ).changed


def test_withdrawing_takes_one_back_and_drops_empty_tags() -> None:
    p = earn(earn(person(), ["python", "k8s"]), ["python"], "a2")
    change = withdraw_expertise(p, tags=["python", "k8s", "never"], actor_id="asker", now=T1)
    assert isinstance(change.event, ProfileUpdated)
    assert change.event.changed_fields == ("earned_expertise",)
    assert change.person.earned_on("python") == 1
    assert change.person.earned_on("k8s") == 0
    assert [e.tag for e in change.person.earned] == ["python"]
    assert not withdraw_expertise(change.person, tags=["go"], actor_id="x", now=T1).changed


def test_question_tags_are_cleaned_before_crediting() -> None:
    assert credited_tags(["Python", "python", " k8s ", "$bad", "---", "c++"]) == (
        "c++",
        "k8s",
        "python",
    )
    assert len(credited_tags([f"t{i}" for i in range(30)])) == 10


def test_directory_rows_cover_declared_and_earned_of_employees_only() -> None:
    p = replace(earn(person(), ["python"]), declared=("go", "python"))
    assert directory_rows(p) == (
        ExpertRow("go", "ann", 0, True),
        ExpertRow("python", "ann", 1, True),
    )
    partner = replace(p, kind=PersonKind.PARTNER_USER, org_id="acme")
    assert directory_rows(partner) == ()


# --- partner visibility -----------------------------------------------------------------------


SCOPE = PartnerScope(
    viewer_id="vera",
    org_id="acme",
    pinholes=(VisiblePinhole("ph1", "c1"),),
)


def test_partner_sees_self_colleagues_hosts_and_authors_only() -> None:
    hosts = frozenset({("c1", "owner"), ("c2", "other-owner")})
    authors = frozenset({("ph1", "writer"), ("ph2", "elsewhere")})
    participation = Participation(hosts=hosts, authors=authors)
    people = {
        "vera": person("vera", PersonKind.PARTNER_USER, "acme"),
        "colleague": person("colleague", PersonKind.PARTNER_USER, "acme"),
        "owner": person("owner"),
        "writer": person("writer"),
        "other-owner": person("other-owner"),
        "elsewhere": person("elsewhere"),
        "stranger": person("stranger"),
        "rival": person("rival", PersonKind.PARTNER_USER, "globex"),
    }
    visible = [p.person_id for p in partner_visible(SCOPE, people.values(), participation)]
    assert visible == ["vera", "colleague", "owner", "writer"]
    assert needs_participation(SCOPE, list(people.values())) == sorted(
        ["owner", "writer", "other-owner", "elsewhere", "stranger", "rival"]
    )


def test_without_a_visible_pinhole_a_partner_sees_only_themself() -> None:
    scope = PartnerScope(viewer_id="vera", org_id="acme", pinholes=())
    everyone = Participation(hosts=frozenset({("c1", "owner")}))
    assert partner_may_see(scope, person("vera", PersonKind.PARTNER_USER, "acme"), everyone)
    assert not partner_may_see(
        scope, person("colleague", PersonKind.PARTNER_USER, "acme"), everyone
    )
    assert not partner_may_see(scope, person("owner"), everyone)
    assert needs_participation(scope, [person("owner")]) == []


# --- paging -----------------------------------------------------------------------------------


def test_page_size_defaults_and_caps() -> None:
    assert page_size(0) == 20
    assert page_size(7) == 7
    assert page_size(1000) == 100


def test_page_tokens_round_trip_and_refuse_other_queries() -> None:
    token = encode_token("experts", [3, 1, "ann"], scope=["go", "python"])
    assert decode_token(token, "experts", (int, int, str), scope=["go", "python"]) == [3, 1, "ann"]
    for list_name, query, shape in (
        ("department", ["go", "python"], (int, int, str)),
        ("experts", ["go"], (int, int, str)),
        ("experts", ["go", "python"], (int, str)),
        ("experts", ["go", "python"], (str, int, str)),
    ):
        with pytest.raises(InvalidArgument) as info:
            decode_token(token, list_name, shape, scope=query)
        assert info.value.field == "page_token"
    for garbage in ("!!", "e30", "bm90IGpzb24"):
        with pytest.raises(InvalidArgument):
            decode_token(garbage, "experts", (str,), scope=["go"])


def test_page_tokens_with_long_unicode_names_stay_within_the_contract() -> None:
    longest = replace(person(), person_id="x" * 64, display_name="漢" * 200)  # 3 UTF-8 bytes each
    assert len(longest.sort_name) == 100
    token = encode_token("department", [longest.list_key], scope=["R&D" * 66])
    assert len(token) <= 1024
