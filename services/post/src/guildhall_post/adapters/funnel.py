"""The access funnel: every read and write of the post service asks here first.

One class, :class:`AccessFunnel`, answers "what may this caller do in this
space" for every operation:

- **employees** from the read model (:mod:`.readmodel`), with the rules of
  :func:`guildhall_post.domain.access.employee_view` -- no synchronous call on the
  hot path;
- **partner users** by asking the community service (CheckAccess / ListSpaces)
  within a deadline, on every request, so a revoked grant or a closed pinhole is
  refused from the first request that starts after the revoking call returned.
  The read model is never consulted for them; a failed call refuses
  (UNAVAILABLE).

Answers are remembered for the duration of one RPC only (on the :class:`Caller`),
so one request asks about one space and action at most once, and the next request
asks again. See docs/adr/0007-post-access-read-model.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from guildhall_kit.auth import Principal, PrincipalKind, require_principal
from guildhall_kit.errors import NotFound
from guildhall_post.adapters.clock import now_ms
from guildhall_post.adapters.community import CommunityAccess
from guildhall_post.adapters.readmodel import ReadModel
from guildhall_post.domain.access import (
    HIDDEN,
    Action,
    View,
    check_item,
    check_space,
    employee_view,
)


def space_not_found(space_id: str) -> NotFound:
    """The error for a space that does not exist *or* that the caller may not see."""
    return NotFound("space", space_id)


@dataclass
class Caller:
    """Who is calling, with their bearer token (forwarded to the community service)."""

    principal: Principal
    token: str | None
    _partner_answers: dict[tuple[str, Action], bool] = field(default_factory=dict)
    _employee_views: dict[str, View] = field(default_factory=dict)

    @property
    def person_id(self) -> str:
        return self.principal.subject

    @property
    def is_partner(self) -> bool:
        return self.principal.is_partner

    @staticmethod
    def current(token: str | None) -> Caller:
        """The authenticated caller of this RPC (employees and partner users only).

        Raises:
            Unauthenticated: no principal.
            PermissionDenied: a service identity (the post API is for people).
        """
        principal = require_principal(PrincipalKind.EMPLOYEE, PrincipalKind.PARTNER)
        return Caller(principal, token)


class AccessFunnel:
    """The one place access is decided (see the module docstring)."""

    def __init__(self, read_model: ReadModel, community: CommunityAccess) -> None:
        self._rm = read_model
        self._community = community

    async def view(self, caller: Caller, space_id: str, *actions: Action) -> View:
        """What the caller may do in ``space_id``.

        For an employee: everything (from the read model). For a partner user: READ
        and each of ``actions`` the community service confirms now.

        Raises:
            Unavailable: the community service did not answer for a partner user.
        """
        if caller.is_partner:
            return await self._partner_view(caller, space_id, actions)
        views = await self._employee_views(caller, [space_id])
        return views.get(space_id, HIDDEN)

    async def access_space(self, caller: Caller, space_id: str, action: Action) -> View:
        """The caller's view of a space they may do ``action`` in.

        Raises:
            NotFound: the space is missing or hidden (the same error).
            FailedPrecondition: a write into a read-only space.
            PermissionDenied: visible but not allowed.
            Unavailable: the community service did not answer for a partner user.
        """
        view = await self.view(caller, space_id, action)
        check_space(view, action, space_not_found(space_id))
        return view

    async def access_item(
        self, caller: Caller, space_id: str, action: Action, not_found: NotFound, *more: Action
    ) -> View:
        """The caller's view of the space of an item they may do ``action`` on.

        ``not_found`` is the error a missing item gets; a caller who may not read the
        space gets exactly that error. ``more`` are further actions a partner's view
        should be asked about (employees' views hold every action anyway).

        Raises:
            NotFound: ``not_found``, when the caller may not read the space.
            FailedPrecondition / PermissionDenied / Unavailable: as :meth:`access_space`.
        """
        view = await self.view(caller, space_id, action, *more)
        check_item(view, action, not_found)
        return view

    async def readable(self, caller: Caller, space_ids: Iterable[str]) -> set[str]:
        """The spaces among ``space_ids`` whose content the caller may read now."""
        ids = sorted(set(space_ids))
        if not ids:
            return set()
        if caller.is_partner:
            out = set()
            for space_id in ids:
                if (await self._partner_view(caller, space_id, ())).allows(Action.READ):
                    out.add(space_id)
            return out
        views = await self._employee_views(caller, ids)
        return {sid for sid, v in views.items() if v.allows(Action.READ)}

    async def home_spaces(self, caller: Caller, limit: int) -> list[str]:
        """The spaces of the caller's home feed: for an employee the readable spaces of their
        communities, for a partner user the pinholes granted to their org."""
        if caller.is_partner:
            listed = await self._community.list_spaces(caller.principal, caller.token, Action.READ)
            return sorted(listed)[:limit]
        now = now_ms()
        spaces = await self._rm.member_spaces(caller.person_id, limit)
        roles = await self._rm.roles(caller.person_id)
        out = []
        for space in spaces:
            role = roles.get(space.community.community_id)
            view = employee_view(
                is_admin=caller.principal.is_home_admin, role=role, space=space, now=now
            )
            if view.allows(Action.READ):
                out.append(space.space_id)
        return out

    async def searchable_spaces(self, caller: Caller) -> set[str]:
        """Every space whose content the caller may read now (the search access filter).

        Employees: every open community, their own communities, and those
        communities' readable pinholes, from the read model (a home admin's
        governance reach beyond their memberships is not searched: search is for
        reading, not moderation). Partner users: what ListSpaces answers now.
        """
        if caller.is_partner:
            listed = await self._community.list_spaces(caller.principal, caller.token, Action.READ)
            return set(listed)
        roles = await self._rm.roles(caller.person_id)
        open_ids = set(await self._rm.open_community_ids())
        # Every employee reads every open community's main space (active or archived).
        out = set(open_ids)
        spaces = list((await self._rm.spaces(set(roles) - open_ids)).values())
        spaces.extend(await self._rm.pinholes_of(open_ids | set(roles)))
        now = now_ms()
        for space in spaces:
            view = employee_view(
                is_admin=caller.principal.is_home_admin,
                role=roles.get(space.community.community_id),
                space=space,
                now=now,
            )
            if view.allows(Action.READ):
                out.add(space.space_id)
        return out

    async def _employee_views(self, caller: Caller, space_ids: list[str]) -> dict[str, View]:
        missing = [s for s in space_ids if s not in caller._employee_views]
        if missing:
            now: datetime = now_ms()
            spaces = await self._rm.spaces(missing)
            community_ids = {s.community.community_id for s in spaces.values()}
            roles = await self._rm.roles(caller.person_id, community_ids) if community_ids else {}
            for space_id in missing:
                space = spaces.get(space_id)
                if space is None:
                    caller._employee_views[space_id] = HIDDEN
                    continue
                caller._employee_views[space_id] = employee_view(
                    is_admin=caller.principal.is_home_admin,
                    role=roles.get(space.community.community_id),
                    space=space,
                    now=now,
                )
        return {s: caller._employee_views[s] for s in space_ids}

    async def _partner_view(self, caller: Caller, space_id: str, actions: Iterable[Action]) -> View:
        # READ first: a partner who may not read the space sees nothing of it.
        if not await self._partner_allows(caller, space_id, Action.READ):
            return HIDDEN
        allowed = {Action.READ}
        for action in actions:
            if action is not Action.READ and await self._partner_allows(caller, space_id, action):
                allowed.add(action)
        return View(visible=True, actions=frozenset(allowed))

    async def _partner_allows(self, caller: Caller, space_id: str, action: Action) -> bool:
        key = (space_id, action)
        if key not in caller._partner_answers:
            caller._partner_answers[key] = await self._community.check(
                caller.principal, caller.token, space_id, action
            )
        return caller._partner_answers[key]
