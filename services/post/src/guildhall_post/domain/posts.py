"""Posts: the top-level items of a space (discussions, announcements, questions, ideas,
wiki pages). Pure."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import datetime

from guildhall_kit.errors import InvalidArgument

from .access import Action, View
from .content import ItemState, ReactionCounts, refuse
from .ideas import IdeaStatus
from .revisions import Revision


class PostType(enum.StrEnum):
    DISCUSSION = "discussion"
    ANNOUNCEMENT = "announcement"
    QUESTION = "question"
    IDEA = "idea"
    WIKI_PAGE = "wiki_page"


@dataclass(frozen=True, slots=True)
class Post:
    """A post as its readers see it (per-person voters and reactors are not part of it)."""

    post_id: str
    space_id: str
    type: PostType
    title: str
    body: str
    author_id: str
    created_at: datetime
    tags: tuple[str, ...] = ()
    mentions: tuple[str, ...] = ()
    quoted_post_id: str = ""
    state: ItemState = ItemState.PUBLISHED
    pinned: bool = False
    idea_status: IdeaStatus | None = None
    accepted_answer_id: str = ""
    revision: int = 1
    revision_summary: str = ""
    restored_from: int = 0
    """The revision a wiki page's current revision restored (0: none)."""
    edited_by: str = ""
    updated_at: datetime | None = None
    comment_count: int = 0
    answer_count: int = 0
    vote_count: int = 0
    reaction_counts: ReactionCounts = field(default_factory=dict)
    deleted_by: str = ""
    deleted_at: datetime | None = None

    @property
    def is_wiki(self) -> bool:
        return self.type is PostType.WIKI_PAGE

    @property
    def published(self) -> bool:
        return self.state is ItemState.PUBLISHED

    def current_revision(self) -> Revision:
        """The revision this post holds now."""
        return Revision(
            item_id=self.post_id,
            revision=self.revision,
            title=self.title,
            body=self.body,
            tags=self.tags,
            author_id=self.edited_by or self.author_id,
            created_at=self.updated_at or self.created_at,
            summary=self.revision_summary,
            restored_from=self.restored_from,
        )

    def same_content(
        self, title: str, body: str, tags: tuple[str, ...], mentions: tuple[str, ...]
    ) -> bool:
        """Whether an edit to these values would change nothing."""
        return (self.title, self.body, self.tags, self.mentions) == (title, body, tags, mentions)

    def revised(
        self,
        *,
        title: str,
        body: str,
        tags: tuple[str, ...],
        mentions: tuple[str, ...],
        editor_id: str,
        at: datetime,
        summary: str,
        restored_from: int = 0,
    ) -> Post:
        """This post at its next revision, with the new content."""
        return replace(
            self,
            title=title,
            body=body,
            tags=tags,
            mentions=mentions,
            revision=self.revision + 1,
            revision_summary=summary,
            restored_from=restored_from,
            edited_by=editor_id,
            updated_at=at,
        )


def new_post(
    *,
    post_id: str,
    space_id: str,
    post_type: PostType,
    title: str,
    body: str,
    tags: tuple[str, ...],
    mentions: tuple[str, ...],
    quoted_post_id: str,
    author_id: str,
    pinned: bool,
    summary: str,
    at: datetime,
) -> Post:
    """A post as CreatePost makes it: revision 1, published, an idea starts as NEW."""
    return Post(
        post_id=post_id,
        space_id=space_id,
        type=post_type,
        title=title,
        body=body,
        author_id=author_id,
        created_at=at,
        tags=tags,
        mentions=mentions,
        quoted_post_id=quoted_post_id,
        pinned=pinned,
        idea_status=IdeaStatus.NEW if post_type is PostType.IDEA else None,
        revision_summary=summary,
        edited_by=author_id,
        updated_at=at,
    )


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
            refuse(view, action)
