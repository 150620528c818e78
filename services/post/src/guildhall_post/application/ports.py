"""What the application needs from the outside world, as typed protocols.

The adapters implement them: :class:`~guildhall_post.adapters.repository.ContentRepository`
(MongoDB), :class:`~guildhall_post.adapters.repository.ReadModelRepository` (the read
model of communities, people and expertise), :class:`~guildhall_post.adapters.events.Events`
(the post topic's payloads) and the kit's community access client.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from guildhall_kit.auth import Principal
from guildhall_kit.bus import Event
from guildhall_kit.clients import Action, SpaceAccess
from guildhall_post.domain.access import Role, SpaceFacts
from guildhall_post.domain.answers import Answer, Vote
from guildhall_post.domain.comments import Comment
from guildhall_post.domain.content import ReactionCounts, ReactionKind
from guildhall_post.domain.ideas import IdeaStatus
from guildhall_post.domain.posts import Post, PostType
from guildhall_post.domain.revisions import Revision

Item = Post | Answer | Comment


@dataclass(frozen=True, slots=True)
class Person:
    """What the read model knows of a person."""

    person_id: str
    partner: bool
    org_id: str


@dataclass(frozen=True, slots=True)
class OwnMarks:
    """A person's own marks on one post: their idea vote and their reactions."""

    voted: bool
    reactions: frozenset[ReactionKind]


class ContentRepository(Protocol):
    """Posts, answers, comments and their revisions (no access decisions)."""

    async def post(self, post_id: str) -> Post | None: ...
    async def posts(self, post_ids: Iterable[str]) -> dict[str, Post]: ...
    async def answer(self, answer_id: str) -> Answer | None: ...
    async def comment(self, comment_id: str) -> Comment | None: ...

    async def feed(
        self,
        space_ids: Sequence[str],
        *,
        before: str | None,
        limit: int,
        post_type: PostType | None = None,
        tag: str = "",
        pinned_only: bool = False,
    ) -> list[Post]: ...

    async def open_questions(
        self,
        tags: Sequence[str],
        *,
        not_by: str,
        spaces: Sequence[str] | None,
        before: str | None,
        limit: int,
    ) -> list[Post]: ...

    async def answers(
        self, question_id: str, *, after: str | None, limit: int, visible_to: str | None
    ) -> list[Answer]: ...

    async def comments(
        self, post_id: str, answer_id: str, *, after: tuple[str, str] | None, limit: int
    ) -> list[Comment]: ...

    async def revisions(
        self, current: Revision, *, before: int | None, limit: int, bodies: bool
    ) -> list[Revision]: ...

    async def revision(self, current: Revision, number: int) -> Revision | None: ...
    async def own_marks(self, post_id: str, person_id: str) -> OwnMarks: ...
    async def answer_votes(self, answer_ids: Sequence[str], person_id: str) -> dict[str, Vote]: ...

    async def insert_post(self, post: Post, events: Sequence[Event]) -> None: ...
    async def insert_answer(self, answer: Answer, events: Sequence[Event]) -> None: ...
    async def insert_comment(self, comment: Comment, events: Sequence[Event]) -> None: ...
    async def revise(self, before: Item, after: Item, events: Sequence[Event]) -> None: ...

    async def delete(
        self, item: Item, *, actor_id: str, at: datetime, events: Sequence[Event]
    ) -> Item | None: ...

    async def pin(self, post_id: str, pinned: bool) -> Post | None: ...

    async def change_idea_status(
        self, idea_id: str, current: IdeaStatus, target: IdeaStatus, at: datetime, event: Event
    ) -> Post | None: ...

    async def vote_idea(
        self, idea_id: str, person_id: str, *, withdraw: bool, count: int, event: Event
    ) -> Post | None: ...

    async def accept_answer(
        self, question_id: str, *, previous: str, answer: Answer, at: datetime, event: Event
    ) -> Post | None: ...

    async def clear_accepted(self, question_id: str, answer_id: str) -> None: ...

    async def vote_answer(
        self, answer_id: str, person_id: str, *, current: Vote | None, wanted: Vote | None
    ) -> bool: ...

    async def react(
        self,
        item: Post | Comment,
        person_id: str,
        kind: ReactionKind,
        *,
        add: bool,
        events: Sequence[Event],
    ) -> ReactionCounts | None: ...

    async def count_children(
        self, post_id: str, *, answer_id: str = "", answers: int = 0, comments: int = 0
    ) -> None: ...


