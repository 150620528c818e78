"""The access decision — may principal P do action A in space S — and the one funnel.

The rules are written down in docs/access-model.md; this module follows them,
and the unit tests check every cell of that document's table against it.

Everything here is a pure function of its arguments. The adapter gathers them
from *current* state at call time (the space's documents, the principal's
membership, their org's status, the clock) and never answers for a partner
principal from a cache that has not checked the pinhole's version
(docs/access-model.md, "Revocation").

Two levels of answer (:class:`View`):

- **visible** — the principal may know the space exists (its card: a
  community's name and description, a pinhole's title and purpose). Not
  visible means every operation on it answers NOT_FOUND, exactly like a space
  that does not exist.
- **actions** — what they may do there. A visible space without the action
  answers PERMISSION_DENIED.

Every operation in :mod:`.communities` and :mod:`.pinholes` checks through
:func:`access_community` / :func:`access_pinhole`, and adapters use the same
two functions for reads (get a community, list its members, get a pinhole).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from guildhall_kit.errors import NotFound, PermissionDenied

from .model import (
    Community,
    CommunityState,
    Grant,
    GrantLevel,
    Membership,
    Pinhole,
    PinholeState,
    Role,
    Visibility,
    require_aware,
)
from .principal import Principal


class Action(enum.StrEnum):
    READ = "read"
    """See the space and its content; list its members or participants."""
    POST = "post"
    """Create content."""
    COMMENT = "comment"
    """Comment on, answer, react to and vote on content."""
    MODERATE = "moderate"
    """Edit or remove others' content, pin, change idea status. On a community's main space
    also: handle join requests, add and remove members, propose pinholes."""
    ADMINISTER = "administer"
    """Change the space itself: settings, roles, archiving; open, grant, revoke and close
    pinholes."""


ALL_ACTIONS = frozenset(Action)
READ_ONLY = frozenset({Action.READ})
GOVERN = frozenset({Action.READ, Action.MODERATE, Action.ADMINISTER})
PARTICIPATE = frozenset({Action.READ, Action.POST, Action.COMMENT})

ROLE_ACTIONS: dict[Role, frozenset[Action]] = {
    Role.OWNER: ALL_ACTIONS,
    Role.MODERATOR: PARTICIPATE | {Action.MODERATE},
    Role.MEMBER: PARTICIPATE,
}
"""What each role may do in an active space of its community."""

GRANT_ACTIONS: dict[GrantLevel, frozenset[Action]] = {
    GrantLevel.VIEWER: READ_ONLY,
    GrantLevel.CONTRIBUTOR: PARTICIPATE,
}
"""What a partner user may do in an open pinhole granted to their org."""


class SpaceKind(enum.StrEnum):
    COMMUNITY = "community"
    """A community's main space; its space id is the community id."""
    PINHOLE = "pinhole"
    """A pinhole; its space id is the pinhole id."""


@dataclass(frozen=True, slots=True)
class CommunitySpace:
    """A community's main space."""

    community: Community

    @property
    def kind(self) -> SpaceKind:
        return SpaceKind.COMMUNITY

    @property
    def space_id(self) -> str:
        return self.community.id


@dataclass(frozen=True, slots=True)
class PinholeSpace:
    """A pinhole, with the community it belongs to (its rules depend on both)."""

    pinhole: Pinhole
    community: Community

    def __post_init__(self) -> None:
        if self.pinhole.community_id != self.community.id:
            raise ValueError("pinhole and community do not belong together")

    @property
    def kind(self) -> SpaceKind:
        return SpaceKind.PINHOLE

    @property
    def space_id(self) -> str:
        return self.pinhole.id


Space = CommunitySpace | PinholeSpace


@dataclass(frozen=True, slots=True)
class AccessFacts:
    """What a decision needs besides the principal and the space, read at call time.

    Build it with :func:`facts_for`.
    """

    now: datetime
    """The clock: a pinhole past its expiry is closed for every decision from this instant."""
    role: Role | None = None
    """The principal's role in the space's community (None: not a member). Ignored for partners."""
    org_suspended: bool = False
    """The principal's partner org is suspended (from profile events). Ignored for employees."""

    def __post_init__(self) -> None:
        require_aware(self.now)


