"""Who may do what in a space, decided from the post service's read model.

The community service owns the access decision (docs/access-model.md); its
actions are the kit's :class:`~guildhall_kit.clients.Action`. The
post service keeps a read model of communities, pinholes and memberships from
community events and decides **employees'** hot reads and writes from it with
:func:`employee_view`, a transcription of that document's rules for
employees (the unit tests check it against every employee cell of the
document's table). **Partner users are never decided here**: the adapter asks
the community service for every partner request (docs/adr/0007), because a
read model lags and revocation must be exact for them.

:func:`check` is the one place that turns a :class:`View` into the errors the
contract promises: NOT_FOUND (the same as a missing object), FAILED_PRECONDITION
for a write into a read-only space, PERMISSION_DENIED otherwise.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from guildhall_kit.clients import Action
from guildhall_kit.errors import FailedPrecondition, NotFound, PermissionDenied

__all__ = [
    "HIDDEN",
    "Action",
    "CommunityFacts",
    "CommunityState",
    "PinholeFacts",
    "PinholeState",
    "Role",
    "SpaceFacts",
    "View",
    "Visibility",
    "check_item",
    "check_space",
    "employee_view",
]


class Visibility(enum.StrEnum):
    OPEN = "open"
    PRIVATE = "private"
    SECRET = "secret"  # noqa: S105 - a visibility, not a credential


class CommunityState(enum.StrEnum):
    ACTIVE = "active"
    ARCHIVED = "archived"


class PinholeState(enum.StrEnum):
    PROPOSED = "proposed"
    OPEN = "open"
    CLOSED = "closed"


class Role(enum.StrEnum):
    MEMBER = "member"
    MODERATOR = "moderator"
    OWNER = "owner"


ALL_ACTIONS = frozenset(Action)
READ_ONLY = frozenset({Action.READ})
GOVERN = frozenset({Action.READ, Action.MODERATE, Action.ADMINISTER})
PARTICIPATE = frozenset({Action.READ, Action.POST, Action.COMMENT})
WRITES = frozenset({Action.POST, Action.COMMENT, Action.MODERATE, Action.ADMINISTER})

ROLE_ACTIONS: Mapping[Role, frozenset[Action]] = {
    Role.OWNER: ALL_ACTIONS,
    Role.MODERATOR: PARTICIPATE | {Action.MODERATE},
    Role.MEMBER: PARTICIPATE,
}


@dataclass(frozen=True, slots=True)
class CommunityFacts:
    """A community as the read model knows it."""

    community_id: str
    visibility: Visibility
    state: CommunityState


@dataclass(frozen=True, slots=True)
class PinholeFacts:
    """A pinhole as the read model knows it."""

    pinhole_id: str
    community_id: str
    state: PinholeState
    ever_opened: bool
    """Whether it was ever opened (a proposal closed unopened stays known to staff only)."""
    expires_at: datetime | None = None
    grants: Mapping[str, str] = field(default_factory=dict)
    """Partner org id -> grant level ("viewer" / "contributor"); informational here."""

    def effective_state(self, community: CommunityFacts, now: datetime) -> PinholeState:
        """Closed from the instant it expires or its community is archived (no sweeper needed)."""
        if self.state is PinholeState.CLOSED:
            return PinholeState.CLOSED
        expired = self.expires_at is not None and self.expires_at <= now
        if expired or community.state is CommunityState.ARCHIVED:
            return PinholeState.CLOSED
        return self.state


@dataclass(frozen=True, slots=True)
class SpaceFacts:
    """A space: a community's main space (``pinhole`` None) or one of its pinholes."""

    community: CommunityFacts
    pinhole: PinholeFacts | None = None

    @property
    def space_id(self) -> str:
        return self.pinhole.pinhole_id if self.pinhole else self.community.community_id

    def __post_init__(self) -> None:
        if self.pinhole is not None and self.pinhole.community_id != self.community.community_id:
            raise ValueError("pinhole and community do not belong together")

    def read_only(self, now: datetime) -> bool:
        """Nobody posts here any more: archived community, closed or expired pinhole."""
        if self.community.state is CommunityState.ARCHIVED:
            return True
        if self.pinhole is None:
            return False
        return self.pinhole.effective_state(self.community, now) is PinholeState.CLOSED


