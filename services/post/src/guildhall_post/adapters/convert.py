"""Stored documents <-> protobuf messages, shaped for one reader.

Storage uses the domain's string enums; the contract uses protobuf enums. Every
Post, Answer, Comment and Revision leaves through here, with its links shaped by a
:class:`Shaping` computed for the reader (see :mod:`guildhall_post.domain.links`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from google.protobuf.timestamp_pb2 import Timestamp

from guildhall.post.v1 import post_pb2 as pb
from guildhall_kit.errors import InvalidArgument
from guildhall_post.adapters.clock import aware
from guildhall_post.domain.content import IdeaStatus, ItemState, PostType, ReactionKind, Vote
from guildhall_post.domain.links import linked_ids, shape_text
from guildhall_post.domain.revisions import DiffOp, RevisionData

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
VOTE_OUT: Final = {
    Vote.UP: pb.ANSWER_VOTE_UP,
    Vote.DOWN: pb.ANSWER_VOTE_DOWN,
    None: pb.ANSWER_VOTE_NONE,
}


def post_type_in(value: int, field_name: str = "type") -> PostType:
    try:
        return POST_TYPE_IN[value]  # type: ignore[index]
    except KeyError:
        raise InvalidArgument(field_name, "unknown type") from None


def ts(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    out = Timestamp()
    out.FromDatetime(aware(value))  # type: ignore[arg-type]
    return out


@dataclass(frozen=True, slots=True)
class LinkTarget:
    """What a reader who may read a linked item learns about it."""

    post_id: str
    title: str
    type: PostType
    space_id: str


@dataclass
class Shaping:
    """Which linked items one reader may follow, for a batch of documents.

    ``raw`` leaves text as written and links by id only: for event payloads, which
    stay inside the platform (whoever shows them to a person shapes them then).
    """

    available: dict[str, LinkTarget] = field(default_factory=dict)
    raw: bool = False

    def text(self, text: str) -> str:
        return text if self.raw else shape_text(text, self.available)

    def link(self, post_id: str) -> pb.PostLink:
        if self.raw:
            return pb.PostLink(post_id=post_id, available=True)
        target = self.available.get(post_id)
        if target is None:
            return pb.PostLink(available=False)
        return pb.PostLink(
            post_id=target.post_id,
            available=True,
            title=target.title,
            type=POST_TYPE[target.type],
            space_id=target.space_id,
        )

    def links(self, text: str) -> list[pb.PostLink]:
        return [self.link(i) for i in linked_ids(text)]


RAW: Final = Shaping(raw=True)


def _reactions(doc: Mapping[str, Any]) -> list[pb.ReactionCount]:
    counts = doc.get("reaction_counts") or {}
    return [
        pb.ReactionCount(kind=REACTION[kind], count=int(counts[kind.value]))
        for kind in ReactionKind
        if int(counts.get(kind.value, 0)) > 0
    ]


def reactions(doc: Mapping[str, Any]) -> list[pb.ReactionCount]:
    return _reactions(doc)


def post(doc: Mapping[str, Any], shaping: Shaping) -> pb.Post:
    """The contract's Post for a stored post document, shaped by ``shaping``."""
    kind = PostType(doc["type"])
    out = pb.Post(
        post_id=str(doc["_id"]),
        space_id=str(doc["space_id"]),
        type=POST_TYPE[kind],
        title=str(doc["title"]),
        body=shaping.text(str(doc["body"])),
        tags=list(doc.get("tags") or ()),
        mentioned_person_ids=list(doc.get("mentions") or ()),
        author_id=str(doc["author_id"]),
        state=STATE[ItemState(doc["state"])],
        pinned=bool(doc.get("pinned", False)),
        idea_status=(
            IDEA_STATUS[IdeaStatus(doc["idea_status"])]
            if doc.get("idea_status")
            else pb.IDEA_STATUS_UNSPECIFIED
        ),
        accepted_answer_id=str(doc.get("accepted_answer_id", "")),
        revision=int(doc["revision"]),
        comment_count=int(doc.get("comment_count", 0)),
        created_at=ts(doc["created_at"]),
        updated_at=ts(doc.get("updated_at") or doc["created_at"]),
        vote_count=int(doc.get("vote_count", 0)),
        answer_count=int(doc.get("answer_count", 0)),
        reactions=_reactions(doc),
        links=shaping.links(str(doc["body"])),
        edited_by=str(doc.get("edited_by", "")),
        revision_summary=str(doc.get("revision_summary", "")),
        deleted_by=str(doc.get("deleted_by", "")),
        deleted_at=ts(doc.get("deleted_at")),
    )
    if doc.get("quoted_post_id"):
        out.quoted_post.CopyFrom(shaping.link(str(doc["quoted_post_id"])))
    return out


def answer(
    doc: Mapping[str, Any], shaping: Shaping, *, accepted: bool, my_vote: Vote | None
) -> pb.Answer:
    return pb.Answer(
        answer_id=str(doc["_id"]),
        question_id=str(doc["question_id"]),
        space_id=str(doc["space_id"]),
        author_id=str(doc["author_id"]),
        body=shaping.text(str(doc["body"])),
        mentioned_person_ids=list(doc.get("mentions") or ()),
        state=STATE[ItemState(doc["state"])],
        score=int(doc.get("score", 0)),
        accepted=accepted,
        revision=int(doc["revision"]),
        comment_count=int(doc.get("comment_count", 0)),
        created_at=ts(doc["created_at"]),
        updated_at=ts(doc.get("updated_at") or doc["created_at"]),
        links=shaping.links(str(doc["body"])),
        my_vote=VOTE_OUT[my_vote],
    )


def comment(doc: Mapping[str, Any], shaping: Shaping, *, show_body: bool) -> pb.Comment:
    body = str(doc["body"]) if show_body else ""
    return pb.Comment(
        comment_id=str(doc["_id"]),
        post_id=str(doc["post_id"]),
        answer_id=str(doc.get("answer_id", "")),
        parent_comment_id=str(doc.get("parent_comment_id", "")),
        space_id=str(doc["space_id"]),
        author_id=str(doc["author_id"]),
        body=shaping.text(body),
        mentioned_person_ids=list(doc.get("mentions") or ()) if show_body else [],
        state=STATE[ItemState(doc["state"])],
        revision=int(doc["revision"]),
        reactions=_reactions(doc),
        created_at=ts(doc["created_at"]),
        updated_at=ts(doc.get("updated_at") or doc["created_at"]),
        links=shaping.links(body),
    )


def revision(rev: RevisionData, shaping: Shaping, *, with_body: bool) -> pb.Revision:
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
