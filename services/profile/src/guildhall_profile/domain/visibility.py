"""What a partner user may see of a person: the rule of docs/adr/0005-profile-partner-visibility.md.

A partner user sees the display card (name, title, org) of a person only
when that person takes part in a pinhole the partner can see right now.
Taking part means one of:

- being the partner user themself;
- being a partner user of the viewer's own organisation (every pinhole the
  viewer can see is granted to that organisation, so its users take part);
- hosting the pinhole: an owner or moderator of the pinhole's community;
- having authored content in the pinhole (a post, answer, comment or wiki
  revision).

Users of *other* partner organisations granted on the same pinhole take part
only through what they author: which other organisations are granted is not
shown to partners (docs/access-model.md, rule 12), and their cards would show
it.

Everything a partner may not see answers exactly as a missing person does.

The decision is pure. :class:`PartnerScope` carries the pinholes the partner
can see *now*, which the adapter gets from the community service's exact
access decision on every request (revocation is exact); :class:`Participation`
carries the hosts and authors of those pinholes from the profile service's read
model, which may lag by a moment, but can only widen or narrow the set of
people within pinholes the partner can currently see.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .model import Person, PersonKind


@dataclass(frozen=True, slots=True)
class VisiblePinhole:
    """A pinhole the partner may read now, with the community it belongs to."""

    space_id: str
    community_id: str


@dataclass(frozen=True, slots=True)
class PartnerScope:
    """Who is looking, and the pinholes they can see at this moment."""

    viewer_id: str
    org_id: str
    pinholes: tuple[VisiblePinhole, ...]

    @property
    def space_ids(self) -> list[str]:
        return sorted({p.space_id for p in self.pinholes})

    @property
    def community_ids(self) -> list[str]:
        return sorted({p.community_id for p in self.pinholes})


@dataclass(frozen=True, slots=True)
class Participation:
    """Hosts and authors of the scope's pinholes, among the people asked about."""

    hosts: frozenset[tuple[str, str]] = field(default_factory=frozenset)
    """(community id, person id) of owners and moderators."""
    authors: frozenset[tuple[str, str]] = field(default_factory=frozenset)
    """(space id, person id) of people who authored content in the space."""


def partner_may_see(scope: PartnerScope, person: Person, participation: Participation) -> bool:
    """Whether the partner of ``scope`` may see ``person``'s display card."""
    if person.person_id == scope.viewer_id:
        return True
    if not scope.pinholes:
        return False
    if person.kind is PersonKind.PARTNER_USER and person.org_id == scope.org_id:
        return True
    pid = person.person_id
    return any(
        (p.community_id, pid) in participation.hosts or (p.space_id, pid) in participation.authors
        for p in scope.pinholes
    )


def partner_visible(
    scope: PartnerScope, people: Iterable[Person], participation: Participation
) -> list[Person]:
    """The people of ``people`` the partner may see, in the given order."""
    return [p for p in people if partner_may_see(scope, p, participation)]


def needs_participation(scope: PartnerScope, people: Sequence[Person]) -> list[str]:
    """Ids whose visibility depends on the participation read model (worth looking up)."""
    if not scope.pinholes:
        return []
    return sorted(
        {
            p.person_id
            for p in people
            if p.person_id != scope.viewer_id
            and not (p.kind is PersonKind.PARTNER_USER and p.org_id == scope.org_id)
        }
    )
