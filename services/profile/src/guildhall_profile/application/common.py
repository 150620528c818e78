"""The write path every aggregate of the profile service shares.

A state change is one single-document write with compare-and-set on
``version`` and the change's event in the same write (the outbox); the relay
is hinted right after. A person write also brings that person's expert
directory rows up to date right after it; if that fails (or the process dies
in between) the service's own consumer of its expertise events converges
them (:meth:`Directory.converge <guildhall_profile.application.directory.Directory.converge>`),
so the write still stands and nothing is lost.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Final

from guildhall_kit.bus import Event
from guildhall_kit.clock import Clock, now_ms
from guildhall_kit.errors import Aborted, NotFound
from guildhall_kit.logging import get_logger
from guildhall_profile.domain import events
from guildhall_profile.domain.expertise import ExpertiseChange
from guildhall_profile.domain.model import Org, Person
from guildhall_profile.domain.people import PersonChange

if TYPE_CHECKING:
    from guildhall_profile.adapters.repository import ProfileRepository

_log = get_logger(__name__)

WRITE_ATTEMPTS: Final = 5
"""Compare-and-set attempts before a write that keeps losing races is ABORTED."""

Encode = Callable[[events.Event, str], Event]
"""A domain event and the display name of the org of the person it is about -> the
outbox event (the adapters' protobuf mapping)."""

Hint = Callable[[str], None]
"""Tell the outbox relay that this org's (or person's) document just got events."""


class Writes:
    """Stores orgs and people with their events; the shared half of every use case."""

    def __init__(
        self,
        repo: ProfileRepository,
        *,
        encode: Encode,
        hint_org: Hint,
        hint_person: Hint,
        clock: Clock = now_ms,
    ) -> None:
        self.repo = repo
        self.now = clock
        self._encode = encode
        self._hint_org = hint_org
        self._hint_person = hint_person
        self._org_names: dict[str, str] = {}

    async def org_names(self, org_ids: Sequence[str]) -> dict[str, str]:
        """Display names of these orgs ("" for an unknown one); cached, as an org's name
        never changes once registered."""
        missing = [oid for oid in set(org_ids) if oid not in self._org_names]
        if missing:
            for oid, org in (await self.repo.get_orgs(missing)).items():
                self._org_names[oid] = org.display_name
        return {oid: self._org_names.get(oid, "") for oid in org_ids}

    async def _event(self, event: events.Event) -> Event:
        org_name = ""
        if isinstance(event, events.PersonJoined | events.ProfileUpdated):
            org_name = (await self.org_names([event.person.org_id]))[event.person.org_id]
        return self._encode(event, org_name)

    # --- organisations ------------------------------------------------------------------------

    async def insert_org(self, org: Org, event: events.Event) -> None:
        """Raises AlreadyExists (id or name taken)."""
        await self.repo.insert_org(org, [await self._event(event)])
        self._org_names[org.org_id] = org.display_name
        self._hint_org(org.org_id)

    async def update_org(self, before: Org, after: Org, event: events.Event) -> bool:
        """Write ``after`` if the stored org is still ``before``; False if it moved on."""
        if not await self.repo.update_org(before.version, after, [await self._event(event)]):
            return False
        self._hint_org(after.org_id)
        return True

    # --- people -------------------------------------------------------------------------------

    async def insert_person(self, person: Person, event: events.Event) -> None:
        """Raises AlreadyExists (id or e-mail address taken)."""
        await self.repo.insert_person(person, [await self._event(event)])
        self._hint_person(person.person_id)
        await self._rows(None, person)

    async def update_person(
        self, before: Person, after: Person, event: events.Event, *, applied: str | None = None
    ) -> bool:
        """Write ``after`` if the stored person is still ``before``; False if it moved on
        (or, with ``applied``, if the person already carries that mark)."""
        written = await self.repo.update_person(
            before, after, [await self._event(event)], applied=applied
        )
        if not written:
            return False
        self._hint_person(after.person_id)
        await self._rows(before, after)
        return True

    async def _rows(self, before: Person | None, after: Person) -> None:
        try:
            await self.repo.write_rows(before, after)
        except Exception:  # noqa: BLE001 - the person write stands; the directory consumer converges
            _log.exception(
                "directory rows not written; left to the consumer", person=after.person_id
            )

    async def require_person(self, person_id: str) -> Person:
        """Raises NotFound."""
        person = await self.repo.get_person(person_id)
        if person is None:
            raise NotFound("person", person_id)
        return person

    async def change_person(
        self,
        person_id: str,
        op: Callable[[Person], Awaitable[PersonChange | ExpertiseChange]],
    ) -> Person:
        """Apply ``op`` to the person's current state and store it, retrying lost races.

        Raises:
            NotFound: no such person.
            Aborted: the person kept changing.
            Whatever ``op`` raises (the domain's refusals), with nothing written.
        """
        for _ in range(WRITE_ATTEMPTS):
            before = await self.require_person(person_id)
            change = await op(before)
            if change.event is None:
                return change.person
            if await self.update_person(before, change.person, change.event):
                return change.person
        raise Aborted(f"person {person_id} kept changing; try again")
