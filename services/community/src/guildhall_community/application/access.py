"""The access funnel: every read a partner can reach, and the decision other services ask.

GetSpace, GetPinhole, CheckAccess and ListSpaces are the only operations a
partner user (or another service asking for one) reaches; all of them are
here, and all decide from current state through the domain's rule book
(:mod:`guildhall_community.domain.access`). A missing object and one the
principal may not see answer the same: NOT_FOUND with the kind the caller
asked for, or ``allowed=false``.
"""

from __future__ import annotations

import asyncio

from guildhall_community import domain as dom
from guildhall_community.domain import (
    AccessFacts,
    Action,
    Community,
    CommunitySpace,
    Pinhole,
    PinholeSpace,
    Principal,
    Space,
    SpaceAccess,
    facts_for,
)
from guildhall_kit import paging
from guildhall_kit.errors import NotFound

from .core import Core, Page

SPACES = "spaces"


class Access:
    """Spaces as a principal may see them, and "may P do A in S" (see the module docstring)."""

    def __init__(self, core: Core) -> None:
        self._core = core
        self._store = core.store

    async def get_pinhole(self, principal: Principal, pinhole_id: str) -> tuple[Pinhole, Community]:
        """The pinhole, if the principal may see it (partners: their own grant only).

        Raises:
            NotFound: missing or hidden, alike.
        """
        pinhole, record = await self._core.pinhole(pinhole_id)
        facts = await self._core.facts(principal, record.community)
        dom.access_pinhole(principal, pinhole, record.community, facts, None)
        return pinhole, record.community

    async def get_space(self, principal: Principal, space_id: str) -> Space:
        """The space, if the principal may see it.

        Community and pinhole ids share one id space. The pinhole is read
        first (pinholes are few, so a miss is cheap), then the community.

        Raises:
            NotFound: ("space") missing or hidden, alike.
        """
        pinhole = await self._store.pinhole(space_id)
        record = await self._store.community(space_id if pinhole is None else pinhole.community_id)
        if record is None:
            raise NotFound("space", space_id)
        space: Space = (
            CommunitySpace(record.community)
            if pinhole is None
            else PinholeSpace(pinhole, record.community)
        )
        facts = await self._core.facts(principal, record.community)
        if not dom.can_see(principal, space, facts):
            raise NotFound("space", space_id)
        return space

    async def check(self, subject: Principal, space_id: str, action: Action) -> bool:
        """May ``subject`` do ``action`` in ``space_id`` now? False for a missing space.

        Three point reads by ``_id`` in two round trips, from current state,
        whatever the size of the enterprise: the pinhole of that id (and, for
        a partner, their org's status); then the community — the pinhole's,
        or the one of that id — with, for an employee, their membership in it.
        The pinhole is read first because pinholes are few, so a miss costs
        little on any server; a partner never reaches a main space, so a
        partner's miss ends there.
        """
        now = self._core.now()
        if subject.is_partner:
            pinhole, suspended = await asyncio.gather(
                self._store.pinhole(space_id), self._store.org_suspended(subject.org_id)
            )
            if pinhole is None:
                return False
            parent = await self._store.community(pinhole.community_id)
            if parent is None:
                return False
            space: Space = PinholeSpace(pinhole, parent.community)
            facts = facts_for(subject, space.community, None, now=now, org_suspended=suspended)
            return dom.decide(subject, space, action, facts)
        pinhole = await self._store.pinhole(space_id)
        community_id = space_id if pinhole is None else pinhole.community_id
        record, membership = await asyncio.gather(
            self._store.community(community_id),
            self._store.membership(community_id, subject.subject),
        )
        if record is None:
            return False
        space = (
            CommunitySpace(record.community)
            if pinhole is None
            else PinholeSpace(pinhole, record.community)
        )
        facts = facts_for(subject, space.community, membership, now=now)
        return dom.decide(subject, space, action, facts)

    async def list_spaces(
        self, subject: Principal, action: Action, *, size: int, token: str
    ) -> Page[SpaceAccess]:
        """The spaces ``subject`` takes part in where they may do ``action``, by space id.

        Employees: the main spaces and pinholes of the communities they belong
        to (their active memberships, those communities, their pinholes: three
        reads). Partner users: the pinholes granted to their org, nothing while
        it is suspended (the org, its pinholes, their communities: three
        reads). Every entry passes the same rule book as CheckAccess; what one
        takes part in is bounded, so it is read whole and paged by space id.
        """
        position = paging.decode_token(token, SPACES, (str,), scope=(action.value,))
        now = self._core.now()
        candidates: list[tuple[Space, AccessFacts]] = []
        if subject.is_partner:
            if not await self._store.org_suspended(subject.org_id):
                pinholes = await self._store.pinholes_granted_to(subject.org_id)
                parents = await self._store.communities_by_id(
                    sorted({p.community_id for p in pinholes})
                )
                by_id = {r.community.id: r.community for r in parents}
                facts = AccessFacts(now=now)
                candidates = [
                    (PinholeSpace(p, by_id[p.community_id]), facts)
                    for p in pinholes
                    if p.community_id in by_id
                ]
        else:
            views = await self._core.belongs_to(subject.subject)
            by_id = {v.community.id: v.community for v in views}
            member_facts = {
                v.community.id: facts_for(subject, v.community, v.membership, now=now)
                for v in views
            }
            candidates = [
                (CommunitySpace(v.community), member_facts[v.community.id]) for v in views
            ]
            for p in await self._store.pinholes_of(sorted(by_id)):
                candidates.append(
                    (PinholeSpace(p, by_id[p.community_id]), member_facts[p.community_id])
                )
        allowed = sorted(
            dom.list_spaces(subject, candidates, action), key=lambda a: a.space.space_id
        )
        if position is not None:
            after = paging.key_str(position, 0)
            allowed = [a for a in allowed if a.space.space_id > after]
        want = paging.page_size(size)
        if len(allowed) <= want:
            return Page(allowed, "")
        page = allowed[:want]
        return Page(
            page, paging.encode_token(SPACES, (page[-1].space.space_id,), scope=(action.value,))
        )
