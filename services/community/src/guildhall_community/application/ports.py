"""What the use cases need from storage: the :class:`Store` port and the values it returns.

The MongoDB repository (``adapters/repository``) implements it. Reads are of
current state (the primary, nothing cached); writes apply a domain
:class:`~guildhall_community.domain.Change` in order, each one atomic
single-document write with compare-and-set on ``version`` and the write's
events in the same document's outbox (docs/adr/0009).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from guildhall_community.domain import (
    Change,
    Community,
    JoinRequestState,
    Membership,
    Pinhole,
    PrincipalKind,
    Role,
    Visibility,
)


class WriteConflict(Exception):  # noqa: N818 - a signal to re-run, not an error for callers
    """A compare-and-set lost: the document changed since it was read. Re-read and re-run."""


@dataclass(frozen=True, slots=True)
class CommunityRecord:
    """A community as stored, with the member count kept beside it (a display figure)."""

    community: Community
    member_count: int


@dataclass(frozen=True, slots=True)
class OrgFacts:
    """What the profile service told us about an organisation."""

    org_id: str
    is_home: bool
    suspended: bool
    version: int


@dataclass(frozen=True, slots=True)
class PersonFacts:
    """What the profile service told us about a person."""

    person_id: str
    kind: PrincipalKind
    org_id: str


class Store(Protocol):
    """Current state of the community service (see the module docstring)."""

    # Point reads by _id: what every decision is made of.
    async def community(self, community_id: str) -> CommunityRecord | None: ...
    async def membership(self, community_id: str, person_id: str) -> Membership | None: ...
    async def pinhole(self, pinhole_id: str) -> Pinhole | None: ...
    async def org(self, org_id: str) -> OrgFacts | None: ...
    async def org_suspended(self, org_id: str) -> bool: ...
    async def person(self, person_id: str) -> PersonFacts | None: ...
    async def communities_by_id(self, community_ids: Sequence[str]) -> list[CommunityRecord]: ...
    async def memberships_of(
        self, person_id: str, community_ids: Sequence[str]
    ) -> dict[str, Membership]: ...

    async def members_of(
        self, community_id: str, people: Sequence[str]
    ) -> dict[str, Membership]: ...

    # Listings.
    async def active_memberships(self, person_id: str) -> list[Membership]:
        """Every active membership of ``person_id`` (what they belong to)."""
        ...

    async def communities_page(
        self,
        *,
        prefix: str,
        visibility: Visibility | None,
        include_archived: bool,
        after: tuple[str, str] | None,
        limit: int,
    ) -> list[CommunityRecord]:
        """Up to ``limit`` communities by (name key, id) after ``after``, matching the filters."""
        ...

    async def members_page(
        self, community_id: str, *, role: Role | None, after: str | None, limit: int
    ) -> list[Membership]:
        """Up to ``limit`` active members by join key (join time, then person) after ``after``,
        with that role as listed on the membership (any role for None)."""
        ...

    async def join_requests_page(
        self,
        community_id: str,
        *,
        state: JoinRequestState | None,
        after: str | None,
        limit: int,
    ) -> list[Membership]:
        """Up to ``limit`` memberships with a request (in ``state``) by request key, after
        ``after``."""
        ...

    async def pinholes_of(self, community_ids: Sequence[str]) -> list[Pinhole]: ...
    async def pinholes_page(
        self, community_id: str, *, before: str | None, limit: int
    ) -> list[Pinhole]:
        """Up to ``limit`` pinholes of a community, newest id first, before ``before``."""
        ...

    async def pinholes_granted_to(self, org_id: str) -> list[Pinhole]: ...
    async def live_pinholes(self, after: str, limit: int) -> list[Pinhole]: ...

    # Writes.
    async def claim_name(self, name: str, community_id: str) -> None: ...
    async def release_name(self, name: str, community_id: str) -> None: ...
    async def apply(
        self, change: Change, *, before: CommunityRecord | None = None
    ) -> list[tuple[str, str]]:
        """Apply ``change``; the (collection, id) of each write that carried events.

        Raises:
            WriteConflict: a compare-and-set lost; nothing after it was written.
        """
        ...
