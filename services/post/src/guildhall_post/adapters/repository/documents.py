"""Stored documents <-> domain objects, for the content collections.

Documents keep the field names the service has always written, so a database
written by an earlier version reads back unchanged. Per-person arrays (idea
``voters``, answer ``up``/``down``, ``reactors``) and pending events live only in
the documents: the domain objects never carry them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from guildhall_kit.clock import aware
from guildhall_kit.mongo import Document
from guildhall_kit.outbox import OUTBOX_FIELD, OUTBOX_PENDING_FIELD, OUTBOX_SINCE_FIELD
from guildhall_post.domain.answers import Answer
from guildhall_post.domain.comments import Comment
from guildhall_post.domain.content import ItemState, ReactionCounts, ReactionKind
from guildhall_post.domain.ideas import IdeaStatus
from guildhall_post.domain.posts import Post, PostType
from guildhall_post.domain.revisions import Revision

HIDDEN_FIELDS: Final = (
    "voters",
    "up",
    "down",
    "reactors",
    OUTBOX_FIELD,
    OUTBOX_SINCE_FIELD,
    OUTBOX_PENDING_FIELD,
)
"""Never read into a domain object: per-person arrays and pending events."""
PUBLIC: Final[dict[str, int]] = dict.fromkeys(HIDDEN_FIELDS, 0)


def _time(value: Any) -> datetime:
    out = aware(value)
    if out is None:
        raise ValueError("a stored time is missing")
    return out


def _reactions(doc: Mapping[str, Any]) -> ReactionCounts:
    counts = doc.get("reaction_counts") or {}
    return {k: int(counts[k.value]) for k in ReactionKind if int(counts.get(k.value, 0)) > 0}


def post_from(doc: Mapping[str, Any]) -> Post:
    return Post(
        post_id=str(doc["_id"]),
        space_id=str(doc["space_id"]),
        type=PostType(doc["type"]),
        title=str(doc.get("title", "")),
        body=str(doc.get("body", "")),
        author_id=str(doc["author_id"]),
        created_at=_time(doc["created_at"]),
        tags=tuple(doc.get("tags") or ()),
        mentions=tuple(doc.get("mentions") or ()),
        quoted_post_id=str(doc.get("quoted_post_id", "")),
        state=ItemState(doc.get("state", ItemState.PUBLISHED.value)),
        pinned=bool(doc.get("pinned", False)),
        idea_status=IdeaStatus(doc["idea_status"]) if doc.get("idea_status") else None,
        accepted_answer_id=str(doc.get("accepted_answer_id", "")),
        revision=int(doc.get("revision", 1)),
        revision_summary=str(doc.get("revision_summary", "")),
        restored_from=int(doc.get("restored_from", 0)),
        edited_by=str(doc.get("edited_by", "")),
        updated_at=aware(doc.get("updated_at")),
        comment_count=int(doc.get("comment_count", 0)),
        answer_count=int(doc.get("answer_count", 0)),
        vote_count=int(doc.get("vote_count", 0)),
        reaction_counts=_reactions(doc),
        deleted_by=str(doc.get("deleted_by", "")),
        deleted_at=aware(doc.get("deleted_at")),
    )


def post_document(post: Post) -> Document:
    """A new post's document (its events are added by the write)."""
    return {
        "_id": post.post_id,
        "space_id": post.space_id,
        "type": post.type.value,
        "title": post.title,
        "body": post.body,
        "tags": list(post.tags),
        "mentions": list(post.mentions),
        "quoted_post_id": post.quoted_post_id,
        "author_id": post.author_id,
        "state": post.state.value,
        "pinned": post.pinned,
        "idea_status": post.idea_status.value if post.idea_status else "",
        "accepted_answer_id": post.accepted_answer_id,
        "accepted_answer_author_id": "",
        "revision": post.revision,
        "revision_summary": post.revision_summary,
        "restored_from": post.restored_from,
        "edited_by": post.edited_by,
        "comment_count": post.comment_count,
        "answer_count": post.answer_count,
        "vote_count": post.vote_count,
        "voters": [],
        "reactors": {},
        "reaction_counts": {k.value: n for k, n in post.reaction_counts.items()},
        "created_at": post.created_at,
        "updated_at": post.updated_at or post.created_at,
        "version": 1,
    }


