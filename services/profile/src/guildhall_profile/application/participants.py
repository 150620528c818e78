"""Who takes part in which space: the read model partner visibility needs (ADR 0005).

Hosts (owners and moderators per community) come from the community
service's events, authors per space from the post service's. Both are
idempotent upserts keyed by the pair, so redelivered events change nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from guildhall_profile.adapters.repository import ProfileRepository


class Participants:
    """Records hosts and authors (the consumers call these)."""

    def __init__(self, repo: ProfileRepository) -> None:
        self._repo = repo

    async def record_author(self, space_id: str, person_id: str, at: datetime) -> None:
        """``person_id`` authored content in ``space_id`` (ignored without both ids)."""
        if space_id and person_id:
            await self._repo.record_author(space_id, person_id, at)

    async def set_host(
        self, community_id: str, person_id: str, role: str | None, membership_version: int
    ) -> None:
        """``person_id``'s role in ``community_id`` as of ``membership_version``: owner or
        moderator, or None when no longer hosting; older versions than stored are ignored."""
        if community_id and person_id:
            await self._repo.set_host(community_id, person_id, role, membership_version)
