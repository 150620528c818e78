"""Protobuf <-> domain: request values in, replies and event payloads out.

Storage and the domain use string enums; the contract uses protobuf enums. Every
Post, Answer, Comment and Revision leaves through here, with its links shaped by
the :class:`~guildhall_post.domain.links.Shaping` its use case computed for the
reader (:data:`~guildhall_post.domain.links.RAW` for event payloads).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Final

from google.protobuf.timestamp_pb2 import Timestamp

from guildhall.post.v1 import post_pb2 as pb
from guildhall_kit.errors import InvalidArgument
from guildhall_post.application.common import AnswerView, CommentView
from guildhall_post.domain.answers import Vote
from guildhall_post.domain.comments import Comment
from guildhall_post.domain.content import ItemState, ReactionCounts, ReactionKind
from guildhall_post.domain.ideas import IdeaStatus
from guildhall_post.domain.links import Shaping, linked_ids
from guildhall_post.domain.posts import Post, PostType
from guildhall_post.domain.revisions import DiffOp, Revision

POST_TYPE: Final = {
    PostType.DISCUSSION: pb.POST_TYPE_DISCUSSION,
    PostType.ANNOUNCEMENT: pb.POST_TYPE_ANNOUNCEMENT,
    PostType.QUESTION: pb.POST_TYPE_QUESTION,
    PostType.IDEA: pb.POST_TYPE_IDEA,
    PostType.WIKI_PAGE: pb.POST_TYPE_WIKI_PAGE,
}
POST_TYPE_IN: Final = {v: k for k, v in POST_TYPE.items()}
IDEA_STATUS: Final = {
    IdeaStatus.NEW: pb.IDEA_STATUS_NEW,
    IdeaStatus.UNDER_REVIEW: pb.IDEA_STATUS_UNDER_REVIEW,
    IdeaStatus.ACCEPTED: pb.IDEA_STATUS_ACCEPTED,
    IdeaStatus.DECLINED: pb.IDEA_STATUS_DECLINED,
    IdeaStatus.IMPLEMENTED: pb.IDEA_STATUS_IMPLEMENTED,
}
IDEA_STATUS_IN: Final = {v: k for k, v in IDEA_STATUS.items()}
REACTION: Final = {
    ReactionKind.LIKE: pb.REACTION_KIND_LIKE,
    ReactionKind.CELEBRATE: pb.REACTION_KIND_CELEBRATE,
    ReactionKind.THANKS: pb.REACTION_KIND_THANKS,
    ReactionKind.INSIGHTFUL: pb.REACTION_KIND_INSIGHTFUL,
    ReactionKind.CURIOUS: pb.REACTION_KIND_CURIOUS,
}
REACTION_IN: Final = {v: k for k, v in REACTION.items()}
STATE: Final = {
    ItemState.PUBLISHED: pb.POST_STATE_PUBLISHED,
    ItemState.DELETED: pb.POST_STATE_DELETED,
}
DIFF_OP: Final = {
    DiffOp.EQUAL: pb.DIFF_OP_EQUAL,
    DiffOp.INSERT: pb.DIFF_OP_INSERT,
    DiffOp.DELETE: pb.DIFF_OP_DELETE,
}
VOTE_IN: Final = {pb.ANSWER_VOTE_UP: Vote.UP, pb.ANSWER_VOTE_DOWN: Vote.DOWN}
VOTE_OUT: Final = {
    Vote.UP: pb.ANSWER_VOTE_UP,
    Vote.DOWN: pb.ANSWER_VOTE_DOWN,
    None: pb.ANSWER_VOTE_NONE,
}


# ---------------------------------------------------------------------- in


def post_type_in(value: int, field_name: str = "type") -> PostType:
    """The post type of a request.

    Raises:
        InvalidArgument: naming ``field_name``, for a value the contract does not define.
    """
    try:
        return POST_TYPE_IN[value]  # type: ignore[index]
    except KeyError:
        raise InvalidArgument(field_name, "unknown type") from None


def post_type_filter(value: int) -> PostType | None:
    """A listing's optional type filter (unspecified: every type)."""
    return post_type_in(value) if value else None


def idea_status_in(value: int) -> IdeaStatus:
    try:
        return IDEA_STATUS_IN[value]  # type: ignore[index]
    except KeyError:
        raise InvalidArgument("status", "unknown status") from None


def reaction_in(value: int) -> ReactionKind:
    try:
        return REACTION_IN[value]  # type: ignore[index]
    except KeyError:
        raise InvalidArgument("kind", "unknown reaction") from None


