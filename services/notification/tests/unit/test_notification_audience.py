"""Who hears what: the pure rules, cell by cell, with no I/O."""

from __future__ import annotations

import pytest

from guildhall_notification.domain.audience import (
    RULES,
    Activity,
    Relation,
    at_least,
    decide,
    item_level,
    participant_level,
    space_level,
)
from guildhall_notification.domain.model import Kind, Level, Reason, Source

W, T, N, M = Level.WATCHING, Level.TRACKING, Level.NORMAL, Level.MUTED

# (activity, relations) -> what each level gets (None: nothing)
TABLE = [
    (Activity.NEW_ITEM, {Relation.FOLLOWER}, {W: Kind.WATCHED_SPACE}),
    (
        Activity.ANNOUNCEMENT,
        {Relation.MEMBER},
        {W: Kind.ANNOUNCEMENT, T: Kind.ANNOUNCEMENT, N: Kind.ANNOUNCEMENT},
    ),
    (Activity.ANNOUNCEMENT, {Relation.FOLLOWER}, {W: Kind.ANNOUNCEMENT}),
    (Activity.COMMENT, {Relation.FOLLOWER}, {W: Kind.WATCHED_ITEM, T: Kind.WATCHED_ITEM}),
    (Activity.COMMENT, {Relation.OWN_ITEM}, {W: Kind.COMMENT, T: Kind.COMMENT, N: Kind.COMMENT}),
    (Activity.COMMENT, {Relation.OWN_COMMENT}, {W: Kind.COMMENT, T: Kind.COMMENT, N: Kind.COMMENT}),
    (Activity.ANSWER, {Relation.OWN_ITEM}, {W: Kind.ANSWER, T: Kind.ANSWER, N: Kind.ANSWER}),
    (Activity.ANSWER, {Relation.FOLLOWER}, {W: Kind.WATCHED_ITEM, T: Kind.WATCHED_ITEM}),
    (Activity.MENTION, {Relation.MENTIONED}, {W: Kind.MENTION, T: Kind.MENTION, N: Kind.MENTION}),
    (
        Activity.ACCEPTED,
        {Relation.OWN_ANSWER},
        {W: Kind.ANSWER_ACCEPTED, T: Kind.ANSWER_ACCEPTED, N: Kind.ANSWER_ACCEPTED},
    ),
    (Activity.ITEM_CHANGED, {Relation.FOLLOWER}, {W: Kind.WATCHED_ITEM}),
    (
        Activity.IDEA_STATUS,
        {Relation.OWN_ITEM},
        {W: Kind.IDEA_STATUS, T: Kind.IDEA_STATUS, N: Kind.IDEA_STATUS},
    ),
    (
        Activity.ACCESS_CHANGED,
        {Relation.SELF},
        {W: Kind.MEMBERSHIP, T: Kind.MEMBERSHIP, N: Kind.MEMBERSHIP},
    ),
    (
        Activity.QUESTION_ROUTED,
        {Relation.EXPERT},
        {W: Kind.QUESTION_FOR_EXPERT, T: Kind.QUESTION_FOR_EXPERT, N: Kind.QUESTION_FOR_EXPERT},
    ),
    (Activity.NEW_ITEM, {Relation.MENTIONED}, {}),
]


@pytest.mark.parametrize(("activity", "relations", "expected"), TABLE)
@pytest.mark.parametrize("level", list(Level))
def test_each_level_against_each_activity(
    activity: Activity, relations: set[Relation], expected: dict[Level, Kind], level: Level
) -> None:
    decided = decide(activity, relations, level)
    assert (decided[0] if decided else None) == expected.get(level)


def test_muted_hears_nothing_at_all() -> None:
    for (activity, relation), _rule in RULES.items():
        assert decide(activity, {relation}, M) is None


def test_the_strongest_relation_decides() -> None:
    # The item's author is also a follower: they get the reply as their own item's.
    assert decide(Activity.COMMENT, {Relation.FOLLOWER, Relation.OWN_ITEM}, W) == (
        Kind.COMMENT,
        Reason.OWN_CONTENT,
    )
    # A watcher of an item hears of replies as a watcher, a tracker as a tracker.
    assert decide(Activity.COMMENT, {Relation.FOLLOWER}, W) == (
        Kind.WATCHED_ITEM,
        Reason.WATCHING_ITEM,
    )
    assert decide(Activity.COMMENT, {Relation.FOLLOWER}, T) == (Kind.WATCHED_ITEM, Reason.TRACKING)


def test_levels_resolve_from_the_most_specific_setting() -> None:
    assert item_level(item=(M, Source.EXPLICIT), space=W, community_default=W, is_member=True) == (
        M,
        Source.EXPLICIT,
    )
    assert item_level(item=None, space=T, community_default=W, is_member=True) == (T, Source.SPACE)
    assert item_level(item=None, space=None, community_default=W, is_member=True) == (
        W,
        Source.COMMUNITY_DEFAULT,
    )
    # The community default is for members only.
    assert item_level(item=None, space=None, community_default=W, is_member=False) == (
        N,
        Source.PLATFORM_DEFAULT,
    )
    assert space_level(space=M, community_default=W, is_member=True) == (M, Source.EXPLICIT)


def test_repliers_track_unless_they_hear_more_or_muted() -> None:
    assert participant_level(N) is T
    assert participant_level(T) is None
    assert participant_level(W) is None
    assert participant_level(M) is None


def test_at_least() -> None:
    assert at_least(W, T)
    assert at_least(T, T)
    assert not at_least(N, T)
    assert not at_least(M, N)
