"""Use cases of the community aggregate: create, read, the directory, update, archive."""

from __future__ import annotations

from collections.abc import Sequence

from guildhall_community import domain as dom
from guildhall_community.domain import (
    Change,
    CommunitySpace,
    Principal,
    Visibility,
    facts_for,
    name_key,
    require_employee,
)
from guildhall_kit import paging
from guildhall_kit.clock import new_id

from .core import Core, MemberView, Page, keyset_page
from .pinholes import Pinholes
from .ports import CommunityRecord

DIRECTORY = "communities"


class Communities:
    """Create, read, list, update and archive communities (employees only)."""

    def __init__(self, core: Core, pinholes: Pinholes) -> None:
        self._core = core
        self._store = core.store
        self._pinholes = pinholes

    async def create(
        self,
        principal: Principal,
        *,
        name: str,
        description: str,
        visibility: Visibility,
        tags: Sequence[str],
    ) -> CommunityRecord:
        """Create a community with the principal as its first owner.

        Raises:
            PermissionDenied: a partner.
            InvalidArgument: a malformed field.
            AlreadyExists: an active community has this name (case-insensitively).
        """
        require_employee(principal)
        community_id = new_id()
        change = dom.create_community(
            principal,
            community_id=community_id,
            name=name,
            description=description,
            visibility=visibility,
            tags=tags,
            now=self._core.now(),
        )
        await self._store.claim_name(name, community_id)
        try:
            await self._core.commit(change)
        except BaseException:
            await self._store.release_name(name, community_id)
            raise
        return await self._core.community(community_id)

    async def get(self, principal: Principal, community_id: str) -> MemberView:
        """The community, if the principal may see it, with their membership.

        Raises:
            PermissionDenied: a partner.
            NotFound: missing, or hidden from the principal.
        """
        require_employee(principal)
        view = await self._core.with_member(community_id, principal.subject)
        facts = facts_for(principal, view.community, view.membership, now=self._core.now())
        dom.access_community(principal, view.community, facts, None)
        mine = (
            view.membership if view.community.role_of(principal.subject, view.membership) else None
        )
        return MemberView(view.record, mine)

    async def directory(
        self,
        principal: Principal,
        *,
        prefix: str,
        visibility: Visibility | None,
        include_archived: bool,
        size: int,
        token: str,
    ) -> Page[CommunityRecord]:
        """Communities the principal may see, by case-folded name, then id.

        Secret communities are listed only to their members and home admins;
        rows are read in key order with the filters in the query, and the
        caller's memberships of a batch's secret communities in one more read.

        Raises:
            PermissionDenied: a partner.
            InvalidArgument: a token this listing (with these filters) did not mint.
        """
        require_employee(principal)
        scope = (
            name_key(prefix),
            "" if visibility is None else visibility.value,
            "archived" if include_archived else "active",
        )
        position = paging.decode_token(token, DIRECTORY, (str, str), scope=scope)
        after = (
            None if position is None else (paging.key_str(position, 0), paging.key_str(position, 1))
        )
        now = self._core.now()

        async def fetch(at: tuple[str, str] | None, limit: int) -> list[CommunityRecord]:
            return await self._store.communities_page(
                prefix=name_key(prefix),
                visibility=visibility,
                include_archived=include_archived,
                after=at,
                limit=limit,
            )

        async def keep(batch: list[CommunityRecord]) -> list[CommunityRecord]:
            secret = [
                r.community.id
                for r in batch
                if r.community.visibility is Visibility.SECRET and not principal.is_home_admin
            ]
            memberships = await self._store.memberships_of(principal.subject, secret)
            return [
                r
                for r in batch
                if dom.can_see(
                    principal,
                    CommunitySpace(r.community),
                    facts_for(principal, r.community, memberships.get(r.community.id), now=now),
                )
            ]

        found, next_at = await keyset_page(
            fetch,
            lambda r: (name_key(r.community.name), r.community.id),
            keep,
            after=after,
            want=paging.page_size(size),
        )
        next_token = "" if next_at is None else paging.encode_token(DIRECTORY, next_at, scope=scope)
        return Page(found, next_token)

    async def update(
        self,
        principal: Principal,
        community_id: str,
        *,
        name: str | None,
        description: str | None,
        visibility: Visibility | None,
        expected_version: int | None,
    ) -> CommunityRecord:
        """Change name, description or visibility (ADMINISTER).

        Raises:
            PermissionDenied, NotFound, FailedPrecondition, InvalidArgument, Aborted:
                as :func:`~guildhall_community.domain.update_community`.
            AlreadyExists: the new name is taken.
        """
        require_employee(principal)

        async def attempt() -> None:
            view = await self._core.with_member(community_id, principal.subject)
            old = view.community
            change = dom.update_community(
                old,
                principal,
                actor_membership=view.membership,
                name=name,
                description=description,
                visibility=visibility,
                expected_version=expected_version,
                now=self._core.now(),
            )
            new = change.community
            renamed = new is not None and name_key(new.name) != name_key(old.name)
            if new is not None and renamed:
                await self._store.claim_name(new.name, community_id)
            try:
                await self._core.commit(change, view.record)
            except BaseException:
                if new is not None and renamed:
                    await self._store.release_name(new.name, community_id)
                raise
            if new is not None and renamed:
                await self._store.release_name(old.name, community_id)

        await self._core.retrying(attempt)
        return await self._core.community(community_id)

    async def archive(self, principal: Principal, community_id: str) -> CommunityRecord:
        """Archive the community (ADMINISTER); its pinholes close to partners at once.

        The name becomes free for a new community, and the pinholes are
        recorded closed right away (the sweeper catches any left behind).

        Raises:
            PermissionDenied, NotFound: as :func:`~guildhall_community.domain.archive_community`.
        """
        require_employee(principal)

        async def attempt() -> Change:
            view = await self._core.with_member(community_id, principal.subject)
            change = dom.archive_community(
                view.community, principal, actor_membership=view.membership, now=self._core.now()
            )
            await self._core.commit(change, view.record)
            return change

        change = await self._core.retrying(attempt)
        record = await self._core.community(community_id)
        if change.changed:
            await self._store.release_name(record.community.name, community_id)
            await self._pinholes.close_lapsed_in(community_id)
        return record
