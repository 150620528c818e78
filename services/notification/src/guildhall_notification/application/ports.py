"""What the use cases need from the outside world, as protocols.

The adapters (``adapters/repository``, the community client, the bus) implement
them; unit tests can implement them in memory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from guildhall_kit.auth import Principal
from guildhall_kit.clients import Action, SpaceAccess
from guildhall_notification.domain.model import (
    Item,
    Level,
    Notification,
    Person,
    Role,
    Source,
    Space,
    Template,
)
from guildhall_notification.domain.routing import Expertise

TargetKind = Literal["space", "item"]


@dataclass(frozen=True, slots=True)
class Routed:
    """Recipients of one notification, all in one shard, decided and access-checked."""

    source_event_id: str
    person_ids: tuple[str, ...]
    template: Template
    subject: str
    routed_at: datetime


@dataclass(frozen=True, slots=True)
class StoredSubscription:
    """A subscription a person holds (set by them, or as an author or participant)."""

    person_id: str
    target_kind: TargetKind
    target_id: str
    space_id: str
    level: Level
    source: Source
    updated_at: datetime
    set_id: str


@dataclass(frozen=True, slots=True)
class StoredDefault:
    """A community's default level, as its owners set it."""

    community_id: str
    level: Level
    updated_by: str
    updated_at: datetime


class RoutedSink(Protocol):
    """Hands decided recipients to the inbox writers (the notification topic)."""

    async def send(self, routed: Sequence[Routed]) -> None: ...


class CommunityAccess(Protocol):
    """The community service's exact decision (the kit's CommunityAccessClient)."""

    async def check(self, principal: Principal, space_id: str, action: Action) -> bool: ...

    async def list_spaces(
        self, principal: Principal, action: Action = ...
    ) -> list[SpaceAccess]: ...


class ReadModelsPort(Protocol):
    async def people(self, person_ids: Iterable[str]) -> dict[str, Person]: ...

    async def person(self, person_id: str) -> Person | None: ...

    async def people_of_org(self, org_id: str) -> list[str]: ...

    async def space(self, space_id: str) -> Space | None: ...

    async def roles(self, community_id: str, person_ids: Iterable[str]) -> dict[str, Role]: ...

    def members(
        self, community_id: str, roles: Sequence[Role] = ...
    ) -> AsyncIterator[list[str]]: ...

    async def item(self, post_id: str) -> Item | None: ...

    async def comment_author(self, comment_id: str) -> str | None: ...

    async def top_experts(
        self, tags: Sequence[str], want: int
    ) -> dict[str, dict[str, Expertise]]: ...

    async def touch_active(self, person_id: str, at: datetime) -> None: ...

    async def fanout_progress(self, key: str) -> int: ...

    async def set_fanout_progress(self, key: str, batches: int) -> None: ...


class SubscriptionsPort(Protocol):
    async def levels(
        self, person_ids: Iterable[str], kind: TargetKind, target_id: str
    ) -> dict[str, tuple[Level, Source]]: ...

    def holders(
        self, target_id: str, levels: Sequence[Level]
    ) -> AsyncIterator[list[tuple[str, Level]]]: ...

    async def default_level(self, community_id: str) -> Level | None: ...

    async def put(
        self,
        person_id: str,
        kind: TargetKind,
        target_id: str,
        *,
        space_id: str,
        level: Level,
        source: Source,
        at: datetime,
        set_id: str,
        only_if_absent: bool = False,
    ) -> bool: ...


class NotificationsPort(Protocol):
    async def already_notified(
        self, source_event_id: str, person_ids: Sequence[str]
    ) -> dict[str, str]: ...

    async def insert(self, notifications: Sequence[Notification]) -> list[Notification]: ...

    async def shard_floor(self, shard: int) -> str: ...

    async def raise_shard_floor(self, shard: int, last_id: str) -> None: ...

    async def page(
        self, person_id: str, *, before: str | None, unread_only: bool, limit: int
    ) -> list[Notification]: ...

    async def after(self, person_id: str, after: str, limit: int) -> list[Notification]: ...

    async def newest_id(self, person_id: str) -> str: ...

    async def get(self, person_id: str, notification_id: str) -> Notification | None: ...

    async def unread_count(self, person_id: str) -> int: ...

    async def unread_since(
        self, person_id: str, since_id: str, limit: int
    ) -> list[Notification]: ...

    async def mark_read(self, person_id: str, ids: Sequence[str], at: datetime) -> int: ...

    async def mark_all_read(self, person_id: str, up_to: str | None, at: datetime) -> int: ...


Clock = Callable[[], datetime]
