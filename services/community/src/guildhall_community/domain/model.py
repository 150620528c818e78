"""The state the community service owns: communities, memberships, pinholes.

Everything here is an immutable value. Operations (:mod:`.communities`,
:mod:`.pinholes`) take current values and return new ones; nothing is mutated.

Three aggregates, each one document, so a state change and its outbox events
are one atomic single-document write (no multi-document transactions):

- :class:`Community` — name, description, visibility, state, tags, and the
  **staff**: its owners and moderators. Keeping every owner on this one
  document is what makes "a community always has an owner" exact: the adapter
  writes it with compare-and-set on :attr:`Community.version`, so two owners
  leaving at once cannot both succeed. Staff are few (at most
  :data:`MAX_STAFF`).
- :class:`Membership` — one per (community, person): an active membership, a
  pending join request, or a tombstone once it ended; it also keeps the
  person's latest :class:`JoinRequest`. Every member, staff included, has an
  active one (that is what member lists page through). Communities can have
  hundreds of thousands of members, so they are not embedded in the community.
- :class:`Pinhole` — a child space of one community with its grants.

A person's role in a community is :meth:`Community.role_of`: their staff role
if they are staff, else MEMBER if their membership is active, else none. The
staff entry wins so that the short windows between the two writes of a
two-document operation (see :class:`.changes.Change`) stay safe.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

from guildhall_kit.errors import InvalidArgument

MAX_STAFF = 200
"""Owners plus moderators of one community (they live on the community document)."""

NAME_MAX_CHARS = 100
DESCRIPTION_MAX_BYTES = 8192
MAX_TAGS = 10
TITLE_MAX_CHARS = 120
PURPOSE_MAX_BYTES = 4000
MESSAGE_MAX_BYTES = 2000
"""Join-request messages and rejection reasons."""


class Visibility(enum.StrEnum):
    """Who can find a community and read its main space (docs/access-model.md)."""

    OPEN = "open"
    """Every employee reads it and may join it."""
    PRIVATE = "private"
    """Every employee sees its name and description; members read; joining is by request."""
    SECRET = "secret"  # noqa: S105 -- a visibility level, not a password
    """Invisible to non-members; members are added by owners and moderators."""


class CommunityState(enum.StrEnum):
    ACTIVE = "active"
    ARCHIVED = "archived"
    """Read-only and final: nothing new is posted, nobody joins, its pinholes are closed."""


class Role(enum.StrEnum):
    OWNER = "owner"
    MODERATOR = "moderator"
    MEMBER = "member"


STAFF_ROLES = frozenset({Role.OWNER, Role.MODERATOR})


class MembershipStatus(enum.StrEnum):
    REQUESTED = "requested"
    """The person asked to join a private community; staff approve or reject."""
    ACTIVE = "active"
    """A member (staff members have one too; their role is on the community)."""
    ENDED = "ended"
    """Left, removed or rejected: no relation any more. A tombstone, reused if they come back."""


class JoinRequestState(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class PinholeState(enum.StrEnum):
    PROPOSED = "proposed"
    OPEN = "open"
    CLOSED = "closed"


class GrantLevel(enum.StrEnum):
    VIEWER = "viewer"
    """Partner users of the org read the pinhole."""
    CONTRIBUTOR = "contributor"
    """Partner users of the org read, post and comment in the pinhole."""


class CloseReason(enum.StrEnum):
    MANUAL = "manual"
    """Someone closed it (a proposal closed this way was withdrawn)."""
    EXPIRED = "expired"
    """Its expiry passed."""
    COMMUNITY_ARCHIVED = "community_archived"
    """Its community was archived."""


class PinholeOpenPolicy(enum.StrEnum):
    """Who may open a pinhole and grant it to partner orgs (a service setting)."""

    OWNER_OR_ADMIN = "owner_or_admin"
    """A community owner or a home admin."""
    ADMIN_ONLY = "admin_only"
    """Only a home admin."""


@dataclass(frozen=True, slots=True)
class Community:
    """A community and its staff.

    ``staff`` maps person id to OWNER or MODERATOR (never MEMBER) and always
    holds at least one owner. ``version`` starts at 1 and grows by one with
    every change; the adapter writes with compare-and-set on it.
    """

    id: str
    name: str
    description: str
    visibility: Visibility
    state: CommunityState
    tags: tuple[str, ...]
    staff: Mapping[str, Role]
    created_by: str
    created_at: datetime
    updated_at: datetime
    version: int = 1

    def __post_init__(self) -> None:
        # A read-only copy: a value handed out cannot be changed behind the domain's back.
        object.__setattr__(self, "staff", MappingProxyType(dict(self.staff)))

    @property
    def is_archived(self) -> bool:
        return self.state is CommunityState.ARCHIVED

    @property
    def owners(self) -> frozenset[str]:
        return frozenset(p for p, r in self.staff.items() if r is Role.OWNER)

    def role_of(self, person_id: str, membership: Membership | None) -> Role | None:
        """The person's role: their staff role, else MEMBER if ``membership`` is active, else None.

        ``membership`` must be this person's membership in this community (None
        when there is none).
        """
        staff_role = self.staff.get(person_id)
        if staff_role is not None:
            return staff_role
        if membership is not None and membership.status is MembershipStatus.ACTIVE:
            return Role.MEMBER
        return None


def time_key(at: datetime, person_id: str) -> str:
    """A string that sorts as (``at``, ``person_id``) do: 13-digit UTC milliseconds, ``|``,
    the person id (ids never contain ``|``; 13 digits last until the year 2286)."""
    return f"{int(at.timestamp() * 1000):013d}|{person_id}"


def name_key(name: str) -> str:
    """The form in which community names are unique and ordered: case-folded."""
    return name.casefold()


@dataclass(frozen=True, slots=True)
class JoinRequest:
    """A request to join a private community, kept on the membership once decided."""

    message: str
    requested_at: datetime
    state: JoinRequestState = JoinRequestState.PENDING
    decided_by: str | None = None
    decided_at: datetime | None = None
    reason: str = ""
    """The reason given with a rejection."""


@dataclass(frozen=True, slots=True)
class Membership:
    """One person's relation to one community.

    The natural key is (``community_id``, ``person_id``): one document per
    pair, reused when the person comes back (``version`` keeps growing).
    ``joined_at`` is when the current (or last) active membership began;
    ``request`` is the latest join request, pending or decided.

    ``role`` and ``role_changed_at`` are the role *as listed* (member lists,
    "my communities", the role filter) and when it last changed. They mirror
    the community's staff entry; decisions never read them, because
    :meth:`Community.role_of` — the staff entry first — is the authority.
    """

    community_id: str
    person_id: str
    status: MembershipStatus
    changed_at: datetime
    changed_by: str
    """Who caused the current status: the person, or the staff member who acted."""
    joined_at: datetime | None = None
    request: JoinRequest | None = None
    version: int = 1
    role: Role = Role.MEMBER
    role_changed_at: datetime | None = None

    @property
    def is_active(self) -> bool:
        return self.status is MembershipStatus.ACTIVE

    @property
    def pending_request(self) -> JoinRequest | None:
        if self.status is MembershipStatus.REQUESTED and self.request is not None:
            return self.request
        return None

    @property
    def join_key(self) -> str | None:
        """Where the membership sorts in a member list (join time, then person); None if
        it never became active."""
        return None if self.joined_at is None else time_key(self.joined_at, self.person_id)

    @property
    def request_key(self) -> str | None:
        """Where the membership sorts among join requests (request time, then person)."""
        if self.request is None:
            return None
        return time_key(self.request.requested_at, self.person_id)


@dataclass(frozen=True, slots=True)
class Grant:
    """A partner org's access to a pinhole."""

    org_id: str
    level: GrantLevel
    granted_by: str
    granted_at: datetime


