"""The profile service's use cases: read state, run the domain, store state and event together.

Handlers (gRPC and Kafka) call these after their access checks. Each write
is one single-document write with compare-and-set on ``version``; a lost
race re-reads and re-runs the domain operation (ABORTED after a few tries,
or at once when the caller gave an ``expected_version``). The events go into
the same write through the outbox, and the relay is woken right after.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Final

from guildhall.post.v1 import events_pb2 as post_events
from guildhall_kit.bus import Event
from guildhall_kit.errors import Aborted, NotFound
from guildhall_kit.logging import get_logger
from guildhall_kit.outbox import Outbox
from guildhall_profile.convert import event_message
from guildhall_profile.domain import events
from guildhall_profile.domain.expertise import (
    DirectoryCursor,
    DirectoryPage,
    DirectorySearch,
    ExpertiseChange,
    ExpertRow,
    credited_tags,
    declare_expertise,
    earn_expertise,
    withdraw_expertise,
)
from guildhall_profile.domain.listing import department_list, reports_list
from guildhall_profile.domain.model import Org, OrgKind, OrgState, Person
from guildhall_profile.domain.orgs import (
    OrgChange,
    home_org,
    register_org,
    reinstate_org,
    suspend_org,
)
from guildhall_profile.domain.paging import decode_token, encode_token, page_size
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
from guildhall_profile.repository import ORGS, PEOPLE, AnswerCredit, ProfileRepository

_log = get_logger(__name__)

WRITE_ATTEMPTS: Final = 5
_CROCKFORD: Final = "0123456789abcdefghjkmnpqrstvwxyz"


def now_ms() -> datetime:
    """Now, in whole milliseconds (what BSON stores, so a read-back equals what was written)."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def new_id(at: datetime | None = None) -> str:
    """A lowercase ULID (docs/adr/0003-contracts.md): time-sortable, unique without coordination."""
    millis = int((at or datetime.now(UTC)).timestamp() * 1000)
    value = (millis << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


class Profiles:
    """Use cases over the repository, the domain and the outbox."""

    def __init__(
        self,
        repo: ProfileRepository,
        outbox: Outbox,
        *,
        home_org_id: str,
        notify: Callable[[str, str], None],
        clock: Callable[[], datetime] = now_ms,
    ) -> None:
        self._repo = repo
        self._outbox = outbox
        self.home_org_id = home_org_id
        self._notify = notify
        self._now = clock
        self._org_names: dict[str, str] = {}

    @property
    def repo(self) -> ProfileRepository:
        return self._repo

    # --- helpers ------------------------------------------------------------------------------

    async def org_names(self, org_ids: Sequence[str]) -> dict[str, str]:
        """Display names of these orgs (cached: org names never change once registered)."""
        missing = [oid for oid in set(org_ids) if oid not in self._org_names]
        if missing:
            for oid, org in (await self._repo.get_orgs(missing)).items():
                self._org_names[oid] = org.display_name
        return {oid: self._org_names.get(oid, "") for oid in org_ids}

    async def org_name(self, org_id: str) -> str:
        return (await self.org_names([org_id]))[org_id]

    async def _event(self, event: events.Event) -> Event:
        org_name = ""
        if isinstance(event, events.PersonJoined | events.ProfileUpdated):
            org_name = await self.org_name(event.person.org_id)
        return self._outbox.event(event_message(event, org_name), key=event.aggregate_id)

    async def _require_person(self, person_id: str) -> Person:
        person = await self._repo.get_person(person_id)
        if person is None:
            raise NotFound("person", person_id)
        return person

    async def _require_org(self, org_id: str) -> Org:
        org = await self._repo.get_org(org_id)
        if org is None:
            raise NotFound("org", org_id)
        return org

    # --- organisations ------------------------------------------------------------------------

    async def bootstrap_home(self, display_name: str) -> Org:
        """Create the home org on first start; afterwards return it. Idempotent.

        Raises:
            RuntimeError: another org is the home org (GUILDHALL_HOME_ORG_ID changed).
        """
        homes = await self._repo.home_orgs()
        others = [o.org_id for o in homes if o.org_id != self.home_org_id]
        if others:
            raise RuntimeError(
                f"GUILDHALL_HOME_ORG_ID is {self.home_org_id!r} but the home org in the "
                f"database is {others[0]!r}; there is exactly one home org"
            )
        if homes:
            home = homes[0]
            if home.display_name != display_name:
                _log.warning(
                    "GUILDHALL_HOME_ORG_NAME differs from the stored home org name; keeping it",
                    stored=home.display_name,
                )
            return home
        change = home_org(self.home_org_id, display_name, self._now())
        assert change.event is not None
        await self._repo.insert_org(change.org, [await self._event(change.event)])
        self._notify(ORGS, change.org.org_id)
        _log.info("home org created", org_id=self.home_org_id)
        return change.org

    async def register_org(self, actor_id: str, *, org_id: str, kind: OrgKind, name: str) -> Org:
        now = self._now()
        change = register_org(
            org_id=org_id or new_id(now), kind=kind, display_name=name, actor_id=actor_id, now=now
        )
        assert change.event is not None
        await self._repo.insert_org(change.org, [await self._event(change.event)])
        self._org_names[change.org.org_id] = change.org.display_name
        self._notify(ORGS, change.org.org_id)
        return change.org

    async def get_org(self, org_id: str) -> Org:
        return await self._require_org(org_id)

    async def list_orgs(
        self, *, kind: OrgKind | None, state: OrgState | None, size: int, token: str
    ) -> tuple[list[Org], str]:
        query = [kind.value if kind else "", state.value if state else ""]
        after = str(decode_token(token, "orgs", query, (str,))[0]) if token else None
        limit = page_size(size)
        rows = await self._repo.list_orgs(kind=kind, state=state, after=after, limit=limit + 1)
        page = rows[:limit]
        more = len(rows) > limit
        return [o for o, _ in page], encode_token("orgs", query, [page[-1][1]]) if more else ""

    async def _change_org(self, org_id: str, op: Callable[[Org], OrgChange]) -> Org:
        for _ in range(WRITE_ATTEMPTS):
            before = await self._require_org(org_id)
            change = op(before)
            if change.event is None:
                return change.org
            event = await self._event(change.event)
            if await self._repo.update_org(before.version, change.org, [event]):
                self._notify(ORGS, org_id)
                return change.org
        raise Aborted(f"org {org_id} kept changing; try again")

    async def suspend_org(self, actor_id: str, org_id: str, reason: str) -> Org:
        return await self._change_org(
            org_id, lambda org: suspend_org(org, reason=reason, actor_id=actor_id, now=self._now())
        )

    async def reinstate_org(self, actor_id: str, org_id: str) -> Org:
        return await self._change_org(
            org_id, lambda org: reinstate_org(org, actor_id=actor_id, now=self._now())
        )

    # --- people -------------------------------------------------------------------------------

    async def create_person(
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
        now = self._now()
        person_id = person_id or new_id(now)
        check_new_person(person_id=person_id, manager_id=manager_id)
        org = await self._require_org(org_id)
        manager = await self._require_person(manager_id) if manager_id else None
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
        await self._repo.insert_person(change.person, [await self._event(change.event)])
        self._notify(PEOPLE, change.person.person_id)
        return change.person

    async def get_person(self, person_id: str) -> Person:
        return await self._require_person(person_id)

    async def _change_person(
        self,
        person_id: str,
        op: Callable[[Person], Awaitable[PersonChange | ExpertiseChange]],
    ) -> Person:
        for _ in range(WRITE_ATTEMPTS):
            before = await self._require_person(person_id)
            change = await op(before)
            if change.event is None:
                return change.person
            event = await self._event(change.event)
            if await self._repo.update_person(before, change.person, [event]):
                self._notify(PEOPLE, person_id)
                return change.person
        raise Aborted(f"person {person_id} kept changing; try again")

    async def update_my_profile(
        self,
        person_id: str,
        *,
        display_name: str | None,
        bio: str | None,
        location: str | None,
        languages: Sequence[str] | None,
        expected_version: int | None,
    ) -> Person:
        async def op(person: Person) -> PersonChange:
            return update_my_profile(
                person,
                display_name=display_name,
                bio=bio,
                location=location,
                languages=languages,
                expected_version=expected_version,
                now=self._now(),
            )

        return await self._change_person(person_id, op)

    async def walk(self, walk: ChainWalk) -> ChainWalk:
        """Finish a walk up the org chart, one read per manager."""
        while walk.wanted is not None:
            walk.feed(await self._repo.get_person(walk.wanted))
        return walk

    async def update_person(
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
                now=self._now(),
            )

        return await self._change_person(person_id, op)

    async def _page_of_people(
        self, list_name: str, list_id: str, value: str, size: int, token: str
    ) -> tuple[list[Person], str]:
        after = str(decode_token(token, list_name, [value], (str,))[0]) if token else None
        limit = page_size(size)
        rows = await self._repo.list_people(list_id, after=after, limit=limit + 1)
        page = rows[:limit]
        more = len(rows) > limit
        return [p for p, _ in page], encode_token(list_name, [value], [page[-1][1]]) if more else ""

    async def people_by_department(
        self, department: str, size: int, token: str
    ) -> tuple[list[Person], str]:
        return await self._page_of_people(
            "department", department_list(department), department, size, token
        )

    async def direct_reports(
        self, manager_id: str, size: int, token: str
    ) -> tuple[list[Person], str]:
        await self._require_person(manager_id)
        return await self._page_of_people(
            "manager_id", reports_list(manager_id), manager_id, size, token
        )

    async def manager_chain(self, person_id: str) -> list[Person]:
        person = await self._require_person(person_id)
        walk = await self.walk(manager_chain_walk(person))
        if walk.cycle:
            _log.warning("manager chain has a cycle", person=person_id)
        return walk.managers

    # --- expertise ----------------------------------------------------------------------------

    async def set_declared(self, person_id: str, tags: Sequence[str]) -> Person:
        async def op(person: Person) -> ExpertiseChange:
            return declare_expertise(person, tags, now=self._now())

        return await self._change_person(person_id, op)

    async def find_experts(
        self, tags: Sequence[str], size: int, token: str
    ) -> tuple[DirectoryPage, str, dict[str, Person]]:
        """A page of the expert directory, the token of the next page, and the people on it.

        Drives :class:`DirectorySearch` over the per-tag lists: each round reads
        the next rows of every list still open (one bucket read each) and the
        people it met (one read by ``_id``); every match is computed from the
        person's current document, so a stale list row changes nothing but
        the reads spent.
        """
        query = sorted(set(tags))
        after = None
        if token:
            score, declared, pid = decode_token(token, "experts", query, (int, int, str))
            after = DirectoryCursor(int(score), int(declared), str(pid))
        search = DirectorySearch(query, page_size=page_size(size), after=after)
        people: dict[str, Person] = {}
        fed: list[ExpertRow] = []
        while not search.done:
            reads = search.reads()
            results = await asyncio.gather(*(self._repo.read_list(r) for r in reads))
            for read, rows in zip(reads, results, strict=True):
                search.feed(read, rows)
                fed += rows
            unresolved = search.unresolved()
            met = await self._repo.get_people(unresolved) if unresolved else {}
            people.update(met)
            search.resolve(self._repo.rows_of(met, query))
        self._repo.note_stale_rows(fed, people)
        page = search.page()
        next_token = ""
        if page.next_cursor is not None:
            c = page.next_cursor
            next_token = encode_token(
                "experts", query, [c.earned_score, c.declared_matches, c.person_id]
            )
        on_page = {m.person_id: people[m.person_id] for m in page.experts}
        return page, next_token, on_page

    async def upkeep_lists(self) -> tuple[int, int]:
        """One pass of list upkeep: the one-off back-fill (people read; 0 once done), then
        the stale entries readers noted (how many removed)."""
        built = await self._repo.backfill_lists()
        return built, await self._repo.prune_stale()

    # --- accepted answers (from the post service) ----------------------------------------------

    async def answer_accepted(self, event_id: str, message: post_events.AnswerAccepted) -> None:
        """Credit the accepted answer's author; take the credit back from the answer it replaced.

        Idempotent under redelivery: each answer is credited once while it is
        the accepted one (``answer_credits``), and each person update carries
        the event id as its ``apply_once`` mark, so a redelivered event finds
        every step done and changes nothing.
        """
        if message.previous_answer_id and message.previous_answer_id != message.answer_id:
            await self._withdraw_credit(message.previous_answer_id, event_id, message.accepted_by)
        await self._credit(event_id, message)

    async def _credit(self, event_id: str, message: post_events.AnswerAccepted) -> None:
        tags = credited_tags(message.question_tags)
        wanted = AnswerCredit(
            answer_id=message.answer_id,
            person_id=message.answer_author_id,
            tags=tags,
            credited=True,
            event_id=event_id,
        )
        for _ in range(WRITE_ATTEMPTS):
            current = await self._repo.get_credit(message.answer_id)
            if current is None:
                if not await self._repo.insert_credit(wanted, self._now()):
                    continue
            elif current.credited and current.event_id != event_id:
                return  # credited by an earlier acceptance; once per answer
            elif not current.credited and not await self._repo.move_credit(
                current, wanted, self._now()
            ):
                continue
            break
        else:
            raise Aborted(f"credit of answer {message.answer_id} kept changing")
        accepted_at = (
            message.accepted_at.ToDatetime(tzinfo=UTC)
            if message.HasField("accepted_at")
            else self._now()
        )

        def op(person: Person) -> ExpertiseChange:
            return earn_expertise(
                person,
                tags=tags,
                answer_id=message.answer_id,
                question_id=message.question_id,
                space_id=message.space_id,
                source_event_id=event_id,
                earned_at=accepted_at,
                now=self._now(),
            )

        await self._apply_once(message.answer_author_id, f"earn:{event_id}", op)

    async def _withdraw_credit(self, answer_id: str, event_id: str, actor_id: str) -> None:
        for _ in range(WRITE_ATTEMPTS):
            current = await self._repo.get_credit(answer_id)
            if current is None:
                return  # never credited (e.g. accepted before this service listened)
            if not current.credited:
                if current.event_id != event_id:
                    return  # withdrawn by an earlier event
                break
            withdrawn = replace(current, credited=False, event_id=event_id)
            if await self._repo.move_credit(current, withdrawn, self._now()):
                current = withdrawn
                break
        else:
            raise Aborted(f"credit of answer {answer_id} kept changing")
        tags = current.tags

        def op(person: Person) -> ExpertiseChange:
            return withdraw_expertise(person, tags=tags, actor_id=actor_id, now=self._now())

        await self._apply_once(current.person_id, f"withdraw:{event_id}", op)

    async def _apply_once(
        self, person_id: str, mark: str, op: Callable[[Person], ExpertiseChange]
    ) -> None:
        """Apply ``op`` to the person once per ``mark`` (compare-and-set, retried on races)."""
        for _ in range(WRITE_ATTEMPTS):
            person = await self._repo.get_person(person_id)
            if person is None:
                _log.warning("expertise for an unknown person dropped", person=person_id, mark=mark)
                return
            change = op(person)
            if change.event is None:
                return
            event = await self._event(change.event)
            if await self._repo.update_person(person, change.person, [event], applied=mark):
                self._notify(PEOPLE, person_id)
                return
            if await self._repo.has_applied(person_id, mark):
                return
        raise Aborted(f"person {person_id} kept changing")

    async def record_author(self, space_id: str, person_id: str, at: datetime) -> None:
        if space_id and person_id:
            await self._repo.record_author(space_id, person_id, at)

    async def set_host(
        self, community_id: str, person_id: str, role: str | None, membership_version: int
    ) -> None:
        if community_id and person_id:
            await self._repo.set_host(community_id, person_id, role, membership_version)