@dataclass(frozen=True, slots=True)
class View:
    """What a principal may know about and do in one space."""

    visible: bool
    actions: frozenset[Action]
    read_only: bool = False
    """The space takes no new content (drives FAILED_PRECONDITION rather than PERMISSION_DENIED)."""

    def __post_init__(self) -> None:
        if self.actions and not self.visible:
            raise ValueError("a hidden space allows no action")

    def allows(self, action: Action) -> bool:
        return action in self.actions


HIDDEN = View(visible=False, actions=frozenset())


def employee_view(  # noqa: PLR0911 - one return per rule of the access model reads best
    *, is_admin: bool, role: Role | None, space: SpaceFacts, now: datetime
) -> View:
    """What an employee (``is_admin``: a home admin) with ``role`` in the space's community may do.

    ``role`` is None for a non-member. Follows docs/access-model.md rules 1-10.
    """
    base = _community_actions(is_admin, role, space.community)
    read_only = space.read_only(now)
    if base is None:
        return HIDDEN
    if space.pinhole is None:
        return View(visible=True, actions=base, read_only=read_only)
    pinhole = space.pinhole
    staff_or_admin = is_admin or role in (Role.OWNER, Role.MODERATOR)
    state = pinhole.effective_state(space.community, now)
    if state is PinholeState.PROPOSED:
        if not staff_or_admin:
            return HIDDEN
        # Nothing is posted before it opens; staff review it.
        return View(visible=True, actions=base & GOVERN, read_only=True)
    if Action.READ not in base or (not pinhole.ever_opened and not staff_or_admin):
        return HIDDEN
    if state is PinholeState.OPEN:
        return View(visible=True, actions=base)
    # Closed: content stays readable for whoever could read it; nobody posts.
    closed = READ_ONLY | (GOVERN if is_admin else frozenset())
    return View(visible=True, actions=closed, read_only=True)


def _community_actions(
    is_admin: bool, role: Role | None, community: CommunityFacts
) -> frozenset[Action] | None:
    """The employee's actions in the community's main space; None when it is hidden."""
    if not (is_admin or role is not None or community.visibility is not Visibility.SECRET):
        return None
    actions: frozenset[Action] = frozenset()
    if is_admin:
        actions |= GOVERN
    if role is not None:
        actions |= ROLE_ACTIONS[role]
    elif community.visibility is Visibility.OPEN:
        actions |= READ_ONLY
    if community.state is CommunityState.ARCHIVED:
        actions = (actions & READ_ONLY) | (GOVERN if is_admin else frozenset())
    return actions


def check_space(view: View, action: Action, not_found: NotFound) -> None:
    """Raise the contract's error unless ``view`` allows ``action`` in the space itself.

    Order (docs/access-model.md): visibility, then the space's state, then rights.

    Raises:
        NotFound: the space is hidden; ``not_found`` is exactly the error a missing
            space gets, so the two cannot be told apart.
        FailedPrecondition: a write the space's state forbids (archived, closed).
        PermissionDenied: visible, but not for this principal (a private community's
            card is visible to every employee; its content is not).
    """
    if not view.visible:
        raise not_found
    if view.allows(action):
        return
    if action in WRITES and view.read_only and Action.READ in view.actions:
        raise FailedPrecondition("the space is read-only")
    raise PermissionDenied(f"not allowed to {action.value} here")


def check_item(view: View, action: Action, not_found: NotFound) -> None:
    """Like :func:`check_space`, for an item in the space.

    An item exists for a principal only if they may read its space: without READ
    the item is NOT_FOUND, exactly like a missing one, even where the space's card
    is visible.
    """
    if not view.allows(Action.READ):
        raise not_found
    check_space(view, action, not_found)