@dataclass(frozen=True, slots=True)
class Pinhole:
    """A child space of one community, shared with partner orgs.

    ``grants`` maps partner org id to its grant (one per org). ``version``
    grows with every change — open, grant, re-grant, revoke, close — and is
    the *grant version* a cache must compare (docs/access-model.md,
    "Revocation"). ``opened_at`` is None for a pinhole that never opened.
    """

    id: str
    community_id: str
    title: str
    purpose: str
    expires_at: datetime | None
    state: PinholeState
    grants: Mapping[str, Grant]
    proposed_by: str
    proposed_at: datetime
    opened_by: str | None = None
    opened_at: datetime | None = None
    closed_by: str | None = None
    closed_at: datetime | None = None
    close_reason: CloseReason | None = None
    version: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "grants", MappingProxyType(dict(self.grants)))

    def is_expired(self, now: datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at


@dataclass(frozen=True, slots=True)
class PartnerOrg:
    """What the service knows of an organisation about to be granted (from profile events)."""

    org_id: str
    is_home: bool = False
    """The home enterprise itself, which is never granted a pinhole."""
    suspended: bool = False


# ---------------------------------------------------------------- validation
# The same rules the protos declare (guildhall.rules.v1), so input that reaches
# the domain by another path (seeding, consumers) is held to them too.

_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_TAG = re.compile(r"[a-z0-9+#._-]{1,40}")
_BIDI_OVERRIDES = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))


