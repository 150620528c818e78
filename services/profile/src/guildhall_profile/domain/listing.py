"""Which ordered lists a person stands in, and their entry in each. Pure.

The service answers three kinds of list by reading ordered lists of strings
(the repository keeps them, see :mod:`guildhall_profile.lists`):

=====================  ===============================  ==============================
list id                 who stands in it                 their entry (sorts in list order)
=====================  ===============================  ==============================
``tag:<tag>``           employees with a signal on tag   :attr:`ExpertRow.list_key`
``dept:<department>``   people of that department        :func:`list_key` (name, id)
``mgr:<person id>``     that person's direct reports     :func:`list_key` (name, id)
=====================  ===============================  ==============================

A person's entries are a function of their current state alone
(:func:`entries_of`), so an entry read from a list can be checked against
the person it names: it stands only if it is exactly the person's current
entry in that list. A list may therefore hold stale entries (a superset);
readers drop them, and a person is never listed twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from .expertise import RANK_CEILING, ExpertRow, directory_rows
from .model import Person

KEY_SEP: Final = "\x01"
"""Below every character a name may contain (control characters are refused)."""

TAG_LIST: Final = "tag:"
DEPARTMENT_LIST: Final = "dept:"
REPORTS_LIST: Final = "mgr:"

_RANK_DIGITS: Final = 12


def list_key(sort_name: str, ident: str) -> str:
    """One string ordering a list by (name, id): a range on it continues a page."""
    return f"{sort_name}{KEY_SEP}{ident}"


def tag_list(tag: str) -> str:
    """The id of the expert list of ``tag``."""
    return TAG_LIST + tag


def department_list(department: str) -> str:
    """The id of the list of the people of ``department``."""
    return DEPARTMENT_LIST + department


def reports_list(manager_id: str) -> str:
    """The id of the list of ``manager_id``'s direct reports."""
    return REPORTS_LIST + manager_id


def entries_of(person: Person) -> dict[str, str]:
    """Every list ``person`` stands in, with their entry: list id -> entry."""
    entries: dict[str, str] = {}
    key = list_key(person.sort_name, person.person_id)
    if person.department:
        entries[department_list(person.department)] = key
    if person.manager_id:
        entries[reports_list(person.manager_id)] = key
    for row in directory_rows(person):
        entries[tag_list(row.tag)] = row.list_key
    return entries


def changed_entries(
    before: Mapping[str, str], after: Mapping[str, str]
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(entries ``after`` has and ``before`` lacks, entries ``before`` has and ``after`` lacks),
    each as sorted (list id, entry) pairs."""
    new = set(after.items())
    old = set(before.items())
    return sorted(new - old), sorted(old - new)


def person_of(list_id: str, entry: str) -> str:
    """The person an entry of list ``list_id`` names.

    Raises:
        ValueError: the entry is not one this module writes.
    """
    if list_id.startswith(TAG_LIST):
        person = entry[_RANK_DIGITS + 1 :]
    else:
        _, sep, person = entry.rpartition(KEY_SEP)
        if not sep:
            person = ""
    if not person:
        raise ValueError(f"not an entry of {list_id!r}: {entry!r}")
    return person


def row_of(tag: str, entry: str) -> ExpertRow:
    """The directory row an entry of ``tag``'s list stands for (the inverse of
    :attr:`ExpertRow.list_key`).

    Raises:
        ValueError: the entry is not a row key.
    """
    rank, flag = entry[:_RANK_DIGITS], entry[_RANK_DIGITS : _RANK_DIGITS + 1]
    person = entry[_RANK_DIGITS + 1 :]
    if not (rank.isdigit() and len(rank) == _RANK_DIGITS and flag in ("0", "1") and person):
        raise ValueError(f"not a row key: {entry!r}")
    return ExpertRow(tag, person, RANK_CEILING - int(rank), flag == "0")


def stands(person: Person | None, list_id: str, entry: str) -> bool:
    """Whether ``entry`` of ``list_id`` is ``person``'s current entry there (None: no person)."""
    return person is not None and entries_of(person).get(list_id) == entry
