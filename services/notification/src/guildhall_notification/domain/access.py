"""May an employee read a space? Decided from the community read model.

This follows docs/access-model.md for employees who are not home admins (the
service does not learn who is a home admin from events, so an admin counts as
a plain employee here: they may hear less, never more). Partner users are never
decided here: they are checked exactly with the community service's CheckAccess
at delivery time (see application/access.py).
"""

from __future__ import annotations

from guildhall_notification.domain.model import PinholeState, Role, Space, Visibility


def employee_may_read(space: Space, role: Role | None) -> bool:
    """Whether an employee with ``role`` in the space's community (None: not a member)
    may read ``space`` now, by the access model's employee rules."""
    member_reads = role is not None or space.visibility is Visibility.OPEN
    if not space.is_pinhole:
        return member_reads
    state = space.pinhole_state
    if state is PinholeState.PROPOSED or (state is PinholeState.CLOSED and not space.ever_opened):
        # A proposal (or a withdrawn one) is seen by the community's staff only.
        return role is not None and role.is_staff
    return member_reads
