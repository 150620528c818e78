"""Event payloads of the post topic, built from stored documents.

Events carry the text as written (unshaped): the topic stays inside the
platform, and the search index is rebuilt from it. The subject and key of every
event is the top-level item (post, question, idea or wiki page).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from guildhall.post.v1 import events_pb2 as ev
from guildhall_kit.bus import Event
from guildhall_kit.outbox import Outbox
from guildhall_post.adapters import convert
from guildhall_post.domain.content import IdeaStatus, ReactionKind


class EventFactory:
    """Builds :class:`Event` values for the post topic (checked against the registry)."""

    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox

    def _event(self, message: Any, key: str, at: datetime) -> Event:
        return self._outbox.event(message, key=key, time=at)

    def post_created(self, doc: Mapping[str, Any]) -> Event:
        return self._event(
            ev.PostCreated(post=convert.post(doc, convert.RAW)), str(doc["_id"]), doc["created_at"]
        )

    def post_edited(self, doc: Mapping[str, Any], at: datetime) -> Event:
        return self._event(
            ev.PostEdited(
                post_id=str(doc["_id"]),
                space_id=str(doc["space_id"]),
                editor_id=str(doc["edited_by"]),
                revision=int(doc["revision"]),
                title=str(doc["title"]),
                body=str(doc["body"]),
                tags=list(doc.get("tags") or ()),
                edited_at=convert.ts(at),
            ),
            str(doc["_id"]),
            at,
        )

    def post_deleted(self, doc: Mapping[str, Any], actor_id: str, at: datetime) -> Event:
        return self._event(
            ev.PostDeleted(
                post_id=str(doc["_id"]),
                space_id=str(doc["space_id"]),
                actor_id=actor_id,
                deleted_at=convert.ts(at),
            ),
            str(doc["_id"]),
            at,
        )

    def wiki_revised(self, doc: Mapping[str, Any], at: datetime) -> Event:
        return self._event(
            ev.WikiRevised(
                page_id=str(doc["_id"]),
                space_id=str(doc["space_id"]),
                revision=int(doc["revision"]),
                restored_from_revision=int(doc.get("restored_from", 0)),
                author_id=str(doc.get("edited_by") or doc["author_id"]),
                title=str(doc["title"]),
                body=str(doc["body"]),
                summary=str(doc.get("revision_summary", "")),
                revised_at=convert.ts(at),
                tags=list(doc.get("tags") or ()),
            ),
            str(doc["_id"]),
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

    def answer_posted(self, doc: Mapping[str, Any]) -> Event:
        return self._event(
            ev.AnswerPosted(
                answer_id=str(doc["_id"]),
                question_id=str(doc["question_id"]),
                space_id=str(doc["space_id"]),
                author_id=str(doc["author_id"]),
                body=str(doc["body"]),
                posted_at=convert.ts(doc["created_at"]),
            ),
            str(doc["question_id"]),
            doc["created_at"],
        )

    def answer_edited(self, doc: Mapping[str, Any], at: datetime) -> Event:
        return self._event(
            ev.AnswerEdited(
                answer_id=str(doc["_id"]),
                question_id=str(doc["question_id"]),
                space_id=str(doc["space_id"]),
                editor_id=str(doc["edited_by"]),
                revision=int(doc["revision"]),
                body=str(doc["body"]),
                edited_at=convert.ts(at),
            ),
            str(doc["question_id"]),
            at,
        )

    def answer_deleted(
        self, doc: Mapping[str, Any], actor_id: str, was_accepted: bool, at: datetime
    ) -> Event:
        return self._event(
            ev.AnswerDeleted(
                answer_id=str(doc["_id"]),
                question_id=str(doc["question_id"]),
                space_id=str(doc["space_id"]),
                actor_id=actor_id,
                was_accepted=was_accepted,
                deleted_at=convert.ts(at),
            ),
            str(doc["question_id"]),
            at,
        )

    def answer_accepted(
        self,
        question: Mapping[str, Any],
        answer: Mapping[str, Any],
        accepted_by: str,
        previous_answer_id: str,
        at: datetime,
    ) -> Event:
        return self._event(
            ev.AnswerAccepted(
                answer_id=str(answer["_id"]),
                question_id=str(question["_id"]),
                space_id=str(question["space_id"]),
                answer_author_id=str(answer["author_id"]),
                accepted_by=accepted_by,
                question_tags=list(question.get("tags") or ()),
                previous_answer_id=previous_answer_id,
                accepted_at=convert.ts(at),
            ),
            str(question["_id"]),
            at,
        )

    def idea_voted(
        self, idea: Mapping[str, Any], voter_id: str, withdrawn: bool, count: int, at: datetime
    ) -> Event:
        return self._event(
            ev.IdeaVoted(
                idea_id=str(idea["_id"]),
                space_id=str(idea["space_id"]),
                voter_id=voter_id,
                withdrawn=withdrawn,
                vote_count=count,
                voted_at=convert.ts(at),
            ),
            str(idea["_id"]),
            at,
        )

    def idea_status_changed(
        self,
        *,
        idea: Mapping[str, Any],
        previous: IdeaStatus,
        status: IdeaStatus,
        actor_id: str,
        note: str,
        at: datetime,
    ) -> Event:
        return self._event(
            ev.IdeaStatusChanged(
                idea_id=str(idea["_id"]),
                space_id=str(idea["space_id"]),
                previous_status=convert.IDEA_STATUS[previous],
                status=convert.IDEA_STATUS[status],
                actor_id=actor_id,
                note=note,
                changed_at=convert.ts(at),
            ),
            str(idea["_id"]),
            at,
        )

    def comment_added(self, doc: Mapping[str, Any]) -> Event:
        return self._event(
            ev.CommentAdded(
                comment_id=str(doc["_id"]),
                post_id=str(doc["post_id"]),
                space_id=str(doc["space_id"]),
                parent_comment_id=str(doc.get("parent_comment_id", "")),
                author_id=str(doc["author_id"]),
                body=str(doc["body"]),
                created_at=convert.ts(doc["created_at"]),
            ),
            str(doc["post_id"]),
            doc["created_at"],
        )

    def comment_edited(self, doc: Mapping[str, Any], at: datetime) -> Event:
        return self._event(
            ev.CommentEdited(
                comment_id=str(doc["_id"]),
                post_id=str(doc["post_id"]),
                space_id=str(doc["space_id"]),
                editor_id=str(doc["edited_by"]),
                revision=int(doc["revision"]),
                body=str(doc["body"]),
                edited_at=convert.ts(at),
            ),
            str(doc["post_id"]),
            at,
        )

    def comment_deleted(self, doc: Mapping[str, Any], actor_id: str, at: datetime) -> Event:
        return self._event(
            ev.CommentDeleted(
                comment_id=str(doc["_id"]),
                post_id=str(doc["post_id"]),
                space_id=str(doc["space_id"]),
                actor_id=actor_id,
                deleted_at=convert.ts(at),
            ),
            str(doc["post_id"]),
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