class ReadModel(Protocol):
    """The service's read model of communities, pinholes, memberships, people, expertise."""

    async def spaces(self, space_ids: Iterable[str]) -> dict[str, SpaceFacts]: ...
    async def space(self, space_id: str) -> SpaceFacts | None: ...

    async def roles(
        self, person_id: str, community_ids: Iterable[str] | None = None
    ) -> dict[str, Role]: ...

    async def roles_in(self, community_id: str, person_ids: Iterable[str]) -> dict[str, Role]: ...
    async def member_spaces(self, roles: Mapping[str, Role], limit: int) -> list[SpaceFacts]: ...
    async def open_community_ids(self) -> list[str]: ...
    async def pinholes_of(self, community_ids: Iterable[str]) -> list[SpaceFacts]: ...
    async def people(self, person_ids: Iterable[str]) -> dict[str, Person]: ...
    async def expertise(self, person_id: str) -> list[str]: ...


class SpaceSets(Protocol):
    """A cache of employees' home-feed spaces that is exact against the read model
    (the adapter's SpaceSetCache, ADR 0021)."""

    async def lookup(
        self, person_id: str, variant: str, now_ms: int
    ) -> tuple[list[str] | None, tuple[int, int] | None]: ...

    async def keep(
        self,
        person_id: str,
        variant: str,
        counters: tuple[int, int],
        spaces: Sequence[str],
        until_ms: int,
    ) -> None: ...

    async def views(
        self, person_id: str, variant: str, space_ids: Sequence[str], now_ms: int
    ) -> tuple[dict[str, dict[str, Any]], tuple[int, int] | None]: ...

    async def keep_views(
        self,
        person_id: str,
        variant: str,
        counters: tuple[int, int],
        views: Mapping[str, tuple[dict[str, Any], int]],
    ) -> None: ...


class CommunityAccess(Protocol):
    """The community service's exact decision (the kit's CommunityAccessClient)."""

    async def check(
        self,
        principal: Principal,
        space_id: str,
        action: Action,
        *,
        authorization: str | None = None,
        time_left: float | None = None,
    ) -> bool: ...

    async def list_spaces(
        self,
        principal: Principal,
        action: Action = Action.READ,
        *,
        authorization: str | None = None,
        time_left: float | None = None,
    ) -> list[SpaceAccess]: ...


class Events(Protocol):
    """The post topic's events, built from domain objects (text as written, unshaped)."""

    def post_created(self, post: Post) -> Event: ...
    def post_edited(self, post: Post) -> Event: ...
    def post_deleted(self, post: Post, actor_id: str, at: datetime) -> Event: ...
    def wiki_revised(self, page: Post) -> Event: ...

    def mentioned(
        self,
        people: Sequence[str],
        *,
        author_id: str,
        post_id: str,
        space_id: str,
        at: datetime,
        comment_id: str = "",
    ) -> list[Event]: ...

    def answer_posted(self, answer: Answer) -> Event: ...
    def answer_edited(self, answer: Answer) -> Event: ...

    def answer_deleted(
        self, answer: Answer, actor_id: str, was_accepted: bool, at: datetime
    ) -> Event: ...

    def answer_accepted(
        self, question: Post, answer: Answer, accepted_by: str, previous: str, at: datetime
    ) -> Event: ...

    def idea_voted(
        self, idea: Post, voter_id: str, withdrawn: bool, count: int, at: datetime
    ) -> Event: ...

    def idea_status_changed(
        self,
        idea: Post,
        *,
        previous: IdeaStatus,
        status: IdeaStatus,
        actor_id: str,
        note: str,
        at: datetime,
    ) -> Event: ...

    def comment_added(self, comment: Comment) -> Event: ...
    def comment_edited(self, comment: Comment) -> Event: ...
    def comment_deleted(self, comment: Comment, actor_id: str, at: datetime) -> Event: ...

    def reaction_added(
        self,
        *,
        post_id: str,
        comment_id: str,
        space_id: str,
        person_id: str,
        kind: ReactionKind,
        at: datetime,
    ) -> Event: ...
