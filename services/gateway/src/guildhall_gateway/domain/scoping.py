"""Partner scoping: what a partner principal may reach through the gateway. Pure.

A partner reaches the objects of the pinholes granted to its org that are
open now, and the cards of people taking part in them (the profile service
decides which cards). The set of reachable spaces is the community service's
exact decision, asked afresh for every request (so a revocation, a close or an
expiry counts from the next request on); this module only applies it:

- a route the partner may not use at all answers as a missing object;
- a space named by the request must be in the set;
- every object in the answer that names a space (``space_id``, or a pinhole's
  ``pinhole_id``) must be in the set. The services already shape their answers
  for the partner; this is defence in depth, and a miss is answered as a
  missing object (and logged), never served.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Final

SPACE_KEYS: Final = ("space_id", "pinhole_id")


@dataclass(frozen=True, slots=True)
class PartnerReach:
    """The open pinholes granted to a partner's org, now."""

    org_id: str
    spaces: frozenset[str]

    def allows(self, space_id: str) -> bool:
        return space_id in self.spaces

    def outside(self, document: Any) -> set[str]:
        """Space ids named in ``document`` (an answer) that the partner may not reach."""
        return {s for s in spaces_named(document) if s not in self.spaces}


def spaces_named(document: Any) -> Iterator[str]:
    """Every non-empty ``space_id`` / ``pinhole_id`` value anywhere in a JSON document."""
    stack: list[Any] = [document]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            for key, inner in value.items():
                if key in SPACE_KEYS and isinstance(inner, str):
                    if inner:
                        yield inner
                elif isinstance(inner, dict | list):
                    stack.append(inner)
        elif isinstance(value, list):
            stack.extend(v for v in value if isinstance(v, dict | list))


def single_space(spaces: Iterable[str]) -> str | None:
    """The one space a request concerned, or None when none or several."""
    found = set(spaces)
    return next(iter(found)) if len(found) == 1 else None
