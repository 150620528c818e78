"""What an operation returns: the documents to write, in order, with their events.

A :class:`Change` is an ordered tuple of :class:`Write`\\ s. Most operations
write one document; a few that touch a membership and its community's staff
write two. The adapter applies them **in the given order**, each as one
atomic single-document write with compare-and-set on the document's
``version`` (the new state's ``version`` minus one is the expected one; a
new document is an insert), putting that write's events into that
document's outbox. If a write loses the compare-and-set, the adapter re-reads
and re-runs the operation (ABORTED to the caller after a few attempts).

The domain chooses the order so that a crash between two writes leaves a
state that is safe and consistent with what has been published (for example:
a moderator who leaves first loses their membership document — still a
moderator through the staff entry, nothing published — and then leaves the
staff together with the MemberLeft event). Re-running the operation completes
it.

Each operation's change carries exactly one event in total, or none when
nothing changed (:data:`NO_CHANGE`).
"""

from __future__ import annotations

from dataclasses import dataclass

from .events import Event
from .model import Community, Membership, Pinhole

Document = Community | Membership | Pinhole


@dataclass(frozen=True, slots=True)
class Write:
    """One atomic document write: the document's new state and the events for its outbox."""

    state: Document
    events: tuple[Event, ...] = ()


@dataclass(frozen=True, slots=True)
class Change:
    """The outcome of an operation (see the module docstring for how to apply it)."""

    writes: tuple[Write, ...]

    @property
    def changed(self) -> bool:
        return bool(self.writes)

    @property
    def events(self) -> tuple[Event, ...]:
        """Every event of the change, in write order."""
        return tuple(e for w in self.writes for e in w.events)

    @property
    def community(self) -> Community | None:
        """The community's new state, if this change writes it."""
        return next((w.state for w in self.writes if isinstance(w.state, Community)), None)

    @property
    def membership(self) -> Membership | None:
        """The membership's new state, if this change writes it."""
        return next((w.state for w in self.writes if isinstance(w.state, Membership)), None)

    @property
    def pinhole(self) -> Pinhole | None:
        """The pinhole's new state, if this change writes it."""
        return next((w.state for w in self.writes if isinstance(w.state, Pinhole)), None)


NO_CHANGE = Change(writes=())
"""Nothing to write, nothing to publish: the requested end state already held."""
