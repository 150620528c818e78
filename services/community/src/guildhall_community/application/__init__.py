"""The community service's use cases, one module per aggregate; no protobuf, no pymongo.

- :mod:`.communities`  create, read, the directory, update, archive
- :mod:`.memberships`  join, requests, invitations, removal, roles, member lists, mine
- :mod:`.pinholes`     propose, open, grant, revoke, close, list, the sweeper's pass
- :mod:`.access`       the funnel partners reach (GetSpace, GetPinhole) and the decision
                       (CheckAccess, ListSpaces)
- :mod:`.core`         what they share: reads that raise the funnel's NOT_FOUND, the
                       compare-and-set re-run loop, keyset pages
- :mod:`.ports`        the :class:`~.ports.Store` they read and write through

Every method takes the domain principal and plain arguments. Errors are the
kit's domain errors; the gRPC interceptor maps them. Employee-only
operations refuse a partner before anything is read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from guildhall_community.domain import PinholeOpenPolicy
from guildhall_kit.clock import Clock, now_ms

from .access import Access
from .communities import Communities
from .core import Core, MemberView, Page
from .memberships import Memberships
from .pinholes import Pinholes
from .ports import CommunityRecord, OrgFacts, PersonFacts, Store, WriteConflict

__all__ = [
    "Access",
    "Communities",
    "CommunityApp",
    "CommunityRecord",
    "MemberView",
    "Memberships",
    "OrgFacts",
    "Page",
    "PersonFacts",
    "Pinholes",
    "Store",
    "WriteConflict",
]


class CommunityApp:
    """Every use case of the service, by aggregate, over one store."""

    def __init__(
        self,
        store: Store,
        *,
        policy: PinholeOpenPolicy,
        write_attempts: int = 5,
        clock: Clock = now_ms,
        on_events: Callable[[Sequence[tuple[str, str]]], None] = lambda _: None,
    ) -> None:
        self.core = Core(
            store,
            policy=policy,
            write_attempts=write_attempts,
            clock=clock,
            on_events=on_events,
        )
        self.pinholes = Pinholes(self.core)
        self.communities = Communities(self.core, self.pinholes)
        self.memberships = Memberships(self.core)
        self.access = Access(self.core)

    def now(self) -> datetime:
        """The service clock (UTC, whole milliseconds)."""
        return self.core.now()
