"""Life-cycle rules of posts, answers and comments. Pure.

Who may do what is expressed over a :class:`~.access.View` (the caller's
actions in the item's space), so the same rules hold whether the view came
from the read model (employees) or from the community service (partners).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from guildhall_kit.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied

from .access import Action, View


class PostType(enum.StrEnum):
    DISCUSSION = "discussion"
    ANNOUNCEMENT = "announcement"
    QUESTION = "question"
    IDEA = "idea"
    WIKI_PAGE = "wiki_page"


class ItemState(enum.StrEnum):
    PUBLISHED = "published"
    DELETED = "deleted"


class IdeaStatus(enum.StrEnum):
    NEW = "new"
    UNDER_REVIEW = "under_review"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    IMPLEMENTED = "implemented"


class ReactionKind(enum.StrEnum):
    LIKE = "like"
    CELEBRATE = "celebrate"
    THANKS = "thanks"
    INSIGHTFUL = "insightful"
    CURIOUS = "curious"


class Vote(enum.StrEnum):
    UP = "up"
    DOWN = "down"


IDEA_TRANSITIONS: Mapping[IdeaStatus, frozenset[IdeaStatus]] = {
    IdeaStatus.NEW: frozenset({IdeaStatus.UNDER_REVIEW}),
    IdeaStatus.UNDER_REVIEW: frozenset({IdeaStatus.ACCEPTED, IdeaStatus.DECLINED}),
    IdeaStatus.ACCEPTED: frozenset({IdeaStatus.IMPLEMENTED}),
    # A declined idea may be reconsidered; an implemented one is final.
    IdeaStatus.DECLINED: frozenset({IdeaStatus.UNDER_REVIEW}),
    IdeaStatus.IMPLEMENTED: frozenset(),
}
"""The idea workflow: new -> under review -> accepted / declined; accepted -> implemented."""


def post_not_found(post_id: str) -> NotFound:
    """The error for an item that does not exist *or* that the caller may not read."""
    return NotFound("post", post_id)


def answer_not_found(answer_id: str) -> NotFound:
    return NotFound("answer", answer_id)


def comment_not_found(comment_id: str) -> NotFound:
    return NotFound("comment", comment_id)


def create_actions(post_type: PostType) -> tuple[Action, ...]:
    """What creating an item of ``post_type`` needs: POST, and MODERATE for announcements."""
    if post_type is PostType.ANNOUNCEMENT:
        return (Action.POST, Action.MODERATE)
    return (Action.POST,)


def require_create(post_type: PostType, view: View, *, pinned: bool) -> None:
    """Raise unless ``view`` allows creating such an item (pinning needs an announcement).

    Raises:
        InvalidArgument: ``pinned`` for a type other than an announcement.
        PermissionDenied / FailedPrecondition: as :func:`.access.check_space` decides.
    """
    if pinned and post_type is not PostType.ANNOUNCEMENT:
        raise InvalidArgument("pinned", "only announcements can be pinned")
    for action in create_actions(post_type):
        if not view.allows(action):
            _refuse(view, action)


def _refuse(view: View, action: Action) -> None:
    if view.read_only:
        raise FailedPrecondition("the space is read-only")
    raise PermissionDenied(f"not allowed to {action.value} here")


def is_moderator(view: View) -> bool:
    return view.allows(Action.MODERATE)


def may_see_deleted(caller_id: str, author_id: str, view: View) -> bool:
    """A deleted item stays visible to its author and the space's moderators."""
    return caller_id == author_id or is_moderator(view)


def may_see_history(caller_id: str, author_id: str, view: View, *, wiki: bool) -> bool:
    """A wiki page's history is open to its readers; other items' to the author and moderators."""
    if wiki:
        return view.allows(Action.READ)
    return caller_id == author_id or is_moderator(view)


def may_edit(caller_id: str, author_id: str, view: View, *, own_action: Action, wiki: bool) -> bool:
    """Whether the caller may edit (or delete) the item.

    Wiki pages are edited by anyone with POST. Other items by their author while
    they still hold ``own_action`` in the space (POST for posts, COMMENT for answers
    and comments), or by a moderator.
    """
    if wiki:
        return view.allows(Action.POST)
    if is_moderator(view):
        return True
    return caller_id == author_id and view.allows(own_action)


def require_edit(
    caller_id: str, author_id: str, view: View, *, own_action: Action, wiki: bool = False
) -> None:
    """Raise unless :func:`may_edit`.

    Raises:
        FailedPrecondition: the space is read-only (archived, closed) for the caller.
        PermissionDenied: otherwise.
    """
    if may_edit(caller_id, author_id, view, own_action=own_action, wiki=wiki):
        return
    if view.read_only:
        raise FailedPrecondition("the space is read-only")
    raise PermissionDenied("only the author or a moderator may change this")


def require_published(state: ItemState, what: str) -> None:
    """Raise FAILED_PRECONDITION for a change to a deleted item."""
    if state is ItemState.DELETED:
        raise FailedPrecondition(f"the {what} is deleted")


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
        raise answer_not_found(answer_id)
    if not (is_moderator(view) or (caller_id == asker_id and view.allows(Action.COMMENT))):
        if view.read_only:
            raise FailedPrecondition("the space is read-only")
        raise PermissionDenied("only the asker or a moderator may accept an answer")
    require_published(answer_state, "answer")
    if current_accepted_id == answer_id:
        return AcceptDecision(changed=False, previous_answer_id="")
    return AcceptDecision(changed=True, previous_answer_id=current_accepted_id)


def added_mentions(before: Iterable[str], after: Sequence[str]) -> list[str]:
    """The people mentioned in ``after`` but not in ``before``, in ``after``'s order."""
    old = set(before)
    return [person for person in after if person not in old]


def normalise_tags(tags: Iterable[str]) -> list[str]:
    """Tags sorted, without duplicates (the contract's Post.tags is sorted)."""
    return sorted(set(tags))


@dataclass(frozen=True, slots=True)
class CommentParent:
    """The comment a reply points at, as stored."""

    comment_id: str
    post_id: str
    answer_id: str
    parent_comment_id: str


def thread_for_reply(
    parent: CommentParent | None, *, post_id: str, answer_id: str, parent_comment_id: str
) -> str:
    """The thread a new comment joins: its own (top-level) or its parent's.

    Returns the parent's id for a reply, or "" for a top-level comment (whose
    thread is its own id, known once minted).

    Raises:
        NotFound: the parent does not exist on this item (or this answer).
        InvalidArgument: the parent is itself a reply (threads are one level deep).
    """
    if not parent_comment_id:
        return ""
    if parent is None or parent.post_id != post_id or parent.answer_id != answer_id:
        raise comment_not_found(parent_comment_id)
    if parent.parent_comment_id:
        raise InvalidArgument(
            "parent_comment_id", "replies are one level deep; reply to the thread"
        )
    return parent.comment_id
