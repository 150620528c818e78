"""The idea workflow. Pure."""

from __future__ import annotations

import enum
from collections.abc import Mapping

from guildhall_kit.errors import FailedPrecondition


class IdeaStatus(enum.StrEnum):
    NEW = "new"
    UNDER_REVIEW = "under_review"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    IMPLEMENTED = "implemented"


IDEA_TRANSITIONS: Mapping[IdeaStatus, frozenset[IdeaStatus]] = {
    IdeaStatus.NEW: frozenset({IdeaStatus.UNDER_REVIEW}),
    IdeaStatus.UNDER_REVIEW: frozenset({IdeaStatus.ACCEPTED, IdeaStatus.DECLINED}),
    IdeaStatus.ACCEPTED: frozenset({IdeaStatus.IMPLEMENTED}),
    # A declined idea may be reconsidered; an implemented one is final.
    IdeaStatus.DECLINED: frozenset({IdeaStatus.UNDER_REVIEW}),
    IdeaStatus.IMPLEMENTED: frozenset(),
}
"""new -> under review -> accepted / declined; accepted -> implemented."""


def idea_transition(current: IdeaStatus, target: IdeaStatus) -> bool:
    """Whether moving ``current`` to ``target`` changes anything.

    Raises:
        FailedPrecondition: the workflow has no such transition.
    """
    if current is target:
        return False
    if target not in IDEA_TRANSITIONS[current]:
        raise FailedPrecondition(f"an idea cannot move from {current.value} to {target.value}")
    return True
