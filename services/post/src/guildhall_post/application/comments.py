"""Use cases of comments (on posts and answers) and reactions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from guildhall_kit import paging
from guildhall_post.application.access import Caller
from guildhall_post.application.common import CommentView, Deps, Page, Shaped, mention_events
from guildhall_post.domain.access import Action
from guildhall_post.domain.comments import Comment, new_comment, require_reply_target
from guildhall_post.domain.content import (
    ReactionCounts,
    ReactionKind,
    added_mentions,
    item_not_found,
    may_see_deleted,
    require_edit,
    require_published,
)
from guildhall_post.domain.posts import Post
from guildhall_post.domain.revisions import require_base

COMMENTS: Final = "comments"


class CommentUseCases:
    """AddComment, ListComments, EditComment, DeleteComment, AddReaction, RemoveReaction."""

    def __init__(self, deps: Deps) -> None:
        self._d = deps

    async def _shown(self, caller: Caller, comment: Comment) -> Shaped[CommentView]:
        return Shaped(
            CommentView(comment, True), await self._d.access.shaping(caller, [comment.body])
        )

    async def add(
        self,
        caller: Caller,
        post_id: str,
        *,
        answer_id: str,
        parent_comment_id: str,
        body: str,
        mentions: Sequence[str],
    ) -> Shaped[CommentView]:
        d = self._d
        post, _ = await d.access.access_post(caller, post_id, Action.COMMENT)
        require_published(post.state, "item")
        if answer_id:
            answer = await d.content.answer(answer_id)
            if answer is None or answer.question_id != post_id:
                raise item_not_found()
            require_published(answer.state, "answer")
        parent = await d.content.comment(parent_comment_id) if parent_comment_id else None
        parent = require_reply_target(
            parent, post_id=post_id, answer_id=answer_id, parent_comment_id=parent_comment_id
        )
        at = d.clock()
        comment = new_comment(
            comment_id=d.ids(at),
            post_id=post_id,
            answer_id=answer_id,
            parent=parent,
            space_id=post.space_id,
            author_id=caller.person_id,
            body=body,
            mentions=tuple(mentions),
            at=at,
        )
        events = [d.events.comment_added(comment)]
        events += await mention_events(
            d,
            comment.mentions,
            author_id=caller.person_id,
            post_id=post_id,
            space_id=post.space_id,
            at=at,
            comment_id=comment.comment_id,
        )
        await d.content.insert_comment(comment, events)
        await d.content.count_children(post_id, answer_id=answer_id, comments=1)
        return await self._shown(caller, comment)

    async def list_comments(
        self, caller: Caller, post_id: str, *, answer_id: str, page_size: int, page_token: str
    ) -> Page[CommentView]:
        """Thread by thread, by id inside a thread; a deleted comment is a placeholder
        (no body) except for its author and the space's moderators."""
        d = self._d
        _, view = await d.access.access_post(caller, post_id)
        scope = [post_id, answer_id]
        key = paging.decode_token(page_token, COMMENTS, [str, str], scope=scope)
        size = paging.page_size(page_size)
        after = (paging.key_str(key, 0), paging.key_str(key, 1)) if key else None
        comments = await d.content.comments(post_id, answer_id, after=after, limit=size + 1)
        token = ""
        if len(comments) > size:
            comments = comments[:size]
            last = comments[-1]
            token = paging.encode_token(COMMENTS, [last.thread_id, last.comment_id], scope=scope)
        shown = [
            CommentView(c, c.published or may_see_deleted(caller.person_id, c.author_id, view))
            for c in comments
        ]
        shaping = await d.access.shaping(caller, [v.comment.body for v in shown if v.show_body])
        return Page(shown, token, shaping)

    async def edit(
        self,
        caller: Caller,
        comment_id: str,
        *,
        body: str,
        mentions: Sequence[str],
        expected_revision: int | None,
    ) -> Shaped[CommentView]:
        d = self._d
        comment, view = await d.access.access_comment(caller, comment_id, Action.COMMENT)
        require_edit(caller.person_id, comment.author_id, view, own_action=Action.COMMENT)
        require_published(comment.state, "comment")
        if expected_revision is not None:
            require_base(comment.revision, expected_revision)
        if (comment.body, comment.mentions) == (body, tuple(mentions)):
            return await self._shown(caller, comment)
        at = d.clock()
        after = comment.revised(
            body=body, mentions=tuple(mentions), editor_id=caller.person_id, at=at
        )
        events = [d.events.comment_edited(after)]
        events += await mention_events(
            d,
            added_mentions(comment.mentions, after.mentions),
            author_id=caller.person_id,
            post_id=comment.post_id,
            space_id=comment.space_id,
            at=at,
            comment_id=comment_id,
        )
        await d.content.revise(comment, after, events)
        return await self._shown(caller, after)

    async def delete(self, caller: Caller, comment_id: str) -> Shaped[CommentView]:
        d = self._d
        comment, view = await d.access.access_comment(caller, comment_id, Action.COMMENT)
        require_edit(caller.person_id, comment.author_id, view, own_action=Action.COMMENT)
        if comment.published:
            at = d.clock()
            event = d.events.comment_deleted(comment, caller.person_id, at)
            after = await d.content.delete(
                comment, actor_id=caller.person_id, at=at, events=[event]
            )
            if isinstance(after, Comment):
                comment = after
                await d.content.count_children(
                    comment.post_id, answer_id=comment.answer_id, comments=-1
                )
        return await self._shown(caller, comment)

    async def react(
        self, caller: Caller, post_id: str, comment_id: str, kind: ReactionKind, *, add: bool
    ) -> ReactionCounts:
        """The target's reaction counts after adding (or removing) the caller's reaction;
        repeating either changes nothing."""
        d = self._d
        post, _ = await d.access.access_post(caller, post_id, Action.COMMENT)
        require_published(post.state, "item")
        target: Post | Comment = post
        if comment_id:
            found = await d.content.comment(comment_id)
            if found is None or found.post_id != post_id:
                raise item_not_found()
            require_published(found.state, "comment")
            target = found
        events = (
            [
                d.events.reaction_added(
                    post_id=post_id,
                    comment_id=comment_id,
                    space_id=post.space_id,
                    person_id=caller.person_id,
                    kind=kind,
                    at=d.clock(),
                )
            ]
            if add
            else []
        )
        counts = await d.content.react(target, caller.person_id, kind, add=add, events=events)
        if counts is not None:
            return counts
        # Already as asked: what is stored now.
        again = await (d.content.comment(comment_id) if comment_id else d.content.post(post_id))
        if again is None:
            raise item_not_found()
        return again.reaction_counts
