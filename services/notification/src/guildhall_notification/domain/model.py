"""The notification service's vocabulary: levels, kinds, reasons and the facts it keeps.

Facts about people, spaces and items come from other services' events (read
models); they are plain values here so that the rules can be tested without I/O.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class Level(enum.StrEnum):
    """How much a person hears about a space or an item (strongest first)."""

    WATCHING = "watching"
    TRACKING = "tracking"
    NORMAL = "normal"
    MUTED = "muted"


class Source(enum.StrEnum):
    """Where an effective level comes from."""

    EXPLICIT = "explicit"
    AUTHOR = "author"
    PARTICIPANT = "participant"
    SPACE = "space"
    COMMUNITY_DEFAULT = "community_default"
    PLATFORM_DEFAULT = "platform_default"


class Kind(enum.StrEnum):
    """What a notification is about (the contract's NotificationKind)."""

    MENTION = "mention"
    COMMENT = "comment"
    ANSWER = "answer"
    ANSWER_ACCEPTED = "answer_accepted"
    QUESTION_FOR_EXPERT = "question_for_expert"
    WATCHED_SPACE = "watched_space"
    ANNOUNCEMENT = "announcement"
    MEMBERSHIP = "membership"
    PINHOLE_ACCESS = "pinhole_access"
    WATCHED_ITEM = "watched_item"
    QUESTION_ESCALATED = "question_escalated"
    WEBHOOK_DISABLED = "webhook_disabled"
    IDEA_STATUS = "idea_status"


class Reason(enum.StrEnum):
    """Why a person received a notification (the contract's NotificationReason)."""

    WATCHING_SPACE = "watching_space"
    WATCHING_ITEM = "watching_item"
    TRACKING = "tracking"
    MENTIONED = "mentioned"
    OWN_CONTENT = "own_content"
    EXPERTISE = "expertise"
    COMMUNITY_STAFF = "community_staff"
    OWN_ACCESS = "own_access"
    MEMBER = "member"
    ADMINISTRATION = "administration"


class PersonKind(enum.StrEnum):
    """Employee of the home enterprise or user of a partner org."""

    EMPLOYEE = "employee"
    PARTNER = "partner"


@dataclass(frozen=True, slots=True)
class Person:
    """What the service knows of a person (from profile events)."""

    person_id: str
    org_id: str
    kind: PersonKind
    display_name: str = ""
    email: str = ""
    active_at: datetime | None = None
    """Last time the person was seen active (an RPC of theirs, or content they wrote)."""


class Visibility(enum.StrEnum):
    OPEN = "open"
    PRIVATE = "private"
    SECRET = "secret"  # noqa: S105 - a visibility, not a password


class PinholeState(enum.StrEnum):
    PROPOSED = "proposed"
    OPEN = "open"
    CLOSED = "closed"


class Role(enum.StrEnum):
    MEMBER = "member"
    MODERATOR = "moderator"
    OWNER = "owner"

    @property
    def is_staff(self) -> bool:
        return self is not Role.MEMBER


@dataclass(frozen=True, slots=True)
class Space:
    """A space as the service knows it (from community events).

    A community's main space has ``space_id == community_id``.
    """

    space_id: str
    community_id: str
    title: str = ""
    is_pinhole: bool = False
    visibility: Visibility = Visibility.SECRET
    archived: bool = False
    pinhole_state: PinholeState | None = None
    ever_opened: bool = False
    grants: dict[str, str] = field(default_factory=dict)
    """Partner org id -> grant level (viewer or contributor), for a pinhole."""


class ItemType(enum.StrEnum):
    DISCUSSION = "discussion"
    ANNOUNCEMENT = "announcement"
    QUESTION = "question"
    IDEA = "idea"
    WIKI_PAGE = "wiki_page"


@dataclass(frozen=True, slots=True)
class Item:
    """A top-level item as the service knows it (from post events)."""

    post_id: str
    space_id: str
    type: ItemType
    author_id: str
    title: str = ""
    tags: tuple[str, ...] = ()
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class Template:
    """The notification every recipient of one routing gets (recipient-independent)."""

    kind: Kind
    reason: Reason
    title: str
    space_id: str = ""
    community_id: str = ""
    post_id: str = ""
    comment_id: str = ""
    answer_id: str = ""
    actor_id: str = ""
    actor_display_name: str = ""
    excerpt: str = ""
    webhook_id: str = ""


@dataclass(frozen=True, slots=True)
class Notification:
    """One notification in one person's inbox."""

    notification_id: str
    person_id: str
    template: Template
    source_event_id: str
    subject: str
    created_at: datetime
    read_at: datetime | None = None
    traceparent: str = ""
    """W3C trace context of the event handling that wrote it (empty when none was
    traced): its live delivery continues that trace (docs/metrics.md)."""
