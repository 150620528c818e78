"""The profile service's state: organisations, people and their expertise.

Plain frozen values. Operations (:mod:`.orgs`, :mod:`.people`,
:mod:`.expertise`) take the current value and return the next one with the
event describing the change; nothing here reads a clock or a database.

Invariants every value keeps (operations enforce them, constructors trust
their callers, which are the operations and the repository reading back what
the operations wrote):

- exactly one organisation has kind ``HOME``; it is always ``ACTIVE``;
- a person's kind follows their organisation's kind (home: employee, partner
  org: partner user); partner users have no department and no manager;
- ``declared`` is sorted and without duplicates; ``earned`` has one entry per
  tag, sorted by tag, each with at least one accepted answer;
- ``version`` starts at 1 and grows by one with every change.
"""

from __future__ import annotations

import enum
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

MAX_MANAGER_CHAIN: Final = 50
"""GetManagerChain returns at most this many managers (the contract's bound)."""

MAX_CHAIN_WALK: Final = 200
"""How far up the org chart a cycle check walks before it refuses the change.

An org chart is far shallower than this; the bound only keeps one request
from walking a corrupted chart forever."""

MAX_DECLARED_TAGS: Final = 30
"""Most declared expertise tags per person (the contract's ``max_items``)."""

MAX_TAGS_PER_ANSWER: Final = 10
"""Most question tags credited for one accepted answer (a question has at most 10)."""

SORT_NAME_CHARS: Final = 100
"""Lists of people and orgs sort by the first this-many characters of the folded name
(then by id), which keeps sort keys, and so page tokens, short whatever the name."""

KEY_SEP: Final = "\x01"
"""Separates name and id in a list key: below every character a name may contain
(control characters are refused), so "ann" sorts before "ann b" whatever the ids."""


def list_key(sort_name: str, ident: str) -> str:
    """One string ordering a list by (name, id): an index on it sorts the list, and a
    ``$gt`` range on it continues a page."""
    return f"{sort_name}{KEY_SEP}{ident}"


class OrgKind(enum.StrEnum):
    """Home enterprise or which kind of partner."""

    HOME = "home"
    VENDOR = "vendor"
    SUPPLIER = "supplier"
    CUSTOMER = "customer"

    @property
    def is_partner(self) -> bool:
        return self is not OrgKind.HOME


class OrgState(enum.StrEnum):
    """Whether an organisation's users may use Guildhall."""

    ACTIVE = "active"
    SUSPENDED = "suspended"


class PersonKind(enum.StrEnum):
    """Employee of the home enterprise or user of a partner organisation."""

    EMPLOYEE = "employee"
    PARTNER_USER = "partner_user"


def fold(text: str) -> str:
    """The case-insensitive comparison and sort key of a name or address.

    NFKC then case folding, so "ACME", "Acme" and the full-width spelling of
    "acme" compare equal. Pure.
    """
    return unicodedata.normalize("NFKC", text).casefold()


@dataclass(frozen=True, slots=True)
class Org:
    """An organisation: the home enterprise or a partner."""

    org_id: str
    kind: OrgKind
    display_name: str
    state: OrgState
    created_at: datetime
    updated_at: datetime
    version: int = 1
    suspension_reason: str = ""
    """Why it is suspended (for the audit trail); empty while active."""

    @property
    def name_key(self) -> str:
        """The display name as compared for uniqueness and sorted by."""
        return fold(self.display_name)

    @property
    def sort_name(self) -> str:
        """The key lists of orgs are ordered by (then by org id)."""
        return self.name_key[:SORT_NAME_CHARS]

    @property
    def list_key(self) -> str:
        """Where the org stands in ListOrgs: :func:`list_key` of name and id."""
        return list_key(self.sort_name, self.org_id)

    @property
    def is_active(self) -> bool:
        return self.state is OrgState.ACTIVE


@dataclass(frozen=True, slots=True)
class EarnedTag:
    """Expertise earned on one tag: accepted answers on questions with it."""

    tag: str
    accepted_answers: int
    last_earned_at: datetime


@dataclass(frozen=True, slots=True)
class Person:
    """A person: an employee or a partner user, with profile and expertise."""

    person_id: str
    kind: PersonKind
    org_id: str
    display_name: str
    email: str
    created_at: datetime
    updated_at: datetime
    title: str = ""
    department: str = ""
    location: str = ""
    manager_id: str = ""
    bio: str = ""
    languages: tuple[str, ...] = ()
    declared: tuple[str, ...] = ()
    earned: tuple[EarnedTag, ...] = field(default=())
    version: int = 1

    @property
    def is_employee(self) -> bool:
        return self.kind is PersonKind.EMPLOYEE

    @property
    def sort_name(self) -> str:
        """The key lists of people are ordered by (then by person id)."""
        return fold(self.display_name)[:SORT_NAME_CHARS]

    @property
    def list_key(self) -> str:
        """Where the person stands in their department and among their manager's reports."""
        return list_key(self.sort_name, self.person_id)

    @property
    def email_key(self) -> str:
        """The e-mail address as compared for uniqueness."""
        return fold(self.email)

    def earned_on(self, tag: str) -> int:
        """Accepted answers on ``tag`` (0 when none)."""
        for entry in self.earned:
            if entry.tag == tag:
                return entry.accepted_answers
        return 0

    def earned_strongest_first(self) -> tuple[EarnedTag, ...]:
        """Earned expertise by accepted answers, most first, then by tag."""
        return tuple(sorted(self.earned, key=lambda e: (-e.accepted_answers, e.tag)))


def person_kind_for(org: Org) -> PersonKind:
    """The kind of the people of ``org``."""
    return PersonKind.EMPLOYEE if org.kind is OrgKind.HOME else PersonKind.PARTNER_USER
