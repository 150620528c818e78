"""The access funnel: who may read a space, at delivery time and at read time.

Every notification about a space passes here twice: when it is delivered
(:meth:`Funnel.readers`: only those who may read the space now get it) and
when it is read back (:meth:`Funnel.visible`: ListInbox, the live stream,
routed questions and digests leave out spaces the reader lost).

- Employees are decided from the community read model (domain/access.py).
- Partner users are decided exactly by the community service (CheckAccess at
  delivery, ListSpaces at read time) with this service's own credential; a
  failed or late answer counts as "no" (access never fails open). A partner
  never reads a community's main space, so one is never even asked about.
- Notifications about the reader's own access (a pinhole grant that ended,
  a membership that ended) are not about reading the space: they reach the
  person whatever the space's state, and quote only what the person knew.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import Final

from guildhall_kit.auth import Principal, PrincipalKind
from guildhall_kit.clients import Action
from guildhall_kit.errors import Unavailable
from guildhall_kit.logging import get_logger
from guildhall_notification.application.ports import CommunityAccess, ReadModelsPort
from guildhall_notification.domain.access import employee_may_read
from guildhall_notification.domain.model import (
    Kind,
    Notification,
    Person,
    PersonKind,
    Reason,
    Space,
)

_log = get_logger(__name__)

ABOUT_OWN_ACCESS: Final = frozenset({Reason.OWN_ACCESS, Reason.ADMINISTRATION})
"""Notifications with these reasons are about the person's own access, not a space's content."""


def about_own_access(notification: Notification) -> bool:
    return notification.template.reason in ABOUT_OWN_ACCESS or not notification.template.space_id


def principal_of(person: Person) -> Principal:
    """The principal a person would be when reading (never a home admin: not known here)."""
    kind = PrincipalKind.PARTNER if person.kind is PersonKind.PARTNER else PrincipalKind.EMPLOYEE
    return Principal(subject=person.person_id, kind=kind, org_id=person.org_id)


class Funnel:
    """One place for every access decision the service makes."""

    def __init__(
        self, models: ReadModelsPort, community: CommunityAccess, *, concurrency: int
    ) -> None:
        self._models = models
        self._community = community
        self._gate = asyncio.Semaphore(concurrency)

    async def _partner_may_read(self, person: Person, space_id: str) -> bool:
        async with self._gate:
            try:
                return await self._community.check(principal_of(person), space_id, Action.READ)
            except Unavailable:
                _log.warning(
                    "partner access not confirmed; not delivered",
                    person_id=person.person_id,
                    space_id=space_id,
                )
                return False

    async def readers(self, space_id: str, person_ids: Iterable[str]) -> set[str]:
        """Those of ``person_ids`` who may read ``space_id`` now.

        Unknown people and unknown spaces read nothing. Partners are asked about
        one by one with CheckAccess (bounded concurrency), and only for a pinhole
        granted to their org in the read model (which can only leave people out:
        the exact answer still decides those it keeps).
        """
        wanted = set(person_ids)
        if not wanted:
            return set()
        space = await self._models.space(space_id)
        if space is None:
            return set()
        people = await self._models.people(wanted)
        employees = [p for p in people.values() if p.kind is PersonKind.EMPLOYEE]
        partners = [
            p
            for p in people.values()
            if p.kind is PersonKind.PARTNER and space.is_pinhole and p.org_id in space.grants
        ]
        allowed = await self._employees_reading(space, [p.person_id for p in employees])
        if partners:
            answers = await asyncio.gather(*(self._partner_may_read(p, space_id) for p in partners))
            allowed.update(p.person_id for p, ok in zip(partners, answers, strict=True) if ok)
        return allowed

    async def _employees_reading(self, space: Space, person_ids: Sequence[str]) -> set[str]:
        if not person_ids:
            return set()
        if employee_may_read(space, None):
            return set(person_ids)  # every employee reads it (an open community's space)
        roles = await self._models.roles(space.community_id, person_ids)
        return {p for p in person_ids if employee_may_read(space, roles.get(p))}

    async def visible(
        self, principal: Principal, notifications: Sequence[Notification]
    ) -> list[Notification]:
        """``notifications`` less those about spaces ``principal`` may no longer read.

        Raises:
            Unavailable: the community service could not answer for a partner.
        """
        spaces = {n.template.space_id for n in notifications if not about_own_access(n)}
        if not spaces:
            return list(notifications)
        readable = await self.readable_spaces(principal, spaces)
        return [n for n in notifications if about_own_access(n) or n.template.space_id in readable]

    async def readable_spaces(self, principal: Principal, space_ids: Iterable[str]) -> set[str]:
        """Which of ``space_ids`` ``principal`` may read now.

        Raises:
            Unavailable: the community service could not answer for a partner.
        """
        wanted = set(space_ids)
        if principal.is_partner:
            listed = await self._community.list_spaces(principal, Action.READ)
            return {s.space_id for s in listed if Action.READ in s.actions} & wanted
        readable: set[str] = set()
        for space_id in wanted:
            space = await self._models.space(space_id)
            if space is None:
                continue
            if await self._employees_reading(space, [principal.subject]):
                readable.add(space_id)
        return readable

    async def may_read(self, principal: Principal, space_id: str) -> bool:
        """Whether ``principal`` may read ``space_id`` now (partners asked exactly).

        Raises:
            Unavailable: the community service could not answer for a partner.
        """
        if principal.is_partner:
            return await self._community.check(principal, space_id, Action.READ)
        space = await self._models.space(space_id)
        return space is not None and bool(await self._employees_reading(space, [principal.subject]))


__all__ = ["Funnel", "Kind", "about_own_access", "principal_of"]
