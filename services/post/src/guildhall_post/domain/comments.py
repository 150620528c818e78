"""Comments on posts and answers, threaded one level deep. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from guildhall_kit.errors import InvalidArgument

from .content import ItemState, ReactionCounts, item_not_found
from .revisions import Revision


@dataclass(frozen=True, slots=True)
class Comment:
    """A comment as its readers see it (who reacted is not part of it).

    ``thread_id`` is the id of the thread's first comment (its own for a top-level
    one); comments are listed thread by thread, by id inside a thread.
    """

    comment_id: str
    post_id: str
    space_id: str
    author_id: str
    body: str
    created_at: datetime
    thread_id: str
    answer_id: str = ""
    parent_comment_id: str = ""
    mentions: tuple[str, ...] = ()
    state: ItemState = ItemState.PUBLISHED
    revision: int = 1
    edited_by: str = ""
    updated_at: datetime | None = None
    reaction_counts: ReactionCounts = field(default_factory=dict)
    deleted_by: str = ""
    deleted_at: datetime | None = None

    @property
    def published(self) -> bool:
        return self.state is ItemState.PUBLISHED

    @property
    def is_reply(self) -> bool:
        return bool(self.parent_comment_id)

    def current_revision(self) -> Revision:
        return Revision(
            item_id=self.comment_id,
            revision=self.revision,
            title="",
            body=self.body,
            tags=(),
            author_id=self.edited_by or self.author_id,
            created_at=self.updated_at or self.created_at,
        )

    def revised(
        self, *, body: str, mentions: tuple[str, ...], editor_id: str, at: datetime
    ) -> Comment:
        return replace(
            self,
            body=body,
            mentions=mentions,
            revision=self.revision + 1,
            edited_by=editor_id,
            updated_at=at,
        )


def new_comment(
    *,
    comment_id: str,
    post_id: str,
    answer_id: str,
    parent: Comment | None,
    space_id: str,
    author_id: str,
    body: str,
    mentions: tuple[str, ...],
    at: datetime,
) -> Comment:
    """A new comment: a reply joins ``parent``'s thread, a top-level comment starts its own
    (check the parent first with :func:`require_reply_target`)."""
    return Comment(
        comment_id=comment_id,
        post_id=post_id,
        space_id=space_id,
        author_id=author_id,
        body=body,
        created_at=at,
        thread_id=parent.comment_id if parent is not None else comment_id,
        answer_id=answer_id,
        parent_comment_id=parent.comment_id if parent is not None else "",
        mentions=mentions,
        edited_by=author_id,
        updated_at=at,
    )


def require_reply_target(
    parent: Comment | None, *, post_id: str, answer_id: str, parent_comment_id: str
) -> Comment | None:
    """The comment a new one replies to (None for a top-level comment).

    Raises:
        NotFound: the parent does not exist on this item (or this answer).
        InvalidArgument: the parent is itself a reply (threads are one level deep).
    """
    if not parent_comment_id:
        return None
    if parent is None or parent.post_id != post_id or parent.answer_id != answer_id:
        raise item_not_found()
    if parent.is_reply:
        raise InvalidArgument(
            "parent_comment_id", "replies are one level deep; reply to the thread"
        )
    return parent
