"""People: creating them, editing profiles, and walking the org chart.

Operations return the person's next state with the one event it publishes
(:class:`PersonChange`), or the person unchanged with no event when the
request changes nothing. Checks the protovalidate rules cannot express are
here: duplicates among languages compared case-insensitively, a manager who
is the person themself, manager chains that would become cycles, fields that
do not apply to partner users, and ``expected_version``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from guildhall_kit.errors import Aborted, FailedPrecondition, InvalidArgument, NotFound

from .events import PersonJoined, ProfileUpdated
from .model import MAX_CHAIN_WALK, MAX_MANAGER_CHAIN, Org, Person, PersonKind, person_kind_for


@dataclass(frozen=True, slots=True)
class PersonChange:
    """A person's state after an operation, with its event (None: nothing changed)."""

    person: Person
    event: PersonJoined | ProfileUpdated | None

    @property
    def changed(self) -> bool:
        return self.event is not None


def check_languages(languages: Sequence[str], *, field: str) -> tuple[str, ...]:
    """``languages`` as a tuple, refusing tags that differ only in case.

    BCP 47 tags are case-insensitive ("de-CH" is "de-ch"), which the
    contract's ``unique`` rule cannot see.

    Raises:
        InvalidArgument: naming ``field[i]`` of the second spelling.
    """
    seen: dict[str, int] = {}
    for index, tag in enumerate(languages):
        key = tag.casefold()
        if key in seen:
            raise InvalidArgument(
                f"{field}[{index}]", f"repeats {languages[seen[key]]!r} (tags ignore case)"
            )
        seen[key] = index
    return tuple(languages)


def check_expected_version(person: Person, expected_version: int | None) -> None:
    """Raises Aborted when ``expected_version`` is given and is not the person's version."""
    if expected_version is not None and expected_version != person.version:
        raise Aborted(
            f"person {person.person_id} is at version {person.version}, not {expected_version}"
        )


def check_new_person(*, person_id: str, manager_id: str) -> None:
    """Checks on a CreatePerson request that need no lookup.

    Raises:
        InvalidArgument: the person would be their own manager.
    """
    if manager_id and manager_id == person_id:
        raise InvalidArgument("manager_id", "must not be the person themself")


def create_person(
    *,
    person_id: str,
    org: Org,
    display_name: str,
    email: str,
    title: str,
    department: str,
    location: str,
    languages: Sequence[str],
    manager: Person | None,
    actor_id: str,
    now: datetime,
) -> PersonChange:
    """A new person in ``org``; their kind follows the org's kind.

    ``manager`` is the resolved manager (the adapter answers NOT_FOUND for an
    unknown manager id before calling this).

    Raises:
        FailedPrecondition: the org is suspended; a manager or department is
            given for a partner user; the manager is not an employee.
        InvalidArgument: languages repeat ignoring case; the manager is the
            person themself.
    """
    if not org.is_active:
        raise FailedPrecondition(f"organisation {org.org_id} is suspended")
    kind = person_kind_for(org)
    if kind is PersonKind.PARTNER_USER and (manager is not None or department):
        raise FailedPrecondition("partner users have no manager and no department")
    if manager is not None:
        check_new_person(person_id=person_id, manager_id=manager.person_id)
        if not manager.is_employee:
            raise FailedPrecondition("manager_id must name an employee")
    person = Person(
        person_id=person_id,
        kind=kind,
        org_id=org.org_id,
        display_name=display_name,
        email=email,
        title=title,
        department=department,
        location=location,
        manager_id=manager.person_id if manager is not None else "",
        languages=check_languages(languages, field="languages"),
        created_at=now,
        updated_at=now,
    )
    return PersonChange(person, PersonJoined(person=person, actor_id=actor_id))


def _apply(
    person: Person, changes: dict[str, object], *, actor_id: str, now: datetime
) -> PersonChange:
    """Apply the field values that differ; one ProfileUpdated naming them, or no change."""
    changed = {name: value for name, value in changes.items() if getattr(person, name) != value}
    if not changed:
        return PersonChange(person, None)
    after = replace(person, **changed, updated_at=now, version=person.version + 1)  # type: ignore[arg-type]
    return PersonChange(
        after,
        ProfileUpdated(person=after, changed_fields=tuple(sorted(changed)), actor_id=actor_id),
    )


def update_my_profile(
    person: Person,
    *,
    display_name: str | None = None,
    bio: str | None = None,
    location: str | None = None,
    languages: Sequence[str] | None = None,
    expected_version: int | None = None,
    now: datetime,
) -> PersonChange:
    """The person's own edit of the fields a person may change; None keeps a field.

    Raises:
        Aborted: ``expected_version`` is given and stale.
        InvalidArgument: languages repeat ignoring case (``languages.languages[i]``).
    """
    check_expected_version(person, expected_version)
    changes: dict[str, object] = {}
    if display_name is not None:
        changes["display_name"] = display_name
    if bio is not None:
        changes["bio"] = bio
    if location is not None:
        changes["location"] = location
    if languages is not None:
        changes["languages"] = check_languages(languages, field="languages.languages")
    return _apply(person, changes, actor_id=person.person_id, now=now)