def facts_for(
    principal: Principal,
    community: Community,
    membership: Membership | None,
    *,
    now: datetime,
    org_suspended: bool = False,
) -> AccessFacts:
    """The facts for ``principal`` in ``community`` at ``now``.

    ``membership`` is the principal's own membership in that community (None if
    there is none); ``org_suspended`` whether their partner org is suspended.
    Partner users are never members, whatever the documents say.
    """
    if principal.is_partner:
        return AccessFacts(now=now, org_suspended=org_suspended)
    return AccessFacts(now=now, role=community.role_of(principal.subject, membership))


@dataclass(frozen=True, slots=True)
class View:
    """What a principal may know about and do in one space."""

    visible: bool
    actions: frozenset[Action]

    def __post_init__(self) -> None:
        if self.actions and not self.visible:
            raise ValueError("a hidden space allows no action")


HIDDEN = View(visible=False, actions=frozenset())


def effective_state(pinhole: Pinhole, community: Community, now: datetime) -> PinholeState:
    """The pinhole's state for every decision at ``now``.

    A pinhole past its expiry, or whose community is archived, is CLOSED even
    before a sweeper has recorded it (:func:`.pinholes.close_lapsed`).
    """
    if pinhole.state is PinholeState.CLOSED:
        return PinholeState.CLOSED
    if pinhole.is_expired(now) or community.state is CommunityState.ARCHIVED:
        return PinholeState.CLOSED
    return pinhole.state


def view(principal: Principal, space: Space, facts: AccessFacts) -> View:
    """Everything ``principal`` may know and do in ``space``: the one rule book."""
    if principal.is_partner:
        return _partner_view(principal, space, facts)
    if isinstance(space, CommunitySpace):
        return _employee_community_view(principal, space.community, facts.role)
    return _employee_pinhole_view(principal, space, facts)


def _employee_community_view(principal: Principal, community: Community, role: Role | None) -> View:
    admin = principal.is_home_admin
    if not (admin or role is not None or community.visibility is not Visibility.SECRET):
        return HIDDEN
    actions: frozenset[Action] = frozenset()
    if admin:
        # Governance, not participation: a home admin reads, moderates and administers
        # everything, but posts and comments only where their own membership allows.
        actions |= GOVERN
    if role is not None:
        actions |= ROLE_ACTIONS[role]
    elif community.visibility is Visibility.OPEN:
        actions |= READ_ONLY
    if community.state is CommunityState.ARCHIVED:
        # Read-only for everyone; home admins keep moderation (takedowns) and administration.
        actions = (actions & READ_ONLY) | (GOVERN if admin else frozenset())
    return View(visible=True, actions=actions)


def _employee_pinhole_view(principal: Principal, space: PinholeSpace, facts: AccessFacts) -> View:
    pinhole, community = space.pinhole, space.community
    # Employees use a pinhole as they use its community's main space. (If the community
    # is archived the pinhole is closed, and only READ of these rights matters below.)
    base = _employee_community_view(principal, community, facts.role).actions
    staff_or_admin = principal.is_home_admin or facts.role in (Role.OWNER, Role.MODERATOR)
    state = effective_state(pinhole, community, facts.now)
    if state is PinholeState.PROPOSED:
        if not staff_or_admin:
            return HIDDEN
        # Nothing is posted before it opens: staff review the proposal, owners and admins
        # open it or close it.
        return View(visible=True, actions=base & GOVERN)
    # A proposal closed before it ever opened stays known only to those who saw it.
    never_opened = pinhole.opened_at is None
    if Action.READ not in base or (never_opened and not staff_or_admin):
        return HIDDEN
    if state is PinholeState.OPEN:
        return View(visible=True, actions=base)
    # CLOSED: the content stays readable for those who could read it; nobody posts.
    return View(
        visible=True, actions=READ_ONLY | (GOVERN if principal.is_home_admin else frozenset())
    )


def _partner_view(principal: Principal, space: Space, facts: AccessFacts) -> View:
    # Partners reach nothing but open, unexpired pinholes granted to their unsuspended org.
    if facts.org_suspended or not isinstance(space, PinholeSpace):
        return HIDDEN
    if effective_state(space.pinhole, space.community, facts.now) is not PinholeState.OPEN:
        return HIDDEN
    grant = space.pinhole.grants.get(principal.org_id)
    if grant is None:
        return HIDDEN
    return View(visible=True, actions=GRANT_ACTIONS[grant.level])


