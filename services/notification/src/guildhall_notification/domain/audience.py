"""Who hears what: subscription levels, relations to an activity, and the one decision.

The table (also in the notification service's ADR), for a person who may read
the item, is :data:`RULES`: for each kind of activity and each way a person
relates to it, the least level that still hears it and what they get. A
relation that is always heard "unless muted" has ``Level.NORMAL`` as its
least level. The actor of an activity never hears of their own action.

Levels resolve from the most specific setting (:func:`item_level`): the
person's subscription to the item (set by them, or given when they wrote or
replied to it), else to the space, else the community's default for its
members, else NORMAL.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from guildhall_notification.domain.model import Kind, Level, Reason, Source


class Activity(enum.StrEnum):
    """What happened, as far as notifications are concerned."""

    NEW_ITEM = "new_item"
    """An item (not an announcement) was created in a space."""
    ANNOUNCEMENT = "announcement"
    COMMENT = "comment"
    """A comment on an item (or a reply to a comment)."""
    ANSWER = "answer"
    """An answer to a question."""
    MENTION = "mention"
    ACCEPTED = "accepted"
    """An answer was accepted."""
    ITEM_CHANGED = "item_changed"
    """An item was edited, or a wiki page revised."""
    IDEA_STATUS = "idea_status"
    ACCESS_CHANGED = "access_changed"
    """The person's org was granted or lost a pinhole; their role changed; they were
    removed from or let into a community."""
    JOIN_REQUEST = "join_request"
    """Someone asked to join a community the person moderates or owns."""
    QUESTION_ROUTED = "question_routed"
    """A question matching the person's expertise awaits an answer."""
    QUESTION_ESCALATED = "question_escalated"
    """Nobody answered a question in time; it reached the community's staff."""
    WEBHOOK_DISABLED = "webhook_disabled"
    """A webhook the person registered was disabled after repeated failures."""


class Relation(enum.StrEnum):
    """How a person relates to an activity (strongest first in :data:`STRENGTH`)."""

    MENTIONED = "mentioned"
    OWN_ITEM = "own_item"
    """They wrote the item the activity is on (the question, for an answer)."""
    OWN_COMMENT = "own_comment"
    """They wrote the comment being replied to."""
    OWN_ANSWER = "own_answer"
    """They wrote the answer being accepted."""
    SELF = "self"
    """The activity is about the person themself (their access, their role)."""
    STAFF = "staff"
    EXPERT = "expert"
    MEMBER = "member"
    FOLLOWER = "follower"
    """Anyone else who may hear of it through their subscription level."""


STRENGTH: Final = (
    Relation.SELF,
    Relation.MENTIONED,
    Relation.OWN_ANSWER,
    Relation.OWN_ITEM,
    Relation.OWN_COMMENT,
    Relation.EXPERT,
    Relation.STAFF,
    Relation.MEMBER,
    Relation.FOLLOWER,
)
"""When a person relates to an activity in several ways, the first of these decides."""

_RANK: Final = {level: rank for rank, level in enumerate(Level)}


@dataclass(frozen=True, slots=True)
class Rule:
    """Who hears: anyone whose level is at least ``least``; what they get."""

    least: Level
    kind: Kind
    reason: Reason


_UNLESS_MUTED = Level.NORMAL

