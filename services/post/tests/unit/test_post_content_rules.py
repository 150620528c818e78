"""Life-cycle rules of posts, answers, comments, ideas and votes."""

from __future__ import annotations

import pytest

from guildhall_kit.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from guildhall_post.domain.access import Action, View
from guildhall_post.domain.content import (
    AcceptDecision,
    CommentParent,
    IdeaStatus,
    ItemState,
    PostType,
    Vote,
    added_mentions,
    decide_accept,
    idea_transition,
    may_edit,
    may_see_deleted,
    may_see_history,
    require_create,
    require_edit,
    thread_for_reply,
    vote_change,
)

MEMBER = View(visible=True, actions=frozenset({Action.READ, Action.POST, Action.COMMENT}))
MODERATOR = View(visible=True, actions=MEMBER.actions | {Action.MODERATE})
READER = View(visible=True, actions=frozenset({Action.READ}))
ARCHIVED = View(visible=True, actions=frozenset({Action.READ}), read_only=True)


def test_announcements_need_moderation_and_only_they_pin() -> None:
    require_create(PostType.DISCUSSION, MEMBER, pinned=False)
    require_create(PostType.ANNOUNCEMENT, MODERATOR, pinned=True)
    with pytest.raises(PermissionDenied):
        require_create(PostType.ANNOUNCEMENT, MEMBER, pinned=False)
    with pytest.raises(InvalidArgument) as info:
        require_create(PostType.QUESTION, MODERATOR, pinned=True)
    assert info.value.field == "pinned"
    with pytest.raises(FailedPrecondition):
        require_create(PostType.DISCUSSION, ARCHIVED, pinned=False)
    with pytest.raises(PermissionDenied):
        require_create(PostType.DISCUSSION, READER, pinned=False)


def test_edit_rights() -> None:
    assert may_edit("ann", "ann", MEMBER, own_action=Action.POST, wiki=False)
    assert not may_edit("bob", "ann", MEMBER, own_action=Action.POST, wiki=False)
    assert may_edit("mod", "ann", MODERATOR, own_action=Action.POST, wiki=False)
    # The author who can no longer post there (left, or a viewer now) cannot edit.
    assert not may_edit("ann", "ann", READER, own_action=Action.POST, wiki=False)
    # Wiki pages are everyone's with POST.
    assert may_edit("bob", "ann", MEMBER, own_action=Action.POST, wiki=True)
    with pytest.raises(FailedPrecondition):
        require_edit("ann", "ann", ARCHIVED, own_action=Action.POST)
    with pytest.raises(PermissionDenied):
        require_edit("bob", "ann", MEMBER, own_action=Action.COMMENT)


def test_deleted_items_and_history_stay_with_author_and_moderators() -> None:
    assert may_see_deleted("ann", "ann", READER)
    assert may_see_deleted("mod", "ann", MODERATOR)
    assert not may_see_deleted("bob", "ann", MEMBER)
    assert may_see_history("bob", "ann", READER, wiki=True)
    assert not may_see_history("bob", "ann", MEMBER, wiki=False)
    assert may_see_history("ann", "ann", MEMBER, wiki=False)
    assert may_see_history("mod", "ann", MODERATOR, wiki=False)


@pytest.mark.parametrize(
    ("current", "target", "changed"),
    [
        (IdeaStatus.NEW, IdeaStatus.UNDER_REVIEW, True),
        (IdeaStatus.UNDER_REVIEW, IdeaStatus.ACCEPTED, True),
        (IdeaStatus.UNDER_REVIEW, IdeaStatus.DECLINED, True),
        (IdeaStatus.ACCEPTED, IdeaStatus.IMPLEMENTED, True),
        (IdeaStatus.DECLINED, IdeaStatus.UNDER_REVIEW, True),
        (IdeaStatus.NEW, IdeaStatus.NEW, False),
        (IdeaStatus.IMPLEMENTED, IdeaStatus.IMPLEMENTED, False),
    ],
)
def test_idea_workflow(current: IdeaStatus, target: IdeaStatus, changed: bool) -> None:
    assert idea_transition(current, target) is changed


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (IdeaStatus.NEW, IdeaStatus.ACCEPTED),
        (IdeaStatus.NEW, IdeaStatus.IMPLEMENTED),
        (IdeaStatus.DECLINED, IdeaStatus.IMPLEMENTED),
        (IdeaStatus.IMPLEMENTED, IdeaStatus.UNDER_REVIEW),
    ],
)
def test_idea_workflow_refuses_skips(current: IdeaStatus, target: IdeaStatus) -> None:
    with pytest.raises(FailedPrecondition):
        idea_transition(current, target)


def test_vote_changes() -> None:
    assert vote_change(None, Vote.UP).delta == 1
    assert vote_change(Vote.UP, Vote.DOWN).delta == -2
    assert vote_change(Vote.DOWN, None).delta == 1
    same = vote_change(Vote.UP, Vote.UP)
    assert (same.delta, same.changed) == (0, False)


def _accept(**overrides: object) -> AcceptDecision:
    args: dict[str, object] = {
        "caller_id": "asker",
        "asker_id": "asker",
        "view": MEMBER,
        "question_type": PostType.QUESTION,
        "current_accepted_id": "",
        "answer_id": "a1",
        "answer_question_id": "q1",
        "answer_state": ItemState.PUBLISHED,
        "question_id": "q1",
    }
    args.update(overrides)
    return decide_accept(**args)  # type: ignore[arg-type]


def test_accepting_once_then_again_changes_nothing() -> None:
    first = _accept()
    assert first.changed
    assert first.previous_answer_id == ""
    again = _accept(current_accepted_id="a1")
    assert not again.changed
    other = _accept(current_accepted_id="a0")
    assert other.previous_answer_id == "a0"


def test_who_may_accept() -> None:
    assert _accept(caller_id="mod", view=MODERATOR).changed
    with pytest.raises(PermissionDenied):
        _accept(caller_id="bob")
    with pytest.raises(NotFound):
        _accept(answer_question_id="q2")
    with pytest.raises(FailedPrecondition):
        _accept(answer_state=ItemState.DELETED)
    with pytest.raises(FailedPrecondition):
        _accept(question_type=PostType.IDEA)


def test_threads_are_one_level_deep() -> None:
    top = CommentParent("c1", "p1", "", "")
    assert thread_for_reply(None, post_id="p1", answer_id="", parent_comment_id="") == ""
    assert thread_for_reply(top, post_id="p1", answer_id="", parent_comment_id="c1") == "c1"
    reply = CommentParent("c2", "p1", "", "c1")
    with pytest.raises(InvalidArgument) as info:
        thread_for_reply(reply, post_id="p1", answer_id="", parent_comment_id="c2")
    assert info.value.field == "parent_comment_id"
    with pytest.raises(NotFound):
        thread_for_reply(top, post_id="p2", answer_id="", parent_comment_id="c1")
    with pytest.raises(NotFound):
        thread_for_reply(None, post_id="p1", answer_id="", parent_comment_id="zz")


def test_added_mentions_keep_order() -> None:
    assert added_mentions(["a", "b"], ["c", "a", "d"]) == ["c", "d"]
