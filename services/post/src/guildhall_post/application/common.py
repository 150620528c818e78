"""What every use case module shares: its dependencies, the shapes it returns, paging."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Generic, TypeVar

from guildhall_kit import paging
from guildhall_kit.bus import Event
from guildhall_kit.clock import Clock, new_id, now_ms
from guildhall_post.application.access import AccessFunnel
from guildhall_post.application.ports import ContentRepository, Events, ReadModel
from guildhall_post.domain.answers import Answer, Vote
from guildhall_post.domain.comments import Comment
from guildhall_post.domain.content import ReactionKind
from guildhall_post.domain.links import NOTHING, Shaping

T = TypeVar("T")

OPTIMISTIC_ATTEMPTS: Final = 10
"""Retries of a compare-and-set write (votes) before answering ABORTED."""


@dataclass(frozen=True, slots=True)
class Deps:
    """The ports and services every use case module works with."""

    content: ContentRepository
    read_model: ReadModel
    access: AccessFunnel
    events: Events
    clock: Clock = now_ms
    ids: Callable[[datetime], str] = new_id
    home_feed_max_spaces: int = 2000


@dataclass(frozen=True, slots=True)
class Shaped(Generic[T]):
    """One item and what its reader may follow of the links in it."""

    item: T
    shaping: Shaping = NOTHING


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing, shaped for its reader; an empty token ends the listing."""

    items: list[T]
    next_page_token: str = ""
    shaping: Shaping = NOTHING


@dataclass(frozen=True, slots=True)
class AnswerView:
    """An answer as one reader sees it: whether it is the accepted one, their own vote."""

    answer: Answer
    accepted: bool
    my_vote: Vote | None


@dataclass(frozen=True, slots=True)
class CommentView:
    """A comment as one reader sees it: a deleted one is a placeholder without its body,
    except for its author and the space's moderators."""

    comment: Comment
    show_body: bool


@dataclass(frozen=True, slots=True)
class ViewerState:
    """What GetPost tells the caller about their own standing on the post."""

    voted: bool
    reactions: frozenset[ReactionKind] = field(default_factory=frozenset)
    can_edit: bool = False
    can_moderate: bool = False


def keyset(
    items: Sequence[T],
    size: int,
    listing: str,
    key: Callable[[T], Sequence[str]],
    scope: Sequence[str],
) -> tuple[list[T], str]:
    """The first ``size`` of ``size + 1`` items read, and the token after the last one kept
    ("" when nothing follows)."""
    if len(items) <= size:
        return list(items), ""
    kept = list(items[:size])
    return kept, paging.encode_token(listing, list(key(kept[-1])), scope=scope)


async def mention_events(
    deps: Deps,
    people: Sequence[str],
    *,
    author_id: str,
    post_id: str,
    space_id: str,
    at: datetime,
    comment_id: str = "",
) -> list[Event]:
    """``Mentioned`` for each of ``people`` who may read the space (never the author)."""
    fresh = await deps.access.mentionable(space_id, author_id, people)
    return deps.events.mentioned(
        fresh, author_id=author_id, post_id=post_id, space_id=space_id, at=at, comment_id=comment_id
    )
