"""Facts about people and their expertise (the profile service's events) -> read models."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from guildhall_notification.domain.model import Person
from guildhall_notification.domain.routing import Expertise


class PeopleStore(Protocol):
    async def put_person(self, person: Person, version: int) -> None: ...

    async def change_expertise(
        self,
        person_id: str,
        change: Callable[[dict[str, Expertise]], dict[str, Expertise]],
        *,
        event_id: str,
    ) -> None: ...


class People:
    def __init__(self, store: PeopleStore) -> None:
        self._store = store

    async def person(
        self,
        event_id: str,
        person: Person,
        *,
        version: int,
        declared: Sequence[str],
        earned: Mapping[str, int],
    ) -> None:
        """A person joined or changed: their card, and their expertise as a whole."""
        await self._store.put_person(person, version)
        tags = set(declared) | set(earned)
        full = {t: Expertise(t in declared, int(earned.get(t, 0))) for t in tags}
        await self._store.change_expertise(person.person_id, lambda _old: full, event_id=event_id)

    async def declared(self, event_id: str, person_id: str, tags: Sequence[str]) -> None:
        wanted = set(tags)

        def change(old: dict[str, Expertise]) -> dict[str, Expertise]:
            out = {t: Expertise(t in wanted, e.earned) for t, e in old.items()}
            for tag in wanted - set(out):
                out[tag] = Expertise(True, 0)
            return out

        await self._store.change_expertise(person_id, change, event_id=event_id)

    async def earned(self, event_id: str, person_id: str, tags: Sequence[str]) -> None:
        def change(old: dict[str, Expertise]) -> dict[str, Expertise]:
            out = dict(old)
            for tag in set(tags):
                found = out.get(tag, Expertise())
                out[tag] = Expertise(found.declared, found.earned + 1)
            return out

        await self._store.change_expertise(person_id, change, event_id=event_id)
