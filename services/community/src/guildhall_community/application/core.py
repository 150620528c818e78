"""What every use case shares: current state read through the store, the re-run loop, paging.

A use case reads current state through the :class:`~.ports.Store`, asks the
domain with the service clock's ``now``, and applies the returned change. A
lost compare-and-set re-runs the whole read-decide-write step a bounded
number of times (``write_attempts``), then answers ABORTED. An unknown id
raises exactly the error the funnel raises for a hidden one
(:func:`~guildhall_community.domain.missing_community`,
:func:`~guildhall_community.domain.missing_pinhole`).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from guildhall_community import domain as dom
from guildhall_community.domain import (
    AccessFacts,
    Change,
    Community,
    Membership,
    Pinhole,
    PinholeOpenPolicy,
    Principal,
    facts_for,
    missing_community,
    missing_pinhole,
)
from guildhall_kit.clock import Clock, now_ms
from guildhall_kit.errors import Aborted, DomainError
from guildhall_kit.logging import get_logger

from .ports import CommunityRecord, Store, WriteConflict

_log = get_logger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class MemberView:
    """A community with one person's membership in it (None: not a member)."""

    record: CommunityRecord
    membership: Membership | None

    @property
    def community(self) -> Community:
        return self.record.community


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing and the token of the next (empty when this is the last)."""

    items: list[T]
    next_token: str


class Core:
    """The store, the clock, the open policy and the re-run loop every use case uses."""

    def __init__(
        self,
        store: Store,
        *,
        policy: PinholeOpenPolicy,
        write_attempts: int = 5,
        clock: Clock = now_ms,
        on_events: Callable[[Sequence[tuple[str, str]]], None] = lambda _: None,
    ) -> None:
        if write_attempts < 1:
            raise ValueError("write_attempts must be at least 1")
        self.store = store
        self.policy = policy
        self._attempts = write_attempts
        self._clock = clock
        self._on_events = on_events

    def now(self) -> datetime:
        return self._clock()

    async def retrying(
        self,
        attempt: Callable[[], Awaitable[T]],
        *,
        repair: Callable[[], Awaitable[None]] | None = None,
    ) -> T:
        """Run ``attempt`` (read, decide, write) until no compare-and-set is lost.

        A two-document change whose second write lost leaves its first write
        behind; the re-run normally completes it. When the re-run is refused
        instead (or the attempts run out), ``repair`` puts the first write's
        document back in line before the error goes to the caller.

        Raises:
            Aborted: still conflicting after ``write_attempts`` runs.
            DomainError: the re-run's answer (after ``repair``).
        """
        conflicted = False
        for n in range(self._attempts):
            try:
                return await attempt()
            except WriteConflict as conflict:
                conflicted = True
                _log.info("write conflict; re-running", document=str(conflict), attempt=n + 1)
                await asyncio.sleep(random.uniform(0, 0.005 * 2**n))  # noqa: S311 - jitter
            except DomainError:
                if conflicted and repair is not None:
                    await repair()
                raise
        if repair is not None:
            await repair()
        raise Aborted("the object is changing too fast; re-read and retry")

    async def reconcile(self, community_id: str, person_id: str, by: str) -> None:
        """Best effort: the person's membership document in line with the staff entry."""

        async def attempt() -> None:
            view = await self.with_member(community_id, person_id)
            change = dom.reconcile_membership(
                view.community, person_id, view.membership, by=by, now=self.now()
            )
            await self.commit(change, view.record)

        try:
            await self.retrying(attempt)
        except Exception:  # noqa: BLE001 - a later operation on this person repairs it as well
            _log.warning("membership not reconciled", community=community_id, person=person_id)

    async def commit(self, change: Change, before: CommunityRecord | None = None) -> None:
        """Apply ``change`` and tell the relay which documents now carry events."""
        written = await self.store.apply(change, before=before)
        if written:
            self._on_events(written)

    async def community(self, community_id: str) -> CommunityRecord:
        """The community. Raises NotFound (as for a hidden one) when there is none."""
        record = await self.store.community(community_id)
        if record is None:
            raise missing_community(community_id)
        return record

    async def with_member(self, community_id: str, person_id: str) -> MemberView:
        """The community with the person's membership, read together."""
        record, membership = await asyncio.gather(
            self.community(community_id), self.store.membership(community_id, person_id)
        )
        return MemberView(record, membership)

    async def pinhole(self, pinhole_id: str) -> tuple[Pinhole, CommunityRecord]:
        """The pinhole and its community. Raises NotFound (as for a hidden one) when missing."""
        pinhole = await self.store.pinhole(pinhole_id)
        if pinhole is None:
            raise missing_pinhole(pinhole_id)
        record = await self.store.community(pinhole.community_id)
        if record is None:
            raise missing_pinhole(pinhole_id)
        return pinhole, record

    async def facts(self, principal: Principal, community: Community) -> AccessFacts:
        """The principal's facts in ``community`` now: their membership, or their org's status."""
        now = self.now()
        if principal.is_partner:
            suspended = await self.store.org_suspended(principal.org_id)
            return facts_for(principal, community, None, now=now, org_suspended=suspended)
        membership = await self.store.membership(community.id, principal.subject)
        return facts_for(principal, community, membership, now=now)

    async def belongs_to(self, person_id: str) -> list[MemberView]:
        """The communities ``person_id`` belongs to now, with their memberships.

        Two reads whatever the number: the person's active memberships (an
        index range), then those communities by ``_id``. Each is kept only if
        the community says so too (:meth:`Community.role_of`, the staff entry
        first), so a membership document a two-document change is still
        completing never lists a community the person is not in.
        """
        memberships = await self.store.active_memberships(person_id)
        by_community = {m.community_id: m for m in memberships}
        records = await self.store.communities_by_id(sorted(by_community))
        views = [MemberView(r, by_community.get(r.community.id)) for r in records]
        return [v for v in views if v.community.role_of(person_id, v.membership) is not None]


K = TypeVar("K")


async def keyset_page(
    fetch: Callable[[K | None, int], Awaitable[list[T]]],
    key: Callable[[T], K],
    keep: Callable[[list[T]], Awaitable[list[T]]],
    *,
    after: K | None,
    want: int,
    batches: int = 4,
) -> tuple[list[T], K | None]:
    """One page of a keyset listing whose rows are filtered after they are read.

    ``fetch(after, limit)`` reads up to ``limit`` rows after the position in
    key order; ``keep(rows)`` returns those the caller may see, in order.
    Reads at most ``batches`` batches: when filtering drops many rows the page
    may come back short, with a position to go on from (a valid answer).

    Returns the page (at most ``want`` rows) and the position after which the
    next page starts, or None when nothing is left.
    """
    found: list[T] = []
    position = after
    for _ in range(batches):
        need = want + 1 - len(found)
        batch = await fetch(position, need)
        found.extend(await keep(batch))
        if len(found) > want:
            page = found[:want]
            return page, key(page[-1])
        if len(batch) < need:
            return found, None
        position = key(batch[-1])
    return found, position