class ChainWalk:
    """Walks up the org chart one manager at a time; bounded and safe against cycles.

    The adapter loads the person :attr:`wanted` names and hands it to
    :meth:`feed` (None when there is no such person) until :attr:`wanted` is
    None. The walk stops at the top of the chart, at a missing manager, after
    ``limit`` managers, or when it would revisit someone (a cycle, which the
    write path refuses to create but a race between two concurrent changes
    could still leave behind).
    """

    def __init__(self, *, origin: str, first_manager_id: str, limit: int) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self._origin = origin
        self._seen = {origin}
        self._limit = limit
        self.managers: list[Person] = []
        self.reached_origin = False
        """The chain led back to the person it started from."""
        self.cycle = False
        """The chain revisits someone (the origin or anyone above it)."""
        self.truncated = False
        """The walk stopped at ``limit`` with more managers above."""
        self.broken = False
        """A manager id did not resolve to a person."""
        self._wanted: str | None = None
        self._follow(first_manager_id)

    @property
    def wanted(self) -> str | None:
        """The id of the manager to load next; None when the walk is over."""
        return self._wanted

    def _follow(self, manager_id: str) -> None:
        if not manager_id:
            self._wanted = None
        elif manager_id in self._seen:
            self.cycle = True
            self.reached_origin = manager_id == self._origin
            self._wanted = None
        elif len(self.managers) >= self._limit:
            self.truncated = True
            self._wanted = None
        else:
            self._wanted = manager_id

    def feed(self, manager: Person | None) -> None:
        """The person :attr:`wanted` named, or None if there is none.

        Raises:
            RuntimeError: the walk is over, or ``manager`` is not the one wanted.
        """
        if self._wanted is None:
            raise RuntimeError("the walk is over")
        if manager is None:
            self.broken = True
            self._wanted = None
            return
        if manager.person_id != self._wanted:
            raise RuntimeError(f"fed {manager.person_id}, wanted {self._wanted}")
        self.managers.append(manager)
        self._seen.add(manager.person_id)
        self._follow(manager.manager_id)


def manager_chain_walk(person: Person) -> ChainWalk:
    """The walk GetManagerChain does: nearest manager first, at most 50."""
    return ChainWalk(
        origin=person.person_id, first_manager_id=person.manager_id, limit=MAX_MANAGER_CHAIN
    )


def new_manager_walk(person: Person, manager_id: str) -> ChainWalk:
    """The walk that checks ``manager_id`` as ``person``'s new manager (:func:`update_person`)."""
    return ChainWalk(origin=person.person_id, first_manager_id=manager_id, limit=MAX_CHAIN_WALK)


def update_person(
    person: Person,
    *,
    title: str | None = None,
    department: str | None = None,
    location: str | None = None,
    manager_id: str | None = None,
    manager_walk: ChainWalk | None = None,
    expected_version: int | None = None,
    actor_id: str,
    now: datetime,
) -> PersonChange:
    """A home admin's change of organisational fields; None keeps a field, "" clears it.

    A new, non-empty ``manager_id`` needs ``manager_walk``: a finished
    :func:`new_manager_walk` for it, so the chain above the new manager is
    known and the change cannot close a cycle.

    Raises:
        Aborted: ``expected_version`` is given and stale.
        FailedPrecondition: department or manager for a partner user; the new
            manager is not an employee; the change would make the chain a
            cycle; the chain above the new manager is too deep to check.
        NotFound: the new manager does not exist.
        ValueError: a new manager without a finished walk (a bug in the caller).
    """
    check_expected_version(person, expected_version)
    if not person.is_employee and (department is not None or manager_id is not None):
        raise FailedPrecondition("a partner user's department and manager cannot be set")
    changes: dict[str, object] = {}
    if title is not None:
        changes["title"] = title
    if department is not None:
        changes["department"] = department
    if location is not None:
        changes["location"] = location
    if manager_id is not None:
        if manager_id and manager_id != person.manager_id:
            _check_manager(person, manager_id, manager_walk)
        changes["manager_id"] = manager_id
    return _apply(person, changes, actor_id=actor_id, now=now)


def _check_manager(person: Person, manager_id: str, walk: ChainWalk | None) -> None:
    if manager_id == person.person_id:
        raise FailedPrecondition("manager_id: a person cannot be their own manager")
    if walk is None or walk.wanted is not None:
        raise ValueError("update_person needs the finished walk above the new manager")
    if not walk.managers:
        raise NotFound("person", manager_id)
    manager = walk.managers[0]
    if manager.person_id != manager_id:
        raise ValueError("the walk does not start at the new manager")
    if not manager.is_employee:
        raise FailedPrecondition("manager_id must name an employee")
    if walk.reached_origin:
        raise FailedPrecondition(
            f"manager_id: {person.person_id} manages {manager_id} (directly or indirectly); "
            "the change would make the manager chain a cycle"
        )
    if walk.truncated:
        raise FailedPrecondition(
            f"manager_id: the chain above {manager_id} is deeper than {MAX_CHAIN_WALK} levels"
        )
