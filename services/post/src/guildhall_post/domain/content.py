"""Rules every item shares -- posts, answers and comments alike. Pure.

Who may do what is expressed over a :class:`~.access.View` (the caller's
actions in the item's space), so the same rules hold whether the view came
from the read model (employees) or from the community service (partners).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from typing import Final

from guildhall_kit.errors import FailedPrecondition, NotFound, PermissionDenied

from .access import Action, View


class ItemState(enum.StrEnum):
    PUBLISHED = "published"
    DELETED = "deleted"


class ReactionKind(enum.StrEnum):
    LIKE = "like"
    CELEBRATE = "celebrate"
    THANKS = "thanks"
    INSIGHTFUL = "insightful"
    CURIOUS = "curious"


ReactionCounts = Mapping[ReactionKind, int]
"""How many people reacted with each kind (kinds nobody used are left out)."""

HIDDEN_MESSAGE: Final = "item"


def item_not_found() -> NotFound:
    """The one error for an item that does not exist *or* that the caller may not see.

    Every RPC answers it for every kind of item (post, answer, comment, history), with
    the same text, so nothing tells whether the id exists or what it names.
    """
    return NotFound(HIDDEN_MESSAGE)


def is_moderator(view: View) -> bool:
    return view.allows(Action.MODERATE)


def may_see_deleted(caller_id: str, author_id: str, view: View) -> bool:
    """A deleted item stays visible to its author and the space's moderators."""
    return caller_id == author_id or is_moderator(view)


def may_see_history(caller_id: str, author_id: str, view: View, *, wiki: bool) -> bool:
    """A wiki page's history is open to its readers; other items' to the author and moderators."""
    if wiki:
        return view.allows(Action.READ)
    return caller_id == author_id or is_moderator(view)


def may_edit(caller_id: str, author_id: str, view: View, *, own_action: Action, wiki: bool) -> bool:
    """Whether the caller may edit (or delete) the item.

    Wiki pages are edited by anyone with POST. Other items by their author while
    they still hold ``own_action`` in the space (POST for posts, COMMENT for answers
    and comments), or by a moderator.
    """
    if wiki:
        return view.allows(Action.POST)
    if is_moderator(view):
        return True
    return caller_id == author_id and view.allows(own_action)


def refuse(view: View, action: Action) -> None:
    """Raise the error for a visible space that does not allow ``action``.

    Raises:
        FailedPrecondition: the space is read-only (archived, closed).
        PermissionDenied: otherwise.
    """
    if view.read_only:
        raise FailedPrecondition("the space is read-only")
    raise PermissionDenied(f"not allowed to {action.value} here")


def require_edit(
    caller_id: str, author_id: str, view: View, *, own_action: Action, wiki: bool = False
) -> None:
    """Raise unless :func:`may_edit`.

    Raises:
        FailedPrecondition: the space is read-only (archived, closed) for the caller.
        PermissionDenied: otherwise.
    """
    if may_edit(caller_id, author_id, view, own_action=own_action, wiki=wiki):
        return
    if view.read_only:
        raise FailedPrecondition("the space is read-only")
    raise PermissionDenied("only the author or a moderator may change this")


def require_published(state: ItemState, what: str) -> None:
    """Raise FAILED_PRECONDITION for a change to a deleted item."""
    if state is ItemState.DELETED:
        raise FailedPrecondition(f"the {what} is deleted")


def added_mentions(before: Iterable[str], after: Sequence[str]) -> list[str]:
    """The people mentioned in ``after`` but not in ``before``, in ``after``'s order."""
    old = set(before)
    return [person for person in after if person not in old]


def normalise_tags(tags: Iterable[str]) -> tuple[str, ...]:
    """Tags sorted, without duplicates (the contract's Post.tags is sorted)."""
    return tuple(sorted(set(tags)))