def answer_from(doc: Mapping[str, Any]) -> Answer:
    return Answer(
        answer_id=str(doc["_id"]),
        question_id=str(doc["question_id"]),
        space_id=str(doc["space_id"]),
        author_id=str(doc["author_id"]),
        body=str(doc.get("body", "")),
        created_at=_time(doc["created_at"]),
        mentions=tuple(doc.get("mentions") or ()),
        state=ItemState(doc.get("state", ItemState.PUBLISHED.value)),
        score=int(doc.get("score", 0)),
        revision=int(doc.get("revision", 1)),
        edited_by=str(doc.get("edited_by", "")),
        updated_at=aware(doc.get("updated_at")),
        comment_count=int(doc.get("comment_count", 0)),
        deleted_by=str(doc.get("deleted_by", "")),
        deleted_at=aware(doc.get("deleted_at")),
    )


def answer_document(answer: Answer) -> Document:
    return {
        "_id": answer.answer_id,
        "question_id": answer.question_id,
        "space_id": answer.space_id,
        "author_id": answer.author_id,
        "body": answer.body,
        "mentions": list(answer.mentions),
        "state": answer.state.value,
        "score": answer.score,
        "up": [],
        "down": [],
        "revision": answer.revision,
        "edited_by": answer.edited_by,
        "comment_count": answer.comment_count,
        "created_at": answer.created_at,
        "updated_at": answer.updated_at or answer.created_at,
        "version": 1,
    }


def comment_from(doc: Mapping[str, Any]) -> Comment:
    return Comment(
        comment_id=str(doc["_id"]),
        post_id=str(doc["post_id"]),
        space_id=str(doc["space_id"]),
        author_id=str(doc["author_id"]),
        body=str(doc.get("body", "")),
        created_at=_time(doc["created_at"]),
        thread_id=str(doc.get("thread_id") or doc["_id"]),
        answer_id=str(doc.get("answer_id", "")),
        parent_comment_id=str(doc.get("parent_comment_id", "")),
        mentions=tuple(doc.get("mentions") or ()),
        state=ItemState(doc.get("state", ItemState.PUBLISHED.value)),
        revision=int(doc.get("revision", 1)),
        edited_by=str(doc.get("edited_by", "")),
        updated_at=aware(doc.get("updated_at")),
        reaction_counts=_reactions(doc),
        deleted_by=str(doc.get("deleted_by", "")),
        deleted_at=aware(doc.get("deleted_at")),
    )


def comment_document(comment: Comment) -> Document:
    return {
        "_id": comment.comment_id,
        "post_id": comment.post_id,
        "answer_id": comment.answer_id,
        "parent_comment_id": comment.parent_comment_id,
        "thread_id": comment.thread_id,
        "space_id": comment.space_id,
        "author_id": comment.author_id,
        "body": comment.body,
        "mentions": list(comment.mentions),
        "state": comment.state.value,
        "revision": comment.revision,
        "edited_by": comment.edited_by,
        "reactors": {},
        "reaction_counts": {k.value: n for k, n in comment.reaction_counts.items()},
        "created_at": comment.created_at,
        "updated_at": comment.updated_at or comment.created_at,
        "version": 1,
    }


def revision_id(item_id: str, revision: int) -> str:
    """A revision's ``_id``: its natural key (item, number), fixed width so ids sort by number."""
    return f"{item_id}:{revision:010d}"


def revision_document(rev: Revision) -> Document:
    return {
        "_id": revision_id(rev.item_id, rev.revision),
        "item_id": rev.item_id,
        "revision": rev.revision,
        "title": rev.title,
        "body": rev.body,
        "tags": list(rev.tags),
        "author_id": rev.author_id,
        "created_at": rev.created_at,
        "summary": rev.summary,
        "restored_from": rev.restored_from,
    }


def revision_from(doc: Mapping[str, Any]) -> Revision:
    return Revision(
        item_id=str(doc["item_id"]),
        revision=int(doc["revision"]),
        title=str(doc.get("title", "")),
        body=str(doc.get("body", "")),
        tags=tuple(doc.get("tags") or ()),
        author_id=str(doc["author_id"]),
        created_at=_time(doc["created_at"]),
        summary=str(doc.get("summary", "")),
        restored_from=int(doc.get("restored_from", 0)),
    )
