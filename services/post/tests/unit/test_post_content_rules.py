"""Life-cycle rules of posts, answers, comments, ideas and votes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from guildhall_kit.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from guildhall_post.domain.access import Action, View
from guildhall_post.domain.answers import AcceptDecision, Vote, decide_accept, vote_change
from guildhall_post.domain.comments import Comment, new_comment, require_reply_target
from guildhall_post.domain.content import (
    ItemState,
    added_mentions,
    item_not_found,
    may_edit,
    may_see_deleted,
    may_see_history,
    normalise_tags,
    require_edit,
)
from guildhall_post.domain.ideas import IdeaStatus, idea_transition
from guildhall_post.domain.posts import PostType, new_post, require_create

T = datetime(2026, 11, 25, tzinfo=UTC)
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


def _comment(comment_id: str, post_id: str, parent: Comment | None = None) -> Comment:
    return new_comment(
        comment_id=comment_id,
        post_id=post_id,
        answer_id="",
        parent=parent,
        space_id="s",
        author_id="ann",
        body="b",
        mentions=(),
        at=T,
    )


def test_threads_are_one_level_deep() -> None:
    top = _comment("c1", "p1")
    assert top.thread_id == "c1"
    assert not top.is_reply
    assert require_reply_target(None, post_id="p1", answer_id="", parent_comment_id="") is None
    parent = require_reply_target(top, post_id="p1", answer_id="", parent_comment_id="c1")
    reply = _comment("c2", "p1", parent)
    assert (reply.thread_id, reply.parent_comment_id, reply.is_reply) == ("c1", "c1", True)
    with pytest.raises(InvalidArgument) as info:
        require_reply_target(reply, post_id="p1", answer_id="", parent_comment_id="c2")
    assert info.value.field == "parent_comment_id"
    with pytest.raises(NotFound):
        require_reply_target(top, post_id="p2", answer_id="", parent_comment_id="c1")
    with pytest.raises(NotFound):
        require_reply_target(None, post_id="p1", answer_id="", parent_comment_id="zz")


def test_a_revision_moves_one_number_and_keeps_what_it_does_not_change() -> None:
    post = new_post(
        post_id="p1",
        space_id="s",
        post_type=PostType.IDEA,
        title="t",
        body="b",
        tags=normalise_tags(["b", "a", "b"]),
        mentions=(),
        quoted_post_id="",
        author_id="ann",
        pinned=False,
        summary="first",
        at=T,
    )
    assert (post.tags, post.idea_status, post.revision, post.edited_by) == (
        ("a", "b"),
        IdeaStatus.NEW,
        1,
        "ann",
    )
    later = T + timedelta(minutes=1)
    after = post.revised(
        title="t2",
        body="b2",
        tags=("c",),
        mentions=("bob",),
        editor_id="bob",
        at=later,
        summary="s",
    )
    assert (after.revision, after.title, after.edited_by, after.updated_at) == (
        2,
        "t2",
        "bob",
        later,
    )
    assert (after.author_id, after.created_at, after.idea_status) == ("ann", T, IdeaStatus.NEW)
    rev = after.current_revision()
    assert (rev.item_id, rev.revision, rev.author_id, rev.created_at, rev.summary) == (
        "p1",
        2,
        "bob",
        later,
        "s",
    )
    assert post.same_content("t", "b", ("a", "b"), ())
    assert not after.same_content("t", "b", ("a", "b"), ())


def test_hidden_and_missing_items_get_one_error_that_names_nothing() -> None:
    error = item_not_found()
    assert error.message == item_not_found().message == "item not found"


def test_added_mentions_keep_order() -> None:
    assert added_mentions(["a", "b"], ["c", "a", "d"]) == ["c", "d"]
