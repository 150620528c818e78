"""Use cases of the membership aggregate: joining, requests, invitations, roles, member lists."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from guildhall_community import domain as dom
from guildhall_community.domain import (
    Action,
    Change,
    JoinRequestState,
    Membership,
    Principal,
    PrincipalKind,
    Role,
    facts_for,
    name_key,
    require_employee,
)
from guildhall_community.domain.model import STAFF_ROLES
from guildhall_kit import paging
from guildhall_kit.errors import NotFound

from .core import Core, MemberView, Page, keyset_page

MEMBERS = "members"
JOIN_REQUESTS = "join_requests"
MY_COMMUNITIES = "my_communities"


class Memberships:
    """Who belongs to a community, and how they come and go (employees only).

    Operations about the caller themself (join, request, leave) and those of
    staff about someone else (approve, reject, invite, remove, change role)
    each re-run on a lost compare-and-set; a two-document change that ends up
    refused puts the membership document back in line with the staff entry.
    """

    def __init__(self, core: Core) -> None:
        self._core = core
        self._store = core.store

    async def _own(
        self, principal: Principal, community_id: str, decide: Callable[[MemberView], Change]
    ) -> MemberView:
        """Run an operation about the principal themself; their membership afterwards."""
        require_employee(principal)

        async def attempt() -> None:
            view = await self._core.with_member(community_id, principal.subject)
            await self._core.commit(decide(view), view.record)

        async def repair() -> None:
            await self._core.reconcile(community_id, principal.subject, principal.subject)

        await self._core.retrying(attempt, repair=repair)
        return await self._core.with_member(community_id, principal.subject)

    async def join(self, principal: Principal, community_id: str) -> MemberView:
        """The principal joins an open community (see :func:`~guildhall_community.domain.join`)."""
        return await self._own(
            principal,
            community_id,
            lambda v: dom.join(
                v.community, principal, membership=v.membership, now=self._core.now()
            ),
        )

    async def request(self, principal: Principal, community_id: str, message: str) -> MemberView:
        """The principal asks to join a private community (JoinRequested)."""
        return await self._own(
            principal,
            community_id,
            lambda v: dom.request_membership(
                v.community,
                principal,
                membership=v.membership,
                message=message,
                now=self._core.now(),
            ),
        )

    async def leave(self, principal: Principal, community_id: str) -> None:
        """The principal leaves the community (MemberLeft)."""
        await self._own(
            principal,
            community_id,
            lambda v: dom.leave(
                v.community, principal, membership=v.membership, now=self._core.now()
            ),
        )

    async def _staff(
        self,
        principal: Principal,
        community_id: str,
        person_id: str,
        decide: Callable[[MemberView, Membership | None], Change],
    ) -> MemberView:
        """Run an operation of a staff member (or admin) about ``person_id``; return theirs."""
        require_employee(principal)

        async def attempt() -> None:
            view, target = await asyncio.gather(
                self._core.with_member(community_id, principal.subject),
                self._store.membership(community_id, person_id),
            )
            await self._core.commit(decide(view, target), view.record)

        async def repair() -> None:
            await self._core.reconcile(community_id, person_id, principal.subject)

        await self._core.retrying(attempt, repair=repair)
        return await self._core.with_member(community_id, person_id)

    async def approve(self, principal: Principal, community_id: str, person_id: str) -> MemberView:
        """Approve a pending join request (MemberJoined)."""
        return await self._staff(
            principal,
            community_id,
            person_id,
            lambda v, t: dom.approve_request(
                v.community,
                principal,
                actor_membership=v.membership,
                person_id=person_id,
                target_membership=t,
                now=self._core.now(),
            ),
        )

    async def reject(
        self, principal: Principal, community_id: str, person_id: str, reason: str
    ) -> MemberView:
        """Reject a pending join request (JoinRequestRejected)."""
        return await self._staff(
            principal,
            community_id,
            person_id,
            lambda v, t: dom.reject_request(
                v.community,
                principal,
                actor_membership=v.membership,
                person_id=person_id,
                target_membership=t,
                reason=reason,
                now=self._core.now(),
            ),
        )

    async def invite(
        self, principal: Principal, community_id: str, person_id: str, role: Role
    ) -> MemberView:
        """Add an employee at once (MemberJoined).

        The invitee's kind comes from the profile read model. A person it does
        not know is NOT_FOUND — decided after the principal's own rights, so
        only those who may add members learn it.
        """
        require_employee(principal)
        person = await self._store.person(person_id)
        kind = PrincipalKind.EMPLOYEE if person is None else person.kind

        def decide(view: MemberView, target: Membership | None) -> Change:
            change = dom.invite(
                view.community,
                principal,
                actor_membership=view.membership,
                person_id=person_id,
                invitee_kind=kind,
                target_membership=target,
                role=role,
                now=self._core.now(),
            )
            if person is None:
                raise NotFound("person", person_id)
            return change

        return await self._staff(principal, community_id, person_id, decide)

    async def remove(self, principal: Principal, community_id: str, person_id: str) -> None:
        """Remove a member (MemberLeft). Exact: the next decision for them says no."""
        await self._staff(
            principal,
            community_id,
            person_id,
            lambda v, t: dom.remove_member(
                v.community,
                principal,
                actor_membership=v.membership,
                person_id=person_id,
                target_membership=t,
                now=self._core.now(),
            ),
        )

    async def change_role(
        self, principal: Principal, community_id: str, person_id: str, role: Role
    ) -> MemberView:
        """Give a member a new role (RoleChanged)."""
        return await self._staff(
            principal,
            community_id,
            person_id,
            lambda v, t: dom.change_role(
                v.community,
                principal,
                actor_membership=v.membership,
                person_id=person_id,
                target_membership=t,
                role=role,
                now=self._core.now(),
            ),
        )

    async def members(
        self,
        principal: Principal,
        community_id: str,
        *,
        role: Role | None,
        size: int,
        token: str,
    ) -> tuple[dom.Community, Page[Membership]]:
        """Active members by join time, then person id (READ on the main space).

        Raises:
            PermissionDenied, NotFound: as the funnel decides for READ.
            InvalidArgument: a token this listing (with this role filter) did not mint.
        """
        require_employee(principal)
        scope = (community_id, "" if role is None else role.value)
        position = paging.decode_token(token, MEMBERS, (str,), scope=scope)
        view = await self._core.with_member(community_id, principal.subject)
        facts = facts_for(principal, view.community, view.membership, now=self._core.now())
        dom.access_community(principal, view.community, facts, Action.READ)
        want = paging.page_size(size)
        after = None if position is None else paging.key_str(position, 0)
        community = view.community
        if role is not None and role in STAFF_ROLES:
            rows = await self._staff_members(community, role, after, want + 1)
            next_token = ""
            if len(rows) > want:
                rows = rows[:want]
                next_token = paging.encode_token(MEMBERS, (_key(rows[-1].join_key),), scope=scope)
            return community, Page(rows, next_token)

        async def fetch(at: str | None, limit: int) -> list[Membership]:
            return await self._store.members_page(community_id, role=role, after=at, limit=limit)

        async def keep(batch: list[Membership]) -> list[Membership]:
            # The staff entry is the authority; a membership that still says "member"
            # while its staff change completes is not listed among the members.
            return [m for m in batch if role is None or m.person_id not in community.staff]

        rows, next_at = await keyset_page(
            fetch, lambda m: _key(m.join_key), keep, after=after, want=want
        )
        next_token = (
            "" if next_at is None else paging.encode_token(MEMBERS, (next_at,), scope=scope)
        )
        return community, Page(rows, next_token)

    async def _staff_members(
        self, community: dom.Community, role: Role, after: str | None, limit: int
    ) -> list[Membership]:
        """Active members whose staff role is ``role``, by join key (staff are at most 200)."""
        people = sorted(p for p, r in community.staff.items() if r is role)
        found = await self._store.members_of(community.id, people)
        rows = [
            m
            for m in found.values()
            if m.is_active and m.join_key is not None and (after is None or m.join_key > after)
        ]
        return sorted(rows, key=lambda m: _key(m.join_key))[:limit]

    async def join_requests(
        self,
        principal: Principal,
        community_id: str,
        *,
        state: JoinRequestState | None,
        size: int,
        token: str,
    ) -> Page[Membership]:
        """Join requests, oldest first (MODERATE on the main space)."""
        require_employee(principal)
        scope = (community_id, "" if state is None else state.value)
        position = paging.decode_token(token, JOIN_REQUESTS, (str,), scope=scope)
        view = await self._core.with_member(community_id, principal.subject)
        facts = facts_for(principal, view.community, view.membership, now=self._core.now())
        dom.access_community(principal, view.community, facts, Action.MODERATE)
        want = paging.page_size(size)
        after = None if position is None else paging.key_str(position, 0)
        rows = await self._store.join_requests_page(
            community_id, state=state, after=after, limit=want + 1
        )
        next_token = ""
        if len(rows) > want:
            rows = rows[:want]
            next_token = paging.encode_token(
                JOIN_REQUESTS, (_key(rows[-1].request_key),), scope=scope
            )
        return Page(rows, next_token)

    async def mine(self, principal: Principal, *, size: int, token: str) -> Page[MemberView]:
        """The communities the principal belongs to, by name (all read, then paged)."""
        require_employee(principal)
        position = paging.decode_token(token, MY_COMMUNITIES, (str, str))
        views = sorted(
            await self._core.belongs_to(principal.subject),
            key=lambda v: (name_key(v.community.name), v.community.id),
        )
        if position is not None:
            after = (paging.key_str(position, 0), paging.key_str(position, 1))
            views = [v for v in views if (name_key(v.community.name), v.community.id) > after]
        want = paging.page_size(size)
        if len(views) <= want:
            return Page(views, "")
        page = views[:want]
        last = page[-1].community
        return Page(page, paging.encode_token(MY_COMMUNITIES, (name_key(last.name), last.id)))


def _key(value: str | None) -> str:
    """A listed row's sort key (a listing only returns rows that have one)."""
    if value is None:
        raise ValueError("a listed membership has a sort key")
    return value