def can_see(principal: Principal, space: Space, facts: AccessFacts) -> bool:
    """Whether ``principal`` may know that ``space`` exists."""
    return view(principal, space, facts).visible


def allowed_actions(principal: Principal, space: Space, facts: AccessFacts) -> frozenset[Action]:
    """Every action ``principal`` may take in ``space`` (empty when it is hidden)."""
    return view(principal, space, facts).actions


def decide(principal: Principal, space: Space, action: Action, facts: AccessFacts) -> bool:
    """May ``principal`` do ``action`` in ``space``? The answer to CheckAccess.

    False both for a hidden space and for a visible one where the action is not
    allowed; CheckAccess answers a space that does not exist with False too.
    """
    return action in view(principal, space, facts).actions


def visible_grants(principal: Principal, pinhole: Pinhole) -> tuple[Grant, ...]:
    """The grants of ``pinhole`` that ``principal`` may see, ordered by org id.

    Employees who may see the pinhole see every grant; a partner user sees only
    their own org's (other partners stay invisible to them).
    """
    grants = sorted(pinhole.grants.values(), key=lambda g: g.org_id)
    if principal.is_partner:
        return tuple(g for g in grants if g.org_id == principal.org_id)
    return tuple(grants)


# ------------------------------------------------------------------- funnel


def missing_community(community_id: str) -> NotFound:
    """The error for a community that does not exist *or* that the principal may not see.

    Adapters raise exactly this for an unknown id, so the two cannot be told apart.
    """
    return NotFound("community", community_id)


def missing_pinhole(pinhole_id: str) -> NotFound:
    """The error for a pinhole that does not exist *or* that the principal may not see."""
    return NotFound("pinhole", pinhole_id)


def access_community(
    principal: Principal,
    community: Community,
    facts: AccessFacts,
    action: Action | None,
) -> CommunitySpace:
    """The community's main space, if ``principal`` may do ``action`` there.

    ``action`` None asks only that the principal may see the community.

    Raises:
        NotFound: the principal may not see the community (same as a missing one).
        PermissionDenied: they may see it but not do ``action``.
    """
    space = CommunitySpace(community)
    _check(view(principal, space, facts), action, missing_community(community.id))
    return space


def access_pinhole(
    principal: Principal,
    pinhole: Pinhole,
    community: Community,
    facts: AccessFacts,
    action: Action | None,
) -> PinholeSpace:
    """The pinhole, if ``principal`` may do ``action`` there (None: may see it).

    ``community`` is the pinhole's community and ``facts`` the principal's facts in it.

    Raises:
        NotFound: the principal may not see the pinhole (same as a missing one).
        PermissionDenied: they may see it but not do ``action``.
    """
    space = PinholeSpace(pinhole, community)
    _check(view(principal, space, facts), action, missing_pinhole(pinhole.id))
    return space


def _check(v: View, action: Action | None, not_found: NotFound) -> None:
    if not v.visible:
        raise not_found
    if action is not None and action not in v.actions:
        raise PermissionDenied(f"not allowed to {action.value} here")


@dataclass(frozen=True, slots=True)
class SpaceAccess:
    """One entry of ListSpaces: a space and everything the principal may do there."""

    space: Space
    actions: frozenset[Action]


def list_spaces(
    principal: Principal,
    candidates: Iterable[tuple[Space, AccessFacts]],
    action: Action = Action.READ,
) -> list[SpaceAccess]:
    """The candidates where ``principal`` may do ``action``, in the given order.

    The adapter chooses the candidates (for a partner: the pinholes granted to
    their org; for an employee: their communities and those communities'
    pinholes, or a page of the directory) and reads each one's facts now; this
    is the filter, so a listing never shows what CheckAccess would refuse.
    """
    out: list[SpaceAccess] = []
    for space, facts in candidates:
        actions = view(principal, space, facts).actions
        if action in actions:
            out.append(SpaceAccess(space=space, actions=actions))
    return out