RULES: Final[Mapping[tuple[Activity, Relation], Rule]] = {
    (Activity.NEW_ITEM, Relation.FOLLOWER): Rule(
        Level.WATCHING, Kind.WATCHED_SPACE, Reason.WATCHING_SPACE
    ),
    (Activity.ANNOUNCEMENT, Relation.MEMBER): Rule(_UNLESS_MUTED, Kind.ANNOUNCEMENT, Reason.MEMBER),
    (Activity.ANNOUNCEMENT, Relation.FOLLOWER): Rule(
        Level.WATCHING, Kind.ANNOUNCEMENT, Reason.WATCHING_SPACE
    ),
    (Activity.COMMENT, Relation.OWN_ITEM): Rule(_UNLESS_MUTED, Kind.COMMENT, Reason.OWN_CONTENT),
    (Activity.COMMENT, Relation.OWN_COMMENT): Rule(_UNLESS_MUTED, Kind.COMMENT, Reason.OWN_CONTENT),
    (Activity.COMMENT, Relation.FOLLOWER): Rule(Level.TRACKING, Kind.WATCHED_ITEM, Reason.TRACKING),
    (Activity.ANSWER, Relation.OWN_ITEM): Rule(_UNLESS_MUTED, Kind.ANSWER, Reason.OWN_CONTENT),
    (Activity.ANSWER, Relation.FOLLOWER): Rule(Level.TRACKING, Kind.WATCHED_ITEM, Reason.TRACKING),
    (Activity.MENTION, Relation.MENTIONED): Rule(_UNLESS_MUTED, Kind.MENTION, Reason.MENTIONED),
    (Activity.ACCEPTED, Relation.OWN_ANSWER): Rule(
        _UNLESS_MUTED, Kind.ANSWER_ACCEPTED, Reason.OWN_CONTENT
    ),
    (Activity.ACCEPTED, Relation.OWN_ITEM): Rule(
        _UNLESS_MUTED, Kind.ANSWER_ACCEPTED, Reason.OWN_CONTENT
    ),
    (Activity.ACCEPTED, Relation.FOLLOWER): Rule(
        Level.TRACKING, Kind.WATCHED_ITEM, Reason.TRACKING
    ),
    (Activity.ITEM_CHANGED, Relation.OWN_ITEM): Rule(
        _UNLESS_MUTED, Kind.WATCHED_ITEM, Reason.OWN_CONTENT
    ),
    (Activity.ITEM_CHANGED, Relation.FOLLOWER): Rule(
        Level.WATCHING, Kind.WATCHED_ITEM, Reason.WATCHING_ITEM
    ),
    (Activity.IDEA_STATUS, Relation.OWN_ITEM): Rule(
        _UNLESS_MUTED, Kind.IDEA_STATUS, Reason.OWN_CONTENT
    ),
    (Activity.IDEA_STATUS, Relation.FOLLOWER): Rule(
        Level.TRACKING, Kind.IDEA_STATUS, Reason.TRACKING
    ),
    (Activity.ACCESS_CHANGED, Relation.SELF): Rule(
        _UNLESS_MUTED, Kind.MEMBERSHIP, Reason.OWN_ACCESS
    ),
    (Activity.JOIN_REQUEST, Relation.STAFF): Rule(
        _UNLESS_MUTED, Kind.MEMBERSHIP, Reason.COMMUNITY_STAFF
    ),
    (Activity.QUESTION_ROUTED, Relation.EXPERT): Rule(
        _UNLESS_MUTED, Kind.QUESTION_FOR_EXPERT, Reason.EXPERTISE
    ),
    (Activity.QUESTION_ESCALATED, Relation.STAFF): Rule(
        _UNLESS_MUTED, Kind.QUESTION_ESCALATED, Reason.COMMUNITY_STAFF
    ),
    (Activity.WEBHOOK_DISABLED, Relation.SELF): Rule(
        _UNLESS_MUTED, Kind.WEBHOOK_DISABLED, Reason.ADMINISTRATION
    ),
}


def at_least(level: Level, least: Level) -> bool:
    """Whether ``level`` hears at least as much as ``least`` (MUTED hears nothing)."""
    return level is not Level.MUTED and _RANK[level] <= _RANK[least]


def decide(
    activity: Activity, relations: Iterable[Relation], level: Level
) -> tuple[Kind, Reason] | None:
    """What a person who may read the item gets for ``activity``, or None.

    ``relations`` are every way the person relates to it; the strongest one
    with a rule decides. ``level`` is the person's effective level for the
    item (for a new item or an announcement: for its space). The reason of a
    follower who hears through TRACKING or WATCHING says which.
    """
    held = set(relations)
    for relation in STRENGTH:
        if relation not in held:
            continue
        rule = RULES.get((activity, relation))
        if rule is None:
            continue
        if not at_least(level, rule.least):
            return None
        reason = rule.reason
        if relation is Relation.FOLLOWER and reason is Reason.TRACKING and level is Level.WATCHING:
            reason = Reason.WATCHING_ITEM
        return rule.kind, reason
    return None


def space_level(
    *, space: Level | None, community_default: Level | None, is_member: bool
) -> tuple[Level, Source]:
    """The level that applies to a space: the person's own, else the community's
    default (for its members only), else NORMAL."""
    if space is not None:
        return space, Source.EXPLICIT
    if community_default is not None and is_member:
        return community_default, Source.COMMUNITY_DEFAULT
    return Level.NORMAL, Source.PLATFORM_DEFAULT


def item_level(
    *,
    item: tuple[Level, Source] | None,
    space: Level | None,
    community_default: Level | None,
    is_member: bool,
) -> tuple[Level, Source]:
    """The level that applies to an item: the person's own subscription to it (set
    by them, or given as its author or a participant, with that source), else what
    applies to its space."""
    if item is not None:
        return item
    level, source = space_level(
        space=space, community_default=community_default, is_member=is_member
    )
    return level, (Source.SPACE if source is Source.EXPLICIT else source)


def participant_level(current: Level) -> Level | None:
    """The item subscription a person gets by replying, given what applies now.

    Repliers track the item, unless they already hear at least that much, or
    have muted it (a reply in a muted space does not unmute it).
    """
    if current is Level.MUTED or at_least(current, Level.TRACKING):
        return None
    return Level.TRACKING
