"""The post topic's event payloads, built from domain objects.

Events carry the text as written (unshaped): the topic stays inside the platform,
and the search index is rebuilt from it. The subject and key of every event is the
top-level item (post, question, idea or wiki page), so all events about one item
share a partition and keep their order.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from guildhall.post.v1 import events_pb2 as ev
from guildhall_kit.bus import Event
from guildhall_kit.outbox import Outbox
from guildhall_post.adapters import convert
from guildhall_post.domain.answers import Answer
from guildhall_post.domain.comments import Comment
from guildhall_post.domain.content import ReactionKind
from guildhall_post.domain.ideas import IdeaStatus
from guildhall_post.domain.links import RAW
from guildhall_post.domain.posts import Post


class Events:
    """Builds :class:`Event` values for the post topic (checked against the registry)."""

    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox

    def _event(self, message: Any, key: str, at: datetime) -> Event:
        return self._outbox.event(message, key=key, time=at)

    def post_created(self, post: Post) -> Event:
        return self._event(
            ev.PostCreated(post=convert.post(post, RAW)), post.post_id, post.created_at
        )

    def post_edited(self, post: Post) -> Event:
        at = post.updated_at or post.created_at
        return self._event(
            ev.PostEdited(
                post_id=post.post_id,
                space_id=post.space_id,
                editor_id=post.edited_by,
                revision=post.revision,
                title=post.title,
                body=post.body,
                tags=list(post.tags),
                edited_at=convert.ts(at),
            ),
            post.post_id,
            at,
        )

    def post_deleted(self, post: Post, actor_id: str, at: datetime) -> Event:
        return self._event(
            ev.PostDeleted(
                post_id=post.post_id,
                space_id=post.space_id,
                actor_id=actor_id,
                deleted_at=convert.ts(at),
            ),
            post.post_id,
            at,
        )

    def wiki_revised(self, page: Post) -> Event:
        at = page.updated_at or page.created_at
        return self._event(
            ev.WikiRevised(
                page_id=page.post_id,
                space_id=page.space_id,
                revision=page.revision,
                restored_from_revision=page.restored_from,
                author_id=page.edited_by or page.author_id,
                title=page.title,
                body=page.body,
                summary=page.revision_summary,
                revised_at=convert.ts(at),
                tags=list(page.tags),
            ),
            page.post_id,
            at,
        )

    def mentioned(
        self,
        people: Sequence[str],
        *,
        author_id: str,
        post_id: str,
        space_id: str,
        at: datetime,
        comment_id: str = "",
    ) -> list[Event]:
        return [
            self._event(
                ev.Mentioned(
                    person_id=person,
                    author_id=author_id,
                    post_id=post_id,
                    comment_id=comment_id,
                    space_id=space_id,
                    mentioned_at=convert.ts(at),
                ),
                post_id,
                at,
            )
            for person in people
        ]

    def answer_posted(self, answer: Answer) -> Event:
        return self._event(
            ev.AnswerPosted(
                answer_id=answer.answer_id,
                question_id=answer.question_id,
                space_id=answer.space_id,
                author_id=answer.author_id,
                body=answer.body,
                posted_at=convert.ts(answer.created_at),
            ),
            answer.question_id,
            answer.created_at,
        )

    def answer_edited(self, answer: Answer) -> Event:
        at = answer.updated_at or answer.created_at
        return self._event(
            ev.AnswerEdited(
                answer_id=answer.answer_id,
                question_id=answer.question_id,
                space_id=answer.space_id,
                editor_id=answer.edited_by,
                revision=answer.revision,
                body=answer.body,
                edited_at=convert.ts(at),
            ),
            answer.question_id,
            at,
        )

    def answer_deleted(
        self, answer: Answer, actor_id: str, was_accepted: bool, at: datetime
    ) -> Event:
        return self._event(
            ev.AnswerDeleted(
                answer_id=answer.answer_id,
                question_id=answer.question_id,
                space_id=answer.space_id,
                actor_id=actor_id,
                was_accepted=was_accepted,
                deleted_at=convert.ts(at),
            ),
            answer.question_id,
            at,
        )

    def answer_accepted(
        self, question: Post, answer: Answer, accepted_by: str, previous: str, at: datetime
    ) -> Event:
        return self._event(
            ev.AnswerAccepted(
                answer_id=answer.answer_id,
                question_id=question.post_id,
                space_id=question.space_id,
                answer_author_id=answer.author_id,
                accepted_by=accepted_by,
                question_tags=list(question.tags),
                previous_answer_id=previous,
                accepted_at=convert.ts(at),
            ),
            question.post_id,
            at,
        )

    def idea_voted(
        self, idea: Post, voter_id: str, withdrawn: bool, count: int, at: datetime
    ) -> Event:
        return self._event(
            ev.IdeaVoted(
                idea_id=idea.post_id,
                space_id=idea.space_id,
                voter_id=voter_id,
                withdrawn=withdrawn,
                vote_count=count,
                voted_at=convert.ts(at),
            ),
            idea.post_id,
            at,
        )

    def idea_status_changed(
        self,
        idea: Post,
        *,
        previous: IdeaStatus,
        status: IdeaStatus,
        actor_id: str,
        note: str,
        at: datetime,
    ) -> Event:
        return self._event(
            ev.IdeaStatusChanged(
                idea_id=idea.post_id,
                space_id=idea.space_id,
                previous_status=convert.IDEA_STATUS[previous],
                status=convert.IDEA_STATUS[status],
                actor_id=actor_id,
                note=note,
                changed_at=convert.ts(at),
            ),
            idea.post_id,
            at,
        )

    def comment_added(self, comment: Comment) -> Event:
        return self._event(
            ev.CommentAdded(
                comment_id=comment.comment_id,
                post_id=comment.post_id,
                space_id=comment.space_id,
                parent_comment_id=comment.parent_comment_id,
                author_id=comment.author_id,
                body=comment.body,
                created_at=convert.ts(comment.created_at),
            ),
            comment.post_id,
            comment.created_at,
        )

    def comment_edited(self, comment: Comment) -> Event:
        at = comment.updated_at or comment.created_at
        return self._event(
            ev.CommentEdited(
                comment_id=comment.comment_id,
                post_id=comment.post_id,
                space_id=comment.space_id,
                editor_id=comment.edited_by,
                revision=comment.revision,
                body=comment.body,
                edited_at=convert.ts(at),
            ),
            comment.post_id,
            at,
        )

    def comment_deleted(self, comment: Comment, actor_id: str, at: datetime) -> Event:
        return self._event(
            ev.CommentDeleted(
                comment_id=comment.comment_id,
                post_id=comment.post_id,
                space_id=comment.space_id,
                actor_id=actor_id,
                deleted_at=convert.ts(at),
            ),
            comment.post_id,
            at,
        )

    def reaction_added(
        self,
        *,
        post_id: str,
        comment_id: str,
        space_id: str,
        person_id: str,
        kind: ReactionKind,
        at: datetime,
    ) -> Event:
        return self._event(
            ev.ReactionAdded(
                post_id=post_id,
                comment_id=comment_id,
                space_id=space_id,
                person_id=person_id,
                kind=convert.REACTION[kind],
                reacted_at=convert.ts(at),
            ),
            post_id,
            at,
        )
