"""People: creating them, profile edits, departments, direct reports and the manager chain."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from guildhall_kit.clock import new_id
from guildhall_kit.errors import NotFound
from guildhall_kit.logging import get_logger
from guildhall_kit.paging import decode_token, encode_token, key_str, page_size
from guildhall_profile.domain.model import Person
from guildhall_profile.domain.people import (
    ChainWalk,
    PersonChange,
    check_new_person,
    create_person,
    manager_chain_walk,
    new_manager_walk,
    update_my_profile,
    update_person,
)

from .common import Writes

_log = get_logger(__name__)


class People:
    """Use cases of people (the caller's right to act is checked by the gate)."""

    def __init__(self, writes: Writes) -> None:
        self._w = writes
        self._repo = writes.repo

    async def create(
        self,
        actor_id: str,
        *,
        person_id: str,
        org_id: str,
        display_name: str,
        email: str,
        title: str,
        department: str,
        location: str,
        manager_id: str,
        languages: Sequence[str],
    ) -> Person:
        """Raises NotFound (org, manager), FailedPrecondition, InvalidArgument, AlreadyExists."""
        now = self._w.now()
        person_id = person_id or new_id(now)
        check_new_person(person_id=person_id, manager_id=manager_id)
        org = await self._repo.get_org(org_id)
        if org is None:
            raise NotFound("org", org_id)
        manager = await self._w.require_person(manager_id) if manager_id else None
        change = create_person(
            person_id=person_id,
            org=org,
            display_name=display_name,
            email=email,
            title=title,
            department=department,
            location=location,
            languages=languages,
            manager=manager,
            actor_id=actor_id,
            now=now,
        )
        assert change.event is not None
        await self._w.insert_person(change.person, change.event)
        return change.person

    async def get(self, person_id: str) -> Person:
        """Raises NotFound."""
        return await self._w.require_person(person_id)

    async def find(self, person_id: str) -> Person | None:
        """The person, or None."""
        return await self._repo.get_person(person_id)

    async def update_mine(
        self,
        person_id: str,
        *,
        display_name: str | None,
        bio: str | None,
        location: str | None,
        languages: Sequence[str] | None,
        expected_version: int | None,
    ) -> Person:
        """The person's own edit. Raises NotFound, Aborted, InvalidArgument."""

        async def op(person: Person) -> PersonChange:
            return update_my_profile(
                person,
                display_name=display_name,
                bio=bio,
                location=location,
                languages=languages,
                expected_version=expected_version,
                now=self._w.now(),
            )

        return await self._w.change_person(person_id, op)

    async def walk(self, walk: ChainWalk) -> ChainWalk:
        """Finish a walk up the org chart, one read by ``_id`` per manager."""
        while walk.wanted is not None:
            walk.feed(await self._repo.get_person(walk.wanted))
        return walk

    async def update(
        self,
        actor_id: str,
        person_id: str,
        *,
        title: str | None,
        department: str | None,
        location: str | None,
        manager_id: str | None,
        expected_version: int | None,
    ) -> Person:
        """A home admin's edit. Raises NotFound, Aborted, FailedPrecondition."""

        async def op(person: Person) -> PersonChange:
            manager_walk = None
            if (
                manager_id
                and person.is_employee
                and manager_id not in (person.manager_id, person.person_id)
            ):
                manager_walk = await self.walk(new_manager_walk(person, manager_id))
            return update_person(
                person,
                title=title,
                department=department,
                location=location,
                manager_id=manager_id,
                manager_walk=manager_walk,
                expected_version=expected_version,
                actor_id=actor_id,
                now=self._w.now(),
            )

        return await self._w.change_person(person_id, op)

    async def _page(
        self, field: Literal["department", "manager_id"], value: str, size: int, token: str
    ) -> tuple[list[Person], str]:
        """A page of the people whose ``field`` is ``value``, by name then id (the field
        also names the listing in page tokens).

        Keyset paging on the list key (name, id): every page starts right after
        the last person of the previous one, so people who keep their name and
        place are listed exactly once, in order; someone renamed or moved while
        the caller pages is listed where they are at the moment each page is read.
        """
        key = decode_token(token, field, (str,), scope=[value])
        limit = page_size(size)
        rows = await self._repo.people_page(
            field, value, after=key_str(key, 0) if key else None, limit=limit + 1
        )
        page = rows[:limit]
        more = len(rows) > limit
        return page, encode_token(field, [page[-1].list_key], scope=[value]) if more else ""

    async def by_department(
        self, department: str, size: int, token: str
    ) -> tuple[list[Person], str]:
        """Raises InvalidArgument (a page token of another listing)."""
        return await self._page("department", department, size, token)

    async def direct_reports(
        self, manager_id: str, size: int, token: str
    ) -> tuple[list[Person], str]:
        """Raises NotFound (no such manager), InvalidArgument (a foreign page token)."""
        await self._w.require_person(manager_id)
        return await self._page("manager_id", manager_id, size, token)

    async def manager_chain(self, person_id: str) -> list[Person]:
        """Nearest manager first, at most 50. Raises NotFound."""
        person = await self._w.require_person(person_id)
        walk = await self.walk(manager_chain_walk(person))
        if walk.cycle:
            _log.warning("manager chain has a cycle", person=person_id)
        return walk.managers