def time_in(message: pb.SearchRequest, field_name: str) -> datetime | None:
    """An optional timestamp of a request, as an aware UTC time."""
    if not message.HasField(field_name):  # type: ignore[arg-type]
        return None
    value: Timestamp = getattr(message, field_name)
    out: datetime = value.ToDatetime(tzinfo=UTC)
    return out


# ---------------------------------------------------------------------- out


def ts(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    out = Timestamp()
    out.FromDatetime(value)
    return out


def link(shaping: Shaping, post_id: str) -> pb.PostLink:
    """A link as the reader may see it: ``available=false`` and nothing else when not."""
    if shaping.raw:
        return pb.PostLink(post_id=post_id, available=True)
    target = shaping.available.get(post_id)
    if target is None:
        return pb.PostLink(available=False)
    return pb.PostLink(
        post_id=target.post_id,
        available=True,
        title=target.title,
        type=POST_TYPE[target.type],
        space_id=target.space_id,
    )


def links(shaping: Shaping, text: str) -> list[pb.PostLink]:
    return [link(shaping, i) for i in linked_ids(text)]


def reactions(counts: ReactionCounts) -> list[pb.ReactionCount]:
    return [
        pb.ReactionCount(kind=REACTION[kind], count=counts[kind])
        for kind in ReactionKind
        if counts.get(kind, 0) > 0
    ]


def post(p: Post, shaping: Shaping) -> pb.Post:
    """The contract's Post, shaped for one reader."""
    out = pb.Post(
        post_id=p.post_id,
        space_id=p.space_id,
        type=POST_TYPE[p.type],
        title=p.title,
        body=shaping.text(p.body),
        tags=list(p.tags),
        mentioned_person_ids=list(p.mentions),
        author_id=p.author_id,
        state=STATE[p.state],
        pinned=p.pinned,
        idea_status=IDEA_STATUS[p.idea_status] if p.idea_status else pb.IDEA_STATUS_UNSPECIFIED,
        accepted_answer_id=p.accepted_answer_id,
        revision=p.revision,
        comment_count=p.comment_count,
        created_at=ts(p.created_at),
        updated_at=ts(p.updated_at or p.created_at),
        vote_count=p.vote_count,
        answer_count=p.answer_count,
        reactions=reactions(p.reaction_counts),
        links=links(shaping, p.body),
        edited_by=p.edited_by,
        revision_summary=p.revision_summary,
        deleted_by=p.deleted_by,
        deleted_at=ts(p.deleted_at),
    )
    if p.quoted_post_id:
        out.quoted_post.CopyFrom(link(shaping, p.quoted_post_id))
    return out


def posts(items: Sequence[Post], shaping: Shaping) -> list[pb.Post]:
    return [post(p, shaping) for p in items]


def answer(view: AnswerView, shaping: Shaping) -> pb.Answer:
    a = view.answer
    return pb.Answer(
        answer_id=a.answer_id,
        question_id=a.question_id,
        space_id=a.space_id,
        author_id=a.author_id,
        body=shaping.text(a.body),
        mentioned_person_ids=list(a.mentions),
        state=STATE[a.state],
        score=a.score,
        accepted=view.accepted,
        revision=a.revision,
        comment_count=a.comment_count,
        created_at=ts(a.created_at),
        updated_at=ts(a.updated_at or a.created_at),
        links=links(shaping, a.body),
        my_vote=VOTE_OUT[view.my_vote],
    )


def comment(view: CommentView, shaping: Shaping) -> pb.Comment:
    c: Comment = view.comment
    body = c.body if view.show_body else ""
    return pb.Comment(
        comment_id=c.comment_id,
        post_id=c.post_id,
        answer_id=c.answer_id,
        parent_comment_id=c.parent_comment_id,
        space_id=c.space_id,
        author_id=c.author_id,
        body=shaping.text(body),
        mentioned_person_ids=list(c.mentions) if view.show_body else [],
        state=STATE[c.state],
        revision=c.revision,
        reactions=reactions(c.reaction_counts),
        created_at=ts(c.created_at),
        updated_at=ts(c.updated_at or c.created_at),
        links=links(shaping, body),
    )


def revision(rev: Revision, shaping: Shaping, *, with_body: bool) -> pb.Revision:
    return pb.Revision(
        item_id=rev.item_id,
        revision=rev.revision,
        title=rev.title,
        body=shaping.text(rev.body) if with_body else "",
        tags=list(rev.tags),
        author_id=rev.author_id,
        summary=rev.summary,
        restored_from_revision=rev.restored_from,
        created_at=ts(rev.created_at),
    )