def _is_control(c: str) -> bool:
    return ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0


def require_aware(now: datetime) -> None:
    """Refuse a naive datetime; every time in the domain is timezone-aware.

    Raises:
        ValueError: no timezone (a programming error, not bad input).
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("times must be timezone-aware")


def check_id(value: str, *, field: str) -> str:
    """Raises InvalidArgument unless ``value`` is an id (1-64 of a-z, 0-9, '_', '-')."""
    if not _ID.fullmatch(value):
        raise InvalidArgument(field, "must be an id: 1-64 characters of a-z, 0-9, '_' or '-'")
    return value


def check_line(value: str, *, field: str, max_chars: int) -> str:
    """One line of human text: not empty, no surrounding space, no control or bidi characters.

    Raises:
        InvalidArgument: naming ``field``.
    """
    if not value or value != value.strip():
        raise InvalidArgument(field, "must be one line of text without leading/trailing spaces")
    if any(_is_control(c) or c in _BIDI_OVERRIDES for c in value):
        raise InvalidArgument(field, "must not contain control or bidirectional characters")
    if len(value) > max_chars:
        raise InvalidArgument(field, f"must be at most {max_chars} characters")
    return value


def check_text(value: str, *, field: str, max_bytes: int, required: bool) -> str:
    """Free text (Markdown): newlines and tabs allowed, no other control characters.

    Raises:
        InvalidArgument: empty when ``required``, longer than ``max_bytes`` in
            UTF-8, or containing control characters.
    """
    if required and not value.strip():
        raise InvalidArgument(field, "must not be empty")
    if any(_is_control(c) and c not in "\n\r\t" for c in value):
        raise InvalidArgument(field, "must not contain control characters")
    if len(value.encode()) > max_bytes:
        raise InvalidArgument(field, f"must be at most {max_bytes} bytes")
    return value


def check_tags(values: tuple[str, ...], *, field: str = "tags") -> tuple[str, ...]:
    """At most MAX_TAGS distinct tags: 1-40 of a-z, 0-9, '+#._-', with a letter or digit.

    Raises:
        InvalidArgument: naming ``field``.
    """
    if len(values) > MAX_TAGS:
        raise InvalidArgument(field, f"at most {MAX_TAGS} tags")
    if len(set(values)) != len(values):
        raise InvalidArgument(field, "tags must be unique")
    for tag in values:
        if not _TAG.fullmatch(tag) or not any(c.isalnum() for c in tag):
            raise InvalidArgument(field, f"not a tag: {tag!r}")
    return values
