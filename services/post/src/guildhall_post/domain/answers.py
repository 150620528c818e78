"""Answers to questions: votes and the accepted answer. Pure."""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime

from guildhall_kit.errors import FailedPrecondition, PermissionDenied

from .access import Action, View
from .content import ItemState, is_moderator, item_not_found, require_published
from .posts import PostType
from .revisions import Revision


class Vote(enum.StrEnum):
    UP = "up"
    DOWN = "down"


@dataclass(frozen=True, slots=True)
class Answer:
    """An answer as its readers see it (who voted is not part of it)."""

    answer_id: str
    question_id: str
    space_id: str
    author_id: str
    body: str
    created_at: datetime
    mentions: tuple[str, ...] = ()
    state: ItemState = ItemState.PUBLISHED
    score: int = 0
    revision: int = 1
    edited_by: str = ""
    updated_at: datetime | None = None
    comment_count: int = 0
    deleted_by: str = ""
    deleted_at: datetime | None = None

    @property
    def published(self) -> bool:
        return self.state is ItemState.PUBLISHED

    def current_revision(self) -> Revision:
        return Revision(
            item_id=self.answer_id,
            revision=self.revision,
            title="",
            body=self.body,
            tags=(),
            author_id=self.edited_by or self.author_id,
            created_at=self.updated_at or self.created_at,
        )

    def revised(
        self, *, body: str, mentions: tuple[str, ...], editor_id: str, at: datetime
    ) -> Answer:
        return replace(
            self,
            body=body,
            mentions=mentions,
            revision=self.revision + 1,
            edited_by=editor_id,
            updated_at=at,
        )


def new_answer(
    *,
    answer_id: str,
    question_id: str,
    space_id: str,
    author_id: str,
    body: str,
    mentions: tuple[str, ...],
    at: datetime,
) -> Answer:
    return Answer(
        answer_id=answer_id,
        question_id=question_id,
        space_id=space_id,
        author_id=author_id,
        body=body,
        created_at=at,
        mentions=mentions,
        edited_by=author_id,
        updated_at=at,
    )


@dataclass(frozen=True, slots=True)
class VoteChange:
    """The effect of one person's new vote on a score."""

    delta: int
    """What to add to the score (up minus down)."""
    changed: bool


def vote_change(current: Vote | None, new: Vote | None) -> VoteChange:
    """The score change when a person's vote goes from ``current`` to ``new`` (None: no vote)."""
    value = {Vote.UP: 1, Vote.DOWN: -1, None: 0}
    return VoteChange(delta=value[new] - value[current], changed=current is not new)


@dataclass(frozen=True, slots=True)
class AcceptDecision:
    """What accepting an answer does to its question."""

    changed: bool
    """False when that answer is already accepted: nothing is written or published."""
    previous_answer_id: str
    """The answer accepted before, when another one was; empty otherwise."""


def decide_accept(
    *,
    caller_id: str,
    asker_id: str,
    view: View,
    question_type: PostType,
    current_accepted_id: str,
    answer_id: str,
    answer_question_id: str,
    answer_state: ItemState,
    question_id: str,
) -> AcceptDecision:
    """Whether and how the caller accepts ``answer_id`` for the question.

    Raises:
        FailedPrecondition: not a question, or the answer is deleted.
        NotFound: the answer belongs to another question (it is not one of these answers).
        PermissionDenied: neither the asker (with COMMENT) nor a moderator.
    """
    if question_type is not PostType.QUESTION:
        raise FailedPrecondition("only questions have answers")
    if answer_question_id != question_id:
        raise item_not_found()
    if not (is_moderator(view) or (caller_id == asker_id and view.allows(Action.COMMENT))):
        if view.read_only:
            raise FailedPrecondition("the space is read-only")
        raise PermissionDenied("only the asker or a moderator may accept an answer")
    require_published(answer_state, "answer")
    if current_accepted_id == answer_id:
        return AcceptDecision(changed=False, previous_answer_id="")
    return AcceptDecision(changed=True, previous_answer_id=current_accepted_id)
